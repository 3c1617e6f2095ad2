import Payments
import PaymentsCore
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// The rules of "Exactly once" that no single endpoint shows: a cancel racing an authorization, an attempt used
/// after its confirmation window, and an authentication that must not outlive a change of amount.
@Suite("Exactly once: races and windows")
struct ExactlyOnceRulesTests {
    /// A card that asks for 3-D Secure on-session.
    static let threeDSecureCard = "4000002500003155"

    /// A manual-confirmation intent for `card` whose challenge the customer completed: `requires_confirmation`.
    static func authenticated(_ environment: TestEnvironment, amount: Int64 = 2_000) async throws -> PaymentIntent {
        let card = try await environment.card(threeDSecureCard)
        let challenged = try await environment.pay(card.id, amount: amount, confirmationMethod: .manual)
        #expect(challenged.status == .requiresAction)
        let token = try #require(challenged.authenticationToken)
        let answered = try await environment.intents.authenticate(challenged.id, token: token, outcome: .complete)
        #expect(answered.status == .requiresConfirmation)
        return answered
    }

    @Test("An authorization that lands between a cancel's read and its write is released, not left live")
    func cancelRacingAnAuthorization() async throws {
        // Given a cancel that, right after reading the intent (requires_confirmation: nothing to release), lets a
        // confirm authorize it (requires_capture) before writing
        let racer = Mutex<(@Sendable () async throws -> Void)?>(nil)
        let faults = FaultInjector(armed: .beforeCancelWrite) { _ in
            let race = racer.withLock { race in
                defer { race = nil }
                return race
            }
            try await race?()
        }
        let environment = try TestEnvironment(faults: faults)
        let card = try await environment.card("4242424242424242")
        let intent = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: card.id, captureMethod: .manual)
        )
        let intents = environment.intents
        racer.withLock { $0 = { _ = try await intents.confirm(intent.id, .init()) } }
        // When the merchant cancels
        let canceled = try await environment.intents.cancel(intent.id, reason: .requestedByCustomer)
        // Then the intent is canceled, and the authorization that landed meanwhile is released at the network
        #expect(canceled.status == .canceled)
        let attempt = try #require(canceled.latestCharge)
        #expect(try environment.approvedAtNetwork() == 1)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 2_000) == nil, "still capturable")
        #expect(try await environment.charge(attempt)?.amountRefunded == 2_000)
    }

    @Test("A confirm after the confirmation window fails the attempt instead of charging")
    func confirmAfterTheWindow() async throws {
        // Given an authenticated manual-confirmation intent waiting for the server's second confirm
        let environment = try TestEnvironment(confirmationWindow: 3_600)
        let waiting = try await Self.authenticated(environment)
        // When the server confirms after the window, before any sweeper pass
        environment.clock.advance(by: 3_601)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(waiting.id, .init())
        }
        // Then nothing is charged, and the attempt is recorded as expired, as the sweeper would have
        #expect(error?.status == 400)
        #expect(try environment.approvedAtNetwork() == 0)
        let stored = try await environment.intents.retrieve(waiting.id)
        #expect(stored.status == .requiresPaymentMethod)
        #expect(stored.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
        #expect(try await environment.charge(stored.latestCharge)?.threeDSecure == "expired")
    }

    @Test("A challenge answered after the confirmation window is expired, not authenticated")
    func challengeAfterTheWindow() async throws {
        let environment = try TestEnvironment(confirmationWindow: 3_600)
        let card = try await environment.card(Self.threeDSecureCard)
        let challenged = try await environment.pay(card.id, confirmationMethod: .automatic)
        let token = try #require(challenged.authenticationToken)
        environment.clock.advance(by: 3_601)
        // The page is gone, and answering it fails the attempt without charging
        await #expect(throws: PaymentError.self) {
            try await environment.intents.challenge(challenged.id, token: token)
        }
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.authenticate(challenged.id, token: token, outcome: .complete)
        }
        #expect(error?.status == 404)
        #expect(try environment.approvedAtNetwork() == 0)
        let stored = try await environment.intents.retrieve(challenged.id)
        #expect(stored.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
    }

    @Test("Changing the amount or the currency drops an earlier 3-D Secure authentication", arguments: [true, false])
    func authenticationCoversOnePayment(changeAmount: Bool) async throws {
        // Given an intent authenticated for 20.00 USD
        let environment = try TestEnvironment()
        let waiting = try await Self.authenticated(environment)
        // When the merchant changes what is charged, then confirms
        var update = PaymentIntents.UpdateInput()
        if changeAmount { update.amount = 99_900 } else { update.currency = "eur" }
        _ = try await environment.intents.update(waiting.id, update)
        let confirmed = try await environment.intents.confirm(waiting.id, .init())
        // Then the customer must authenticate the new payment; nothing is charged on the old authentication
        #expect(confirmed.status == .requiresAction)
        #expect(try environment.approvedAtNetwork() == 0)
    }

    @Test("Bookkeeping changes keep the authentication")
    func bookkeepingKeepsAuthentication() async throws {
        let environment = try TestEnvironment()
        let waiting = try await Self.authenticated(environment)
        var update = PaymentIntents.UpdateInput()
        update.description = "Order 42"
        _ = try await environment.intents.update(waiting.id, update)
        let confirmed = try await environment.intents.confirm(waiting.id, .init())
        #expect(confirmed.status == .succeeded)
        #expect(try environment.approvedAtNetwork() == 1)
    }
}
