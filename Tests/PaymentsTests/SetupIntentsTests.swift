import Foundation
import Payments
import PaymentsCore
import TestSupport
import Testing

/// The SetupIntents use case on a real SQLite store: the compare-and-set that lets one of many racing confirms set
/// the card up, and the rules for keeping the card once it is set up.
@Suite("SetupIntents")
struct SetupIntentsTests {
    @Test("Of 20 racing confirms of one setup intent exactly one sets the card up; the others are refused")
    func racingConfirms() async throws {
        // Given a setup intent with a card, for a customer
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4242424242424242")
        let setup = try await environment.setupIntents.create(.init(customer: customer.id, paymentMethod: card.id))
        #expect(setup.status == .requiresConfirmation)

        // When 20 confirms race
        let outcomes = await withTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        return try await environment.setupIntents.confirm(setup.id, .init()).status.rawValue
                    } catch let error as PaymentError {
                        return error.code ?? "?"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }

        // Then one succeeded and every other one was told the setup intent had moved on
        #expect(outcomes.filter { $0 == "succeeded" }.count == 1, "\(outcomes)")
        #expect(outcomes.filter { $0 == "setup_intent_unexpected_state" }.count == 19, "\(outcomes)")
        let stored = try await environment.setupIntents.retrieve(setup.id)
        #expect(stored.status == .succeeded)
        #expect(try await environment.storedPaymentMethod(card.id)?.customer == customer.id)
    }

    @Test("Two racing challenge answers: the first decides, the second finds the link spent")
    func racingChallengeAnswers() async throws {
        // Given a setup waiting for 3-D Secure
        let environment = try TestEnvironment()
        let setup = try await environment.setupIntents.create(
            .init(paymentMethod: "pm_card_authenticationRequiredOnSetup", confirm: true)
        )
        let token = try #require(setup.authenticationToken)

        // When a completion and a failure race
        @Sendable func answer(_ outcome: PaymentIntents.AuthenticationOutcome) async -> SetupIntent? {
            try? await environment.setupIntents.authenticate(setup.id, token: token, outcome: outcome)
        }
        async let complete = answer(.complete)
        async let fail = answer(.fail)
        let answers = await [complete, fail]

        // Then exactly one was recorded, and the setup shows that one
        let recorded = answers.compactMap { $0 }
        #expect(recorded.count == 1)
        let stored = try await environment.setupIntents.retrieve(setup.id)
        #expect(stored == recorded.first)
        #expect(stored.status == .succeeded || stored.lastSetupError?.code == "setup_intent_authentication_failure")
    }

    /// The customer's `complete` on the challenge page of `setup`, waiting for 3-D Secure.
    static func completeChallenge(of setup: SetupIntent, in environment: TestEnvironment) async throws -> SetupIntent {
        try await environment.setupIntents.authenticate(
            setup.id,
            token: try #require(setup.authenticationToken),
            outcome: .complete
        )
    }

    @Test("A setup whose customer was deleted while it waited for 3-D Secure fails; the card is not kept")
    func customerDeletedDuringChallenge() async throws {
        // Given a customer's setup waiting for 3-D Secure, and the customer deleted meanwhile
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4000002500003155")
        let setup = try await environment.setupIntents.create(
            .init(customer: customer.id, paymentMethod: card.id, confirm: true)
        )
        _ = try await environment.customers.delete(customer.id)

        // When the customer completes the challenge
        let done = try await Self.completeChallenge(of: setup, in: environment)

        // Then the setup failed, and the card belongs to nobody and is not ready for charges without its customer
        // (before, the setup succeeded and left the card ready for off-session charges, for anyone to attach)
        #expect(done.status == .requiresPaymentMethod)
        #expect(done.lastSetupError?.code == "resource_missing")
        let stored = try #require(try await environment.storedPaymentMethod(card.id))
        #expect(stored.customer == nil && !stored.offSessionReady)
    }

    @Test("A card detached while its setup waited for 3-D Secure is not attached again; the setup fails")
    func detachedDuringChallenge() async throws {
        // Given a customer's card, a setup for it waiting for 3-D Secure, and the card detached meanwhile
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4000002500003155")
        _ = try await environment.paymentMethods.attach(card.id, customer: customer.id)
        let setup = try await environment.setupIntents.create(
            .init(customer: customer.id, paymentMethod: card.id, confirm: true)
        )
        #expect(setup.status == .requiresAction)
        _ = try await environment.paymentMethods.detach(card.id)

        // When the customer completes the challenge
        let done = try await Self.completeChallenge(of: setup, in: environment)

        // Then the setup failed as Stripe refuses a detached card, and the card stays detached and unusable
        #expect(done.status == .requiresPaymentMethod)
        #expect(done.lastSetupError?.code == "payment_method_unexpected_state")
        let stored = try #require(try await environment.storedPaymentMethod(card.id))
        #expect(stored.customer == nil && !stored.reusable && !stored.offSessionReady)
        // And an off-session charge of it is still refused
        await #expect(throws: PaymentError.self) {
            try await environment.pay(card.id, customer: customer.id, offSession: true)
        }
    }

    @Test("A confirm after the challenge's window records the expiry, then confirms again or says what is missing")
    func confirmAfterWindow() async throws {
        // Given a setup waiting for 3-D Secure, past its confirmation window
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4000002500003155")
        let setup = try await environment.setupIntents.create(
            .init(customer: customer.id, paymentMethod: card.id, confirm: true)
        )
        #expect(setup.status == .requiresAction)
        environment.clock.advance(by: 3_601)

        // When it is confirmed again without a payment method
        let refused = await #expect(throws: PaymentError.self) {
            try await environment.setupIntents.confirm(setup.id, .init())
        }

        // Then the answer says the attempt expired (as a PaymentIntent's does), and the expiry stands: the setup is
        // back in requires_payment_method with the expiry's error, its challenge gone
        #expect(refused?.code == "setup_intent_setup_attempt_expired")
        #expect(refused?.message.contains("missing a payment method") == false)
        let expired = try await environment.setupIntents.retrieve(setup.id)
        #expect(expired.status == .requiresPaymentMethod)
        #expect(expired.lastSetupError?.code == "setup_intent_setup_attempt_expired")
        #expect(expired.authenticationToken == nil)

        // And a confirm naming the card again starts a new challenge
        let again = try await environment.setupIntents.confirm(setup.id, .init(paymentMethod: card.id))
        #expect(again.status == .requiresAction)
        #expect(again.latestAttempt != setup.latestAttempt)
    }

    @Test("A card attached to another customer while a setup waited for 3-D Secure is not moved; the setup fails")
    func attachedElsewhereDuringChallenge() async throws {
        // Given customer A's setup of an unattached card waiting for 3-D Secure, and the card attached to B meanwhile
        let environment = try TestEnvironment()
        let first = try await environment.customer()
        let second = try await environment.customer()
        let card = try await environment.card("4000002500003155")
        let setup = try await environment.setupIntents.create(
            .init(customer: first.id, paymentMethod: card.id, confirm: true)
        )
        _ = try await environment.paymentMethods.attach(card.id, customer: second.id)

        // When the customer completes A's challenge
        let done = try await Self.completeChallenge(of: setup, in: environment)

        // Then A's setup failed, and the card is still B's
        #expect(done.status == .requiresPaymentMethod)
        #expect(done.lastSetupError?.code == "payment_method_customer_mismatch")
        #expect(try await environment.storedPaymentMethod(card.id)?.customer == second.id)
    }

    @Test("A new customer made with the setup is stored in the setup's transaction, and owns the card")
    func newCustomer() async throws {
        // When a card is set up for a new customer, and another customer's card is refused for a new customer
        let environment = try TestEnvironment()
        let setup = try await environment.setupIntents.create(
            .init(paymentMethod: "pm_card_visa", confirm: true, newCustomer: .init(email: "new@example.com"))
        )
        let taken = try await environment.setupIntents.create(
            .init(paymentMethod: "pm_card_mastercard", confirm: true, newCustomer: .init())
        )
        let customers = try environment.count("customers")
        await #expect(throws: PaymentError.self) {
            try await environment.setupIntents.create(
                .init(paymentMethod: taken.paymentMethod, confirm: true, newCustomer: .init(email: "x@example.com"))
            )
        }

        // Then the first customer exists and owns the card; the refused request stored no customer
        let owner = try #require(setup.customer)
        #expect(try await environment.customers.retrieve(owner).email == "new@example.com")
        #expect(try await environment.storedPaymentMethod(setup.paymentMethod)?.customer == owner)
        #expect(try environment.count("customers") == customers)
    }
}
