import Payments
import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

@Suite("PaymentIntents: create, update, cancel and the rules on amounts and payment methods")
struct PaymentIntentsTests {
    // MARK: - Amounts

    @Test(
        "Amount rules",
        arguments: [
            ("usd", Int64(49), "amount_too_small"),
            ("jpy", 49, "amount_too_small"),
            ("usd", 100_000_000, "amount_too_large"),
            ("usd", 0, "parameter_invalid_integer"),
            ("usd", -5, "parameter_invalid_integer"),
        ]
    )
    func amountRules(currency: String, amount: Int64, code: String) async throws {
        // Given
        let environment = try TestEnvironment()
        // When
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.create(.init(amount: amount, currency: currency))
        }
        // Then
        #expect(error?.code == code)
        #expect(error?.status == 400)
        #expect(error?.param == "amount")
        #expect(try environment.count("payment_intents") == 0)
    }

    @Test("The minimum itself is accepted", arguments: [("usd", Int64(50)), ("jpy", 50), ("usd", 99_999_999)])
    func minimumAccepted(currency: String, amount: Int64) async throws {
        let environment = try TestEnvironment()
        let intent = try await environment.intents.create(.init(amount: amount, currency: currency.uppercased()))
        #expect(intent.amount == amount)
        #expect(intent.currency == currency)
        #expect(intent.status == .requiresPaymentMethod)
    }

    @Test("An unknown currency is refused")
    func unknownCurrency() async throws {
        let environment = try TestEnvironment()
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.create(.init(amount: 1_000, currency: "xyz"))
        }
        #expect(error?.status == 400)
        #expect(error?.param == "currency")
    }

    @Test("Unknown customer and payment method are 400 resource_missing naming the parameter")
    func unknownReferences() async throws {
        let environment = try TestEnvironment()
        let customer = await #expect(throws: PaymentError.self) {
            try await environment.intents.create(.init(amount: 1_000, currency: "usd", customer: "cus_nope"))
        }
        let method = await #expect(throws: PaymentError.self) {
            try await environment.intents.create(.init(amount: 1_000, currency: "usd", paymentMethod: "pm_nope"))
        }
        let retrieve = await #expect(throws: PaymentError.self) { try await environment.intents.retrieve("pi_nope") }
        #expect(customer?.code == "resource_missing" && customer?.status == 400 && customer?.param == "customer")
        #expect(method?.code == "resource_missing" && method?.status == 400 && method?.param == "payment_method")
        #expect(retrieve?.code == "resource_missing" && retrieve?.status == 404)
        #expect(try environment.count("payment_intents") == 0)
    }

    // MARK: - Cancel

    @Test("Cancel an open intent; a canceled intent cannot be canceled or confirmed")
    func cancel() async throws {
        // Given an open intent
        let environment = try TestEnvironment()
        let created = try await environment.intents.create(.init(amount: 1_000, currency: "usd"))
        // When
        let canceled = try await environment.intents.cancel(created.id, reason: .requestedByCustomer)
        // Then
        #expect(canceled.status == .canceled)
        #expect(canceled.cancellationReason == .requestedByCustomer)
        #expect(canceled.canceledAt == environment.clock.now)
        #expect(try await environment.intents.retrieve(created.id) == canceled)
        let again = await #expect(throws: PaymentError.self) {
            try await environment.intents.cancel(created.id, reason: nil)
        }
        let confirm = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(created.id, .init(paymentMethod: "pm_card_visa"))
        }
        #expect(again?.code == "payment_intent_unexpected_state")
        #expect(again?.message.contains("status of canceled") == true)
        #expect(confirm?.code == "payment_intent_unexpected_state")
        #expect(try environment.approvedAtNetwork() == 0)
    }

    @Test("A succeeded intent cannot be canceled")
    func cancelSucceeded() async throws {
        let environment = try TestEnvironment()
        let card = try await environment.card("4242424242424242")
        let paid = try await environment.pay(card.id)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.cancel(paid.id, reason: nil)
        }
        #expect(error?.code == "payment_intent_unexpected_state")
        #expect(try await environment.intents.retrieve(paid.id).status == .succeeded)
    }

    // MARK: - Update

    @Test("Giving a payment method by update moves the intent to requires_confirmation")
    func updatePaymentMethod() async throws {
        // Given an intent without a payment method
        let environment = try TestEnvironment()
        let created = try await environment.intents.create(.init(amount: 1_000, currency: "usd"))
        let card = try await environment.card("4242424242424242")
        // When
        var input = PaymentIntents.UpdateInput()
        input.paymentMethod = card.id
        input.metadata = ["order": "42"]
        let updated = try await environment.intents.update(created.id, input)
        // Then
        #expect(updated.status == .requiresConfirmation)
        #expect(updated.paymentMethod == card.id)
        #expect(updated.metadata == ["order": "42"])
        #expect(try await environment.intents.retrieve(created.id) == updated)
    }

    @Test("Changing the payment method of an intent in requires_action voids the challenge")
    func updateDuringChallenge() async throws {
        // Given an intent waiting for 3-D Secure
        let environment = try TestEnvironment()
        let threeDS = try await environment.card("4000002500003155")
        let pending = try await environment.pay(threeDS.id)
        let token = try #require(pending.authenticationToken)
        let visa = try await environment.card("4242424242424242")
        // When the payment method is changed
        var input = PaymentIntents.UpdateInput()
        input.paymentMethod = visa.id
        let updated = try await environment.intents.update(pending.id, input)
        // Then a new confirmation is needed and the old challenge is dead
        #expect(updated.status == .requiresConfirmation)
        #expect(updated.authenticationToken == nil)
        let stale = await #expect(throws: PaymentError.self) {
            try await environment.intents.authenticate(pending.id, token: token, outcome: .complete)
        }
        #expect(stale?.status == 404)
        #expect(try await environment.intents.confirm(pending.id, .init()).status == .succeeded)
    }

    @Test("A succeeded intent takes bookkeeping updates but not new payment details")
    func updateSucceeded() async throws {
        // Given
        let environment = try TestEnvironment()
        let card = try await environment.card("4242424242424242")
        let paid = try await environment.pay(card.id)
        // When
        var bookkeeping = PaymentIntents.UpdateInput()
        bookkeeping.description = .some("Paid in full")
        bookkeeping.metadata = ["shipped": "yes"]
        let annotated = try await environment.intents.update(paid.id, bookkeeping)
        var details = PaymentIntents.UpdateInput()
        details.amount = 5_000
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.update(paid.id, details)
        }
        // Then
        #expect(annotated.status == .succeeded)
        #expect(annotated.description == "Paid in full")
        #expect(annotated.metadata["shipped"] == "yes")
        #expect(error?.code == "payment_intent_unexpected_state")
        #expect(try await environment.intents.retrieve(paid.id).amount == 2_000)
    }

    @Test("Updating the amount below the minimum is amount_too_small")
    func updateAmountTooSmall() async throws {
        let environment = try TestEnvironment()
        let created = try await environment.intents.create(.init(amount: 1_000, currency: "usd"))
        var input = PaymentIntents.UpdateInput()
        input.amount = 10
        let error = await #expect(throws: PaymentError.self) { try await environment.intents.update(created.id, input) }
        #expect(error?.code == "amount_too_small")
        #expect(try await environment.intents.retrieve(created.id).amount == 1_000)
    }

    // MARK: - Payment methods on intents

    @Test("A payment method used without a customer cannot be used again")
    func singleUse() async throws {
        // Given a card paid with once, never attached to a customer
        let environment = try TestEnvironment()
        let card = try await environment.card("4242424242424242")
        _ = try await environment.pay(card.id)
        #expect(try await environment.storedPaymentMethod(card.id)?.reusable == false)
        // When it is used again
        let error = await #expect(throws: PaymentError.self) { try await environment.pay(card.id) }
        // Then
        #expect(error?.code == "payment_method_unexpected_state")
        #expect(error?.status == 400)
        #expect(error?.param == "payment_method")
        #expect(try environment.approvedAtNetwork() == 1)
    }

    @Test("A customer's card can be used again, but only with that customer")
    func customerCardReuse() async throws {
        // Given a card attached to a customer
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4242424242424242")
        _ = try await environment.paymentMethods.attach(card.id, customer: customer.id)
        // When it is charged twice for the customer, and once without
        let first = try await environment.pay(card.id, customer: customer.id)
        let second = try await environment.pay(card.id, customer: customer.id)
        let error = await #expect(throws: PaymentError.self) { try await environment.pay(card.id) }
        // Then
        #expect(first.status == .succeeded && second.status == .succeeded)
        #expect(error?.code == "payment_method_customer_mismatch")
        #expect(try environment.approvedAtNetwork() == 2)
    }

    @Test("Magic ids make a new payment method each time", arguments: ["pm_card_visa", "pm_card_mastercard"])
    func magicSucceeds(id: String) async throws {
        // Given
        let environment = try TestEnvironment()
        // When the magic id is used twice
        let first = try await environment.pay(id)
        let second = try await environment.pay(id)
        // Then each payment has its own real payment method
        #expect(first.status == .succeeded && second.status == .succeeded)
        let firstMethod = try #require(first.paymentMethod)
        let secondMethod = try #require(second.paymentMethod)
        #expect(firstMethod.hasPrefix("pm_") && firstMethod != id)
        #expect(firstMethod != secondMethod)
        #expect(try await environment.storedPaymentMethod(firstMethod) != nil)
        #expect(try environment.count("payment_methods") == 2)
        #expect(try environment.count("card_vault") == 2)
        // And retrieving the magic id materializes one too
        let retrieved = try await environment.paymentMethods.resolve(id, param: nil)
        #expect(retrieved.id != id && retrieved.id.hasPrefix("pm_"))
    }

    @Test("pm_card_chargeDeclinedInsufficientFunds declines with a new payment method in the error")
    func magicDeclines() async throws {
        // Given
        let environment = try TestEnvironment()
        // When
        let error = try #require(
            await #expect(throws: PaymentError.self) {
                try await environment.pay("pm_card_chargeDeclinedInsufficientFunds")
            }
        )
        // Then
        #expect(error.status == 402)
        #expect(error.declineCode == "insufficient_funds")
        let methodID = try #require(error.paymentMethod)
        #expect(methodID.hasPrefix("pm_") && methodID != "pm_card_chargeDeclinedInsufficientFunds")
        let method = try #require(try await environment.storedPaymentMethod(methodID))
        #expect(method.last4 == "9995")
    }

    @Test("Lists are newest first and filter by customer")
    func list() async throws {
        // Given three intents, one second apart, the middle one for a customer
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let a = try await environment.intents.create(.init(amount: 1_000, currency: "usd"))
        environment.clock.advance(by: 1)
        let b = try await environment.intents.create(.init(amount: 1_000, currency: "usd", customer: customer.id))
        environment.clock.advance(by: 1)
        let c = try await environment.intents.create(.init(amount: 1_000, currency: "usd"))
        // When
        let all = try await environment.intents.list(customer: nil, created: nil, page: PageRequest(limit: 2))
        let mine = try await environment.intents.list(customer: customer.id, created: nil, page: PageRequest())
        // Then
        #expect(all.items.map(\.id) == [c.id, b.id])
        #expect(all.hasMore)
        #expect(mine.items.map(\.id) == [b.id])
        #expect(a.created < c.created)
    }
}
