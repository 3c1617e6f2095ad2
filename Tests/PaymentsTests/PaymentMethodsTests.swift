import Payments
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

@Suite("PaymentMethods: card input")
struct PaymentMethodsTests {
    @Test("A valid card stores brand, last4, expiry and fingerprint, and seals the number")
    func valid() async throws {
        // Given
        let environment = try TestEnvironment()
        // When
        let method = try await environment.card("4242 4242 4242 4242")
        let twin = try await environment.card("4242424242424242", cvc: nil)
        // Then
        #expect(method.id.hasPrefix("pm_"))
        #expect(method.brand == "visa")
        #expect(method.last4 == "4242")
        #expect(method.expMonth == 12 && method.expYear == 2030)
        #expect(method.cvcCheck == "unchecked")
        #expect(twin.cvcCheck == nil)
        #expect(method.fingerprint == twin.fingerprint)
        #expect(method.created == environment.clock.now)
        let vault = environment.context.vault
        let sealed = try await environment.database.read { tx in try tx.cardNumber(of: method.id, vault: vault) }
        #expect(sealed?.digits == "4242424242424242")
        #expect(try environment.count("payment_methods") == 2)
        #expect(try environment.count("card_vault") == 2)
    }

    @Test("A two-digit year means 20YY")
    func twoDigitYear() async throws {
        let environment = try TestEnvironment()
        let method = try await environment.paymentMethods.create(
            .init(card: .init(number: "4242424242424242", expMonth: 3, expYear: 31, cvc: "123"))
        )
        #expect(method.expYear == 2031)
    }

    @Test(
        "Invalid card input is a 402 card error and stores nothing",
        arguments: [
            ("4242424242424241", 12, 2030, "123", "incorrect_number", nil as String?),
            ("4242abcd42424242", 12, 2030, "123", "invalid_number", nil),
            ("4242", 12, 2030, "123", "invalid_number", nil),
            ("4242424242424242", 13, 2030, "123", "invalid_expiry_month", nil),
            ("4242424242424242", 0, 2030, "123", "invalid_expiry_month", nil),
            ("4242424242424242", 12, 2020, "123", "invalid_expiry_year", nil),
            ("4242424242424242", 12, 25, "123", "invalid_expiry_year", nil),
            ("4242424242424242", 12, 2099, "123", "invalid_expiry_year", nil),
            ("4242424242424242", 12, 2030, "12", "invalid_cvc", nil),
            ("4242424242424242", 12, 2030, "12a", "invalid_cvc", nil),
            ("378282246310005", 12, 2030, "123", "invalid_cvc", nil),
            ("4111111111111111", 12, 2030, "123", "card_declined", "test_mode_live_card"),
        ]
    )
    func invalid(
        number: String,
        month: Int,
        year: Int,
        cvc: String,
        code: String,
        declineCode: String?
    ) async throws {
        // Given
        let environment = try TestEnvironment()
        // When
        let error = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.create(
                .init(card: .init(number: number, expMonth: month, expYear: year, cvc: cvc))
            )
        }
        // Then
        #expect(error?.status == 402)
        #expect(error?.kind == .card)
        #expect(error?.code == code)
        #expect(error?.declineCode == declineCode)
        #expect(try environment.count("payment_methods") == 0)
        #expect(try environment.count("card_vault") == 0)
    }

    @Test("The card errors name the field at fault")
    func params() async throws {
        let environment = try TestEnvironment()
        let month = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.create(
                .init(card: .init(number: "4242424242424242", expMonth: 13, expYear: 2030, cvc: nil))
            )
        }
        let number = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.create(
                .init(card: .init(number: "4242424242424241", expMonth: 12, expYear: 2030, cvc: nil))
            )
        }
        #expect(month?.param == "card[exp_month]")
        #expect(number?.param == "card[number]")
    }

    @Test("Attach refuses decline cards as Stripe does; detach makes the card unusable")
    func attachAndDetach() async throws {
        // Given a customer, a good card and a decline card
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let good = try await environment.card("4242424242424242")
        let bad = try await environment.card("4000000000000002")
        // When
        let attached = try await environment.paymentMethods.attach(good.id, customer: customer.id)
        let refused = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.attach(bad.id, customer: customer.id)
        }
        let detached = try await environment.paymentMethods.detach(good.id)
        // Then
        #expect(attached.customer == customer.id)
        #expect(refused?.status == 402)
        #expect(refused?.declineCode == "generic_decline")
        #expect(detached.customer == nil && !detached.reusable)
        let reuse = await #expect(throws: PaymentError.self) { try await environment.pay(good.id) }
        #expect(reuse?.code == "payment_method_unexpected_state")
    }

    @Test(
        "A card paid with setup_future_usage and no customer can be attached after, and then charged off-session",
        arguments: ["4242424242424242", "4000002500003155"]
    )
    func setupFutureUsageWithoutCustomer(_ number: String) async throws {
        // Given a payment with setup_future_usage=off_session and no customer (3155 authenticated on the way)
        let environment = try TestEnvironment()
        let card = try await environment.card(number)
        var paid = try await environment.pay(card.id, setupFutureUsage: .offSession)
        if paid.status == .requiresAction {
            paid = try await environment.intents.authenticate(
                paid.id,
                token: try #require(paid.authenticationToken),
                outcome: .complete
            )
        }
        #expect(paid.status == .succeeded)

        // When the card is attached to a customer afterwards
        let customer = try await environment.customer()
        let attached = try await environment.paymentMethods.attach(card.id, customer: customer.id)

        // Then it is the customer's, and an off-session charge needs no authentication
        #expect(attached.customer == customer.id)
        let later = try await environment.pay(card.id, customer: customer.id, offSession: true)
        #expect(later.status == .succeeded)

        // And a card paid without setup_future_usage and without a customer stays single-use
        let once = try await environment.card("4242424242424242")
        _ = try await environment.pay(once.id)
        let refused = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.attach(once.id, customer: customer.id)
        }
        #expect(refused?.code == "payment_method_unexpected_state")
    }

    @Test("A magic test id named by a refused attach or update leaves no payment method or sealed card behind")
    func magicIDRefusedStoresNothing() async throws {
        // Given a paid intent, and a payment method and sealed card for it
        let environment = try TestEnvironment()
        let paid = try await environment.pay(try await environment.card("4242424242424242").id)
        let (methods, cards) = (try environment.count("payment_methods"), try environment.count("card_vault"))

        // When pm_card_visa is attached to a customer that does not exist
        let attach = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.attach("pm_card_visa", customer: "cus_missing")
        }
        // And set on the succeeded intent, which can no longer change its payment method
        var update = PaymentIntents.UpdateInput()
        update.paymentMethod = "pm_card_visa"
        let changed = await #expect(throws: PaymentError.self) {
            try await environment.intents.update(paid.id, update)
        }

        // Then both are refused, and neither stored a payment method or a card
        #expect(attach?.code == "resource_missing")
        #expect(changed?.code == "payment_intent_unexpected_state")
        #expect(try environment.count("payment_methods") == methods)
        #expect(try environment.count("card_vault") == cards)

        // While the same magic id attached to a real customer, or set on an open intent, is stored once each
        let customer = try await environment.customer()
        let attached = try await environment.paymentMethods.attach("pm_card_visa", customer: customer.id)
        #expect(attached.customer == customer.id)
        let open = try await environment.intents.create(.init(amount: 1000, currency: "usd"))
        let updated = try await environment.intents.update(open.id, update)
        #expect(updated.status == .requiresConfirmation)
        #expect(try await environment.storedPaymentMethod(updated.paymentMethod)?.last4 == "4242")
        #expect(try environment.count("payment_methods") == methods + 2)
        #expect(try environment.count("card_vault") == cards + 2)
    }
}
