import Foundation
import GRDB
import Logging
import Payments
import PaymentsCore
import PaymentsNetwork
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// A card network over the real test-mode ledger that can be told to fail: the first authorization "crashes" the
/// caller after the ledger recorded it, and releases can be refused (as if captured first) or fail. It counts the
/// releases it is asked for.
final class SweeperTestNetwork: CardNetwork {
    /// What `void` does.
    enum VoidBehavior: Sendable {
        /// Asks the ledger.
        case ledger
        /// Answers false, as when a capture reached the network first (the test captures at the ledger).
        case capturedFirst
        /// Throws, as when the network cannot be reached.
        case unreachable
    }

    /// Thrown in place of an answer.
    struct Unreachable: Error {}

    let ledger: TestModeCardNetwork
    private let crashNextAuthorization: Mutex<Bool>
    private let voidBehavior: Mutex<VoidBehavior>
    private let voids = Mutex<[String]>([])
    private let refundsUnreachable = Mutex(false)

    init(ledger: TestModeCardNetwork, crashFirstAuthorization: Bool = false, void: VoidBehavior = .ledger) {
        self.ledger = ledger
        self.crashNextAuthorization = Mutex(crashFirstAuthorization)
        self.voidBehavior = Mutex(void)
    }

    /// The attempt ids `void` was called with, in order.
    var voidedAttempts: [String] { voids.withLock { $0 } }

    /// Changes what `void` does from now on.
    func setVoidBehavior(_ behavior: VoidBehavior) { voidBehavior.withLock { $0 = behavior } }

    /// Makes `refund` throw (the network cannot be reached) or ask the ledger again.
    func setRefundsUnreachable(_ unreachable: Bool) { refundsUnreachable.withLock { $0 = unreachable } }

    func lookUp(_ card: CardNumber) -> CardLookup { ledger.lookUp(card) }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        ledger.attachDecline(card, cvcProvided: cvcProvided)
    }

    func testCardNumber(forPaymentMethodID id: String) -> String? { ledger.testCardNumber(forPaymentMethodID: id) }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        let result = try await ledger.authorize(request)
        let crash = crashNextAuthorization.withLock { armed in
            defer { armed = false }
            return armed
        }
        if crash { throw Unreachable() }
        return result
    }

    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        try await ledger.capture(attemptID: attemptID, amount: amount, reference: reference)
    }

    func void(attemptID: String) async throws -> Bool {
        voids.withLock { $0.append(attemptID) }
        switch voidBehavior.withLock({ $0 }) {
        case .ledger: return try await ledger.void(attemptID: attemptID)
        case .capturedFirst: return false
        case .unreachable: throw Unreachable()
        }
    }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        if refundsUnreachable.withLock({ $0 }) { throw Unreachable() }
        return try await ledger.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
    }
}

@Suite("Sweeper")
struct SweeperTests {
    /// The confirmation window the environments use (Stripe's hour).
    static let window: Int64 = 3_600
    /// One day in seconds.
    static let day: Int64 = 86_400
    /// A card that needs 3-D Secure on-session (4000002500003155).
    static let threeDSecureCard = "pm_card_authenticationRequiredOnSetup"

    /// An environment over the real ledger, through a ``SweeperTestNetwork``.
    static func environment(
        crashFirstAuthorization: Bool = false,
        void: SweeperTestNetwork.VoidBehavior = .ledger
    ) throws -> (TestEnvironment, SweeperTestNetwork) {
        let ledgerPath = try TestPaths.temporaryFolder().appendingPathComponent("ledger.sqlite").path
        let network = SweeperTestNetwork(
            ledger: try TestModeCardNetwork(ledgerPath: ledgerPath),
            crashFirstAuthorization: crashFirstAuthorization,
            void: void
        )
        return (try TestEnvironment(confirmationWindow: window, network: network), network)
    }

    /// Creates and confirms an intent of `amount` USD with `paymentMethod`.
    static func pay(
        _ environment: TestEnvironment,
        _ paymentMethod: String,
        amount: Int64 = 2_000,
        captureMethod: CaptureMethod = .automatic,
        confirmationMethod: ConfirmationMethod = .automatic
    ) async throws -> PaymentIntent {
        try await environment.intents.create(
            .init(
                amount: amount,
                currency: "usd",
                paymentMethod: paymentMethod,
                confirm: true,
                captureMethod: captureMethod,
                confirmationMethod: confirmationMethod
            )
        )
    }

    /// The intent as stored now.
    static func stored(_ environment: TestEnvironment, _ intent: PaymentIntent) async throws -> PaymentIntent {
        try await environment.intents.retrieve(intent.id)
    }

    /// The charge with `id`, as stored now.
    static func charge(_ environment: TestEnvironment, _ id: String?) async throws -> Charge? {
        guard let id else { return nil }
        return try await environment.database.read { tx in try tx.charge(id) }
    }

    // MARK: - a. Expired attempts

    @Test("An attempt past the confirmation window expires into a failed charge; one not yet due stays")
    func attemptExpires() async throws {
        // Given one intent waiting for 3-D Secure since t0, and another since half a window later
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        let due = try await Self.pay(environment, Self.threeDSecureCard)
        environment.clock.advance(by: Self.window / 2)
        let notDue = try await Self.pay(environment, Self.threeDSecureCard)
        #expect(due.status == .requiresAction)
        #expect(due.attemptExpiresAt == t0 + Self.window)

        // When the sweeper runs one second before the first is due, then exactly when it is due
        let early = try await Sweeper(context: environment.context).sweep(now: t0 + Self.window - 1)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + Self.window)

        // Then nothing moved early; on time, only the due intent moved, with Stripe's error
        #expect(early == SweepReport())
        #expect(report == SweepReport(attemptsExpired: 1, examined: 1))
        let expired = try await Self.stored(environment, due)
        #expect(expired.status == .requiresPaymentMethod)
        #expect(expired.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
        #expect(expired.lastPaymentError?.paymentMethod == due.paymentMethod)
        #expect(expired.paymentMethod == nil)
        #expect(expired.authenticationToken == nil)
        #expect(expired.attemptExpiresAt == nil)
        // And the failed attempt is the intent's latest charge
        let charge = try #require(try await Self.charge(environment, expired.latestCharge))
        #expect(charge.status == .failed)
        #expect(charge.failureCode == "payment_intent_payment_attempt_expired")
        #expect(charge.threeDSecure == "expired")
        #expect(charge.paymentIntent == due.id)
        #expect(charge.paymentMethod == due.paymentMethod)
        #expect(charge.amount == due.amount)
        #expect(charge.created == t0 + Self.window)
        #expect(charge.resolvedAt == t0 + Self.window)
        #expect(try await Self.stored(environment, notDue) == notDue)
    }

    @Test(
        "An expired attempt records charge.failed before payment_intent.payment_failed, as a decline does",
        arguments: [false, true]
    )
    func expiryEventOrder(lateConfirm: Bool) async throws {
        // Given an intent waiting for 3-D Secure
        let (environment, _) = try Self.environment()
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        let events = Events(context: environment.context)
        let before = try await events.list(types: [], created: nil, page: .init(limit: 100)).items.count
        // When its window passes and the sweeper expires it, or the server's confirm comes after the window
        if lateConfirm {
            environment.clock.advance(by: Self.window)
            await #expect(throws: PaymentError.self) { try await environment.intents.confirm(intent.id, .init()) }
        } else {
            _ = try await Sweeper(context: environment.context).sweep(now: environment.clock.now + Self.window)
        }
        // Then the charge's event comes first, then the intent's (the list is newest first)
        let page = try await events.list(types: [], created: nil, page: .init(limit: 100)).items
        let recorded = page.prefix(page.count - before).reversed().map(\.type)
        #expect(recorded == ["charge.failed", "payment_intent.payment_failed"])
        #expect(try await Self.stored(environment, intent).status == .requiresPaymentMethod)
    }

    @Test("A cancel after the window closed, before any sweep, records the expired attempt first")
    func cancelAfterWindow() async throws {
        // Given an intent waiting for 3-D Secure whose window has closed, not swept yet
        let (environment, _) = try Self.environment()
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        let events = Events(context: environment.context)
        let before = try await events.list(types: [], created: nil, page: .init(limit: 100)).items.count
        environment.clock.advance(by: Self.window)
        // When the merchant cancels it
        let canceled = try await environment.intents.cancel(intent.id, reason: .abandoned)
        // Then the attempt failed as expired (a failed charge report_declines counts), then the intent was canceled
        #expect(canceled.status == .canceled && canceled.cancellationReason == .abandoned)
        #expect(canceled.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
        let charge = try #require(try await Self.charge(environment, canceled.latestCharge))
        #expect(charge.status == .failed && charge.failureCode == "payment_intent_payment_attempt_expired")
        let page = try await events.list(types: [], created: nil, page: .init(limit: 100)).items
        #expect(
            page.prefix(page.count - before).reversed().map(\.type) == [
                "charge.failed", "payment_intent.payment_failed", "payment_intent.canceled",
            ]
        )
        // And a sweep after it has nothing to do
        #expect(try await Sweeper(context: environment.context).sweep(now: environment.clock.now) == SweepReport())
    }

    @Test("An attempt expired by a sweep two days late is dated when its window closed (the day reports count it)")
    func lateSweepDatesAttemptAtExpiry() async throws {
        // Given an intent waiting for 3-D Secure since t0
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        let due = try await Self.pay(environment, Self.threeDSecureCard)
        // When the first sweep after it was due runs two days later (the server was down)
        let late = t0 + Self.window + 2 * 86_400
        let report = try await Sweeper(context: environment.context).sweep(now: late)
        // Then the failed attempt is dated at the window's end, not at the sweep
        #expect(report.attemptsExpired == 1)
        let expired = try await Self.stored(environment, due)
        let charge = try #require(try await Self.charge(environment, expired.latestCharge))
        #expect(charge.status == .failed)
        #expect(charge.created == t0 + Self.window && charge.resolvedAt == t0 + Self.window, "\(charge)")
    }

    @Test("A second pass at the same time changes nothing")
    func secondPassIsEmpty() async throws {
        // Given an expired attempt swept once
        let (environment, _) = try Self.environment()
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        let now = environment.clock.now + Self.window
        let sweeper = Sweeper(context: environment.context)
        _ = try await sweeper.sweep(now: now)
        let after = try await Self.stored(environment, intent)
        // When it runs again
        let again = try await sweeper.sweep(now: now)
        // Then nothing is read or changed
        #expect(again == SweepReport())
        #expect(try await Self.stored(environment, intent) == after)
    }

    @Test("requires_confirmation after a completed challenge expires too (manual confirmation never sent)")
    func requiresConfirmationExpires() async throws {
        // Given a manual-confirmation intent whose customer passed 3-D Secure, waiting for the server's confirm
        let (environment, _) = try Self.environment()
        let started = try await Self.pay(environment, Self.threeDSecureCard, confirmationMethod: .manual)
        let token = try #require(started.authenticationToken)
        let waiting = try await environment.intents.authenticate(started.id, token: token, outcome: .complete)
        #expect(waiting.status == .requiresConfirmation)
        // When the window passes
        let report = try await Sweeper(context: environment.context).sweep(now: environment.clock.now + Self.window)
        // Then it falls back to requires_payment_method
        #expect(report.attemptsExpired == 1)
        let expired = try await Self.stored(environment, started)
        #expect(expired.status == .requiresPaymentMethod)
        #expect(expired.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
    }

    @Test("An expired challenge can no longer be completed")
    func expiredChallengeIsGone() async throws {
        // Given an expired attempt
        let (environment, _) = try Self.environment()
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        let token = try #require(intent.authenticationToken)
        _ = try await Sweeper(context: environment.context).sweep(now: environment.clock.now + Self.window)
        // When the customer answers the old challenge, then it is not found
        await #expect(throws: PaymentError.self) {
            try await environment.intents.authenticate(intent.id, token: token, outcome: .complete)
        }
        #expect(try await Self.stored(environment, intent).status == .requiresPaymentMethod)
    }

    @Test("A setup canceled after its challenge's window closed, before any sweep, records the expired attempt first")
    func setupCancelAfterWindow() async throws {
        let (environment, _) = try Self.environment()
        let setup = try await environment.setupIntents.create(
            .init(paymentMethod: Self.threeDSecureCard, confirm: true)
        )
        let events = Events(context: environment.context)
        let before = try await events.list(types: [], created: nil, page: .init(limit: 100)).items.count
        environment.clock.advance(by: Self.window)
        // When it is canceled
        let canceled = try await environment.setupIntents.cancel(setup.id, reason: .abandoned)
        // Then it failed as expired first, then was canceled (found by a probe: it recorded no failure)
        #expect(canceled.status == .canceled)
        #expect(canceled.lastSetupError?.code == "setup_intent_setup_attempt_expired", "\(canceled)")
        let page = try await events.list(types: [], created: nil, page: .init(limit: 100)).items
        #expect(
            page.prefix(page.count - before).reversed().map(\.type) == [
                "setup_intent.setup_failed", "setup_intent.canceled",
            ]
        )
    }

    @Test("A setup left waiting for its challenge past the window fails as expired; one not yet due stays")
    func setupAttemptExpires() async throws {
        // Given a card being set up and waiting for 3-D Secure since t0, and another since half a window later
        let (environment, _) = try Self.environment()
        let setups = environment.setupIntents
        let t0 = environment.clock.now
        let due = try await setups.create(.init(paymentMethod: Self.threeDSecureCard, confirm: true))
        environment.clock.advance(by: Self.window / 2)
        let notDue = try await setups.create(.init(paymentMethod: Self.threeDSecureCard, confirm: true))
        #expect(due.status == .requiresAction)
        #expect(due.attemptExpiresAt == t0 + Self.window)
        let token = try #require(due.authenticationToken)

        // When the sweeper runs one second before the first is due, then exactly when it is due
        let early = try await Sweeper(context: environment.context).sweep(now: t0 + Self.window - 1)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + Self.window)

        // Then nothing moved early; on time, only the due setup moved, with Stripe's error
        #expect(early == SweepReport())
        #expect(report == SweepReport(examined: 1, setupAttemptsExpired: 1))
        let expired = try await setups.retrieve(due.id)
        #expect(expired.status == .requiresPaymentMethod)
        #expect(expired.lastSetupError?.code == "setup_intent_setup_attempt_expired")
        #expect(expired.lastSetupError?.paymentMethod == due.paymentMethod)
        #expect(expired.paymentMethod == nil)
        #expect(expired.authenticationToken == nil)
        #expect(expired.attemptExpiresAt == nil)
        #expect(try await setups.retrieve(notDue.id) == notDue)

        // And its old challenge can no longer set the card up
        await #expect(throws: PaymentError.self) {
            try await setups.authenticate(due.id, token: token, outcome: .complete)
        }
        #expect(try await environment.storedPaymentMethod(due.paymentMethod)?.offSessionReady == false)
        #expect(try await Sweeper(context: environment.context).sweep(now: t0 + Self.window) == SweepReport())
    }

    @Test("Batches loop until nothing is due, and a pass reads only what is due")
    func batchesLoopAndReadOnlyWhatIsDue() async throws {
        // Given 5 due attempts, 3 not yet due, and 1,000 other intents
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        var due: [PaymentIntent] = []
        for _ in 0..<5 { due.append(try await Self.pay(environment, Self.threeDSecureCard)) }
        environment.clock.advance(by: 60)
        for _ in 0..<3 { _ = try await Self.pay(environment, Self.threeDSecureCard) }
        try await Self.insertBackground(environment, count: 1_000, now: t0)
        // When one pass runs with batches of 2
        let report = try await Sweeper(context: environment.context, batchSize: 2).sweep(now: t0 + Self.window)
        // Then all 5 moved, and the pass read those 5 rows only
        #expect(report == SweepReport(attemptsExpired: 5, examined: 5))
        for intent in due { #expect(try await Self.stored(environment, intent).status == .requiresPaymentMethod) }
    }

    @Test("Two passes racing move each due intent once")
    func racingPasses() async throws {
        // Given 6 due attempts
        let (environment, _) = try Self.environment()
        var due: [PaymentIntent] = []
        for _ in 0..<6 { due.append(try await Self.pay(environment, Self.threeDSecureCard)) }
        let now = environment.clock.now + Self.window
        // When two sweepers with small batches run at once
        async let first = Sweeper(context: environment.context, batchSize: 2).sweep(now: now)
        async let second = Sweeper(context: environment.context, batchSize: 2).sweep(now: now)
        let reports = try await [first, second]
        // Then the six moved once between them, each with one failed charge
        #expect(reports.map(\.attemptsExpired).reduce(0, +) == 6)
        for intent in due {
            let stored = try await Self.stored(environment, intent)
            #expect(stored.status == .requiresPaymentMethod)
            let charges = try Self.rawRead(environment) { db in
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM charges WHERE payment_intent = ?",
                    arguments: [intent.id]
                )
            }
            #expect(charges == 1)
        }
    }

    // MARK: - b. Expired authorizations

    @Test("An authorization left uncaptured for 7 days is released and canceled automatically")
    func authorizationExpires() async throws {
        // Given one authorization from t0 and another from a day later
        let (environment, network) = try Self.environment()
        let t0 = environment.clock.now
        let old = try await Self.pay(environment, "pm_card_visa", captureMethod: .manual)
        environment.clock.advance(by: Self.day)
        let young = try await Self.pay(environment, "pm_card_visa", captureMethod: .manual)
        #expect(old.status == .requiresCapture)
        #expect(old.authorizedAt == t0)
        let expiry = t0 + PaymentIntents.authorizationLifetime

        // When the sweeper runs a second before the 7 days are up, then when they are
        let early = try await Sweeper(context: environment.context).sweep(now: expiry - 1)
        let report = try await Sweeper(context: environment.context).sweep(now: expiry)

        // Then only the old one is canceled, with reason automatic, after its release at the network
        #expect(early == SweepReport())
        #expect(report == SweepReport(authorizationsCanceled: 1, examined: 1))
        let canceled = try await Self.stored(environment, old)
        #expect(canceled.status == .canceled)
        #expect(canceled.cancellationReason == .automatic)
        #expect(canceled.canceledAt == expiry)
        #expect(canceled.amountCapturable == 0)
        #expect(canceled.amountReceived == 0)
        #expect(network.voidedAttempts == [old.latestCharge].compactMap { $0 })
        let attempt = try #require(old.latestCharge)
        #expect(try await network.ledger.capture(attemptID: attempt, amount: old.amount) == nil)
        #expect(try await Self.stored(environment, young) == young)
        // And its charge's release is Stripe's charge.expired, not the charge.refunded of a merchant's cancel
        let events = try await Events(context: environment.context).list(
            types: ["charge.*"],
            created: nil,
            page: .init(limit: 100)
        )
        #expect(events.items.filter { $0.objectID == attempt }.map(\.type) == ["charge.expired", "charge.succeeded"])
        // And a second pass changes nothing
        #expect(try await Sweeper(context: environment.context).sweep(now: expiry) == SweepReport())
    }

    @Test("An expired authorization the network had captured is recorded as captured, not left for ever")
    func capturedFirstIsRecorded() async throws {
        // Given an expired authorization that the network captured (a merchant's capture whose outcome a crash
        // kept from the database: the network refuses the release)
        let (environment, network) = try Self.environment(void: .capturedFirst)
        let intent = try await Self.pay(environment, "pm_card_visa", captureMethod: .manual)
        let attempt = try #require(intent.latestCharge)
        #expect(try await network.ledger.capture(attemptID: attempt, amount: 1_500) == 1_500)
        let expiry = environment.clock.now + PaymentIntents.authorizationLifetime
        // When the sweeper runs with batches of 1
        let report = try await Sweeper(context: environment.context, batchSize: 1).sweep(now: expiry)
        // Then the capture the network made is recorded, for the amount it captured, after one read
        #expect(report == SweepReport(capturesRecorded: 1, examined: 1))
        let stored = try await Self.stored(environment, intent)
        #expect(stored.status == .succeeded)
        #expect(stored.amountReceived == 1_500)
        #expect(try await Self.charge(environment, attempt)?.amountCaptured == 1_500)
        #expect(network.voidedAttempts.count == 1)
        // And the network captured nothing more
        #expect(try network.ledger.capturedAmount(attemptID: attempt) == 1_500)
        #expect(try await Sweeper(context: environment.context).sweep(now: expiry + 60) == SweepReport())
    }

    @Test("A capture that meets the expiry's release before its cancel is written: canceled, reason automatic")
    func captureMeetsExpiryRelease() async throws {
        // Given an expired authorization, and a merchant's capture arriving after the pass released it at the
        // network, before the pass wrote the cancel
        let race = Race()
        let environment = try TestEnvironment(
            confirmationWindow: Self.window,
            faults: FaultInjector(armed: .afterSweepRelease) { _ in try await race.run() }
        )
        let intent = try await Self.pay(environment, "pm_card_visa", captureMethod: .manual)
        let intents = environment.intents
        let refused = Mutex<PaymentError?>(nil)
        race.set {
            do {
                _ = try await intents.capture(intent.id, amountToCapture: nil)
            } catch let error as PaymentError {
                refused.withLock { $0 = error }
            }
        }
        let expiry = environment.clock.now + PaymentIntents.authorizationLifetime

        // When the pass runs
        let report = try await Sweeper(context: environment.context).sweep(now: expiry)

        // Then the capture was refused, nothing was captured, and the cancel names the expiry as its reason
        #expect(refused.withLock { $0?.code } == "payment_intent_unexpected_state")
        let stored = try await Self.stored(environment, intent)
        #expect(stored.status == .canceled)
        #expect(stored.cancellationReason == .automatic)
        #expect(stored.amountReceived == 0)
        #expect(report.authorizationsCanceled == 1)
        let attempt = try #require(intent.latestCharge)
        #expect(try environment.network.capturedAmount(attemptID: attempt) == 0)
    }

    @Test("An unreachable network leaves the authorization for the next pass")
    func unreachableNetworkRetriesNextPass() async throws {
        // Given an expired authorization and a network that cannot be reached
        let (environment, network) = try Self.environment(void: .unreachable)
        let intent = try await Self.pay(environment, "pm_card_visa", captureMethod: .manual)
        let expiry = environment.clock.now + PaymentIntents.authorizationLifetime
        let first = try await Sweeper(context: environment.context).sweep(now: expiry)
        #expect(first == SweepReport(skipped: 1, examined: 1))
        #expect(try await Self.stored(environment, intent).status == .requiresCapture)
        // When the network is back and the next pass runs
        network.setVoidBehavior(.ledger)
        let second = try await Sweeper(context: environment.context).sweep(now: expiry + 60)
        // Then the authorization is released and the intent canceled
        #expect(second == SweepReport(authorizationsCanceled: 1, examined: 1))
        #expect(try await Self.stored(environment, intent).cancellationReason == .automatic)
    }

    // MARK: - c. Idempotency keys

    @Test("Idempotency keys older than 24 hours are pruned; younger ones and ones whose lease still runs stay")
    func idempotencyKeysPruned() async throws {
        // Given a finished key from t0, one from an hour later, a key held since t0 by a request whose lease still
        // runs at t0 + 24 h, and one whose holder died at t0 (its lease long over)
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        let lifetime = IdempotencyKeys.apiKeyLifetime
        try await Self.idempotencyKey(environment, "old", created: t0, finished: true)
        try await Self.idempotencyKey(environment, "young", created: t0 + 3_600, finished: true)
        try await Self.idempotencyKey(environment, "held", created: t0, finished: false, leaseUntil: t0 + 2 * lifetime)
        try await Self.idempotencyKey(environment, "abandoned", created: t0, finished: false)
        // When the sweeper runs exactly 24 hours after t0, then a second later (keys go by the real time)
        environment.clock.advance(by: lifetime)
        let onTheDot = try await Sweeper(context: environment.context).sweep(now: t0 + lifetime)
        environment.clock.advance(by: 1)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + lifetime + 1)
        // Then the old key and the abandoned one are gone, the held one stays
        #expect(onTheDot == SweepReport())
        #expect(report == SweepReport(idempotencyKeysPruned: 2, examined: 2))
        #expect(try Self.idempotencyKeys(environment) == ["held", "young"])
        #expect(try await Sweeper(context: environment.context).sweep(now: t0 + lifetime + 1) == SweepReport())
    }

    @Test("A pass that treats a later time as now (`payments sweep --now`) prunes keys and events by the real time")
    func housekeepingByRealTime() async throws {
        // Given a key a request began a second ago and still holds, one answered a second ago, and the events of a
        // payment made now
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        try await Self.idempotencyKey(environment, "in-flight", created: t0 - 1, finished: false)
        try await Self.idempotencyKey(environment, "answered", created: t0 - 1, finished: true)
        _ = try await Self.pay(environment, "pm_card_visa")
        let events = try await Events(context: environment.context).list(
            types: [],
            created: nil,
            page: .init(limit: 100)
        )
        // When a pass runs now treating a year later as now (past a key's 24 hours and an event's 30 days)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + 365 * Self.day)
        // Then both keys stay (deleted, a client's retry with either would charge again), and every event
        #expect(report.idempotencyKeysPruned == 0 && report.eventsPruned == 0, "\(report)")
        #expect(try Self.idempotencyKeys(environment) == ["answered", "in-flight"])
        let after = try await Events(context: environment.context).list(
            types: [],
            created: nil,
            page: .init(limit: 100)
        )
        #expect(after.items.count == events.items.count && !events.items.isEmpty)
        // And once 24 hours have passed in real time, the same pass prunes the keys
        environment.clock.advance(by: IdempotencyKeys.apiKeyLifetime)
        let later = try await Sweeper(context: environment.context).sweep(now: t0 + 365 * Self.day)
        #expect(later.idempotencyKeysPruned == 2)
    }

    @Test("Recharge references are never pruned, however old")
    func rechargeReferencesKept() async throws {
        // Given a recharge reference charged long ago, and an API key of the same age
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        try await Self.idempotencyKey(environment, "renewal-1", created: t0, finished: true, scope: "recharge")
        try await Self.idempotencyKey(environment, "api-key", created: t0, finished: true)
        // When the sweeper runs a year later
        environment.clock.advance(by: 365 * Self.day)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + 365 * Self.day)
        // Then only the API key is gone, and the pass did not even read the reference
        #expect(report == SweepReport(idempotencyKeysPruned: 1, examined: 1))
        #expect(try Self.idempotencyKeys(environment) == ["renewal-1"])
    }

    // MARK: - d. Pending attempts

    @Test("An attempt a crash left pending is settled after the grace period, without charging twice")
    func pendingChargeRecovered() async throws {
        // Given a confirm that died after the network approved (the charge stays pending)
        let (environment, network) = try Self.environment(crashFirstAuthorization: true)
        let created = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa")
        )
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(created.id, .init())
        }
        #expect(error?.isTransient == true)
        let stuck = try await Self.stored(environment, created)
        #expect(stuck.status == .processing)
        let t0 = environment.clock.now
        // When the sweeper runs inside the grace period, then after it
        let early = try await Sweeper(context: environment.context).sweep(now: t0 + Sweeper.pendingChargeGrace - 1)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + Sweeper.pendingChargeGrace)
        // Then it waited, then settled the attempt with the network's first answer
        #expect(early == SweepReport())
        #expect(report == SweepReport(pendingChargesRecovered: 1, examined: 1))
        let settled = try await Self.stored(environment, created)
        #expect(settled.status == .succeeded)
        #expect(settled.latestCharge == stuck.latestCharge)
        #expect(try await Self.charge(environment, settled.latestCharge)?.status == .succeeded)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try await Sweeper(context: environment.context).sweep(now: t0 + 120) == SweepReport())
    }

    @Test("A pass that treats a later time as now (`payments sweep --now +8d`) dates the payments it recovers now")
    func recoveredInRealTime() async throws {
        // Given a confirm that died after the network approved, a minute ago
        let (environment, _) = try Self.environment(crashFirstAuthorization: true)
        let created = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa")
        )
        _ = await #expect(throws: PaymentError.self) { try await environment.intents.confirm(created.id, .init()) }
        environment.clock.advance(by: 60)
        let realNow = environment.clock.now
        // When a pass runs as `payments sweep --now +8d` does: its clock tells the given time, its events the real one
        let later = realNow + 8 * Self.day
        let pass = PaymentsContext(
            database: environment.context.database,
            vault: environment.context.vault,
            network: environment.context.network,
            clock: .fixed(later),
            settings: environment.context.settings,
            eventClock: environment.clock.unixClock
        )
        let report = try await Sweeper(context: pass).sweep(now: later)
        // Then the payment it recovered is dated now, not 8 days ahead (the reports counted it on a day to come)
        #expect(report.pendingChargesRecovered == 1, "\(report)")
        let settled = try await Self.stored(environment, created)
        #expect(settled.status == .succeeded)
        #expect(settled.succeededAt == realNow && settled.authorizedAt == realNow, "\(settled)")
        let charge = try #require(try await Self.charge(environment, settled.latestCharge))
        #expect(charge.resolvedAt == realNow, "\(charge)")
    }

    @Test("A refund a crash left pending is completed after the grace period, once")
    func pendingRefundSettled() async throws {
        // Given a captured payment and a refund whose network call never came back (left pending, its amount reserved)
        let (environment, _) = try Self.environment()
        let paid = try await Self.pay(environment, "pm_card_visa", amount: 3_000)
        let chargeID = try #require(paid.latestCharge)
        let t0 = environment.clock.now
        let refund = Refund(
            id: "re_pendingsweeptest0000000001",
            created: t0,
            charge: chargeID,
            paymentIntent: paid.id,
            amount: 1_000,
            currency: "usd",
            reason: nil,
            metadata: [:]
        )
        try await environment.database.write { tx in
            try tx.insert(refund)
            guard var charge = try tx.charge(chargeID) else { return }
            charge.amountRefunded += refund.amount
            try tx.update(charge)
        }
        // When the sweeper runs inside the grace period, then after it, then again
        let early = try await Sweeper(context: environment.context).sweep(now: t0 + Sweeper.pendingChargeGrace - 1)
        let report = try await Sweeper(context: environment.context).sweep(now: t0 + Sweeper.pendingChargeGrace + 1)
        let again = try await Sweeper(context: environment.context).sweep(now: t0 + Sweeper.pendingChargeGrace + 2)
        // Then it waited, then completed the refund once, and the charge's refunded amount was reserved only once
        #expect(early.pendingRefundsSettled == 0)
        #expect(report.pendingRefundsSettled == 1)
        #expect(again.pendingRefundsSettled == 0)
        #expect(try await Refunds(context: environment.context).retrieve(refund.id).status == .succeeded)
        #expect(try await Self.charge(environment, chargeID)?.amountRefunded == 1_000)
    }

    // MARK: - f. Refunds the network settles later

    @Test("A refund the network cannot be asked about is skipped, and settled by the next pass")
    func unreachableRefundRetriesNextPass() async throws {
        // Given a pending 7726 refund due a minute later, and a network that cannot be reached then
        let (environment, network) = try Self.environment()
        let paid = try await Self.pay(environment, "pm_card_pendingRefund")
        let refunds = Refunds(context: environment.context)
        let refund = try await refunds.create(.init(paymentIntent: paid.id))
        let due = try #require(refund.settlesAt)
        network.setRefundsUnreachable(true)
        // When a pass runs when it is due, then another once the network is back
        let failed = try await Sweeper(context: environment.context).sweep(now: due)
        let pendingAfterFailure = try await refunds.retrieve(refund.id).status
        network.setRefundsUnreachable(false)
        let retried = try await Sweeper(context: environment.context).sweep(now: due + 60)
        // Then the first pass skipped it and the second settled it
        #expect(failed == SweepReport(skipped: 1, examined: 1))
        #expect(pendingAfterFailure == .pending)
        #expect(retried == SweepReport(examined: 1, refundsUpdated: 1))
        #expect(try await refunds.retrieve(refund.id).status == .succeeded)
    }

    @Test("An attempt this process is still waiting on is left alone")
    func inFlightAttemptLeftAlone() async throws {
        // Given a pending attempt that a task of this process holds
        let (environment, _) = try Self.environment(crashFirstAuthorization: true)
        let created = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa")
        )
        _ = try? await environment.intents.confirm(created.id, .init())
        let attempt = try #require(try await Self.stored(environment, created).latestCharge)
        #expect(environment.context.attempts.begin(attempt))
        defer { environment.context.attempts.end(attempt) }
        // When the sweeper runs long after
        let report = try await Sweeper(context: environment.context).sweep(now: environment.clock.now + Self.day)
        // Then it read the attempt and left it pending
        #expect(report == SweepReport(examined: 1))
        #expect(try await Self.charge(environment, attempt)?.status == .pending)
    }

    // MARK: - Rule leases

    @Test("A rule another sweeper's lease holds is skipped and reported; once the lease ran out it runs, once")
    func ruleLeasedElsewhere() async throws {
        // Given a due attempt, and another sweeper's live lease on rule a (taken by the environment's clock)
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        let taken = try await environment.database.write { tx in
            try tx.takeSweeperLease(rule: "expire_attempts", holder: "other", now: t0, leasedUntil: t0 + 30)
        }
        #expect(taken)
        let mine = SweeperLeaseHolder(id: "mine", seconds: 30, clock: environment.clock.unixClock)

        // When this sweeper passes before that lease runs out
        let blocked = try await Sweeper(context: environment.context, holder: mine).sweep(now: t0 + Self.window)

        // Then it skips rule a, says so, and leaves the attempt; the other's lease stands
        #expect(blocked == SweepReport(rulesSkipped: [.expireAttempts]))
        #expect(try await Self.stored(environment, intent).status == .requiresAction)
        let held = try await environment.database.read { tx in try tx.sweeperLease(rule: "expire_attempts") }
        #expect(held == SweeperLease(rule: "expire_attempts", holder: "other", leasedUntil: t0 + 30))

        // When it passes again once the lease ran out (by the lease clock, whatever time the pass treats as now)
        environment.clock.advance(by: 30)
        let report = try await Sweeper(context: environment.context, holder: mine).sweep(now: t0 + Self.window)

        // Then it takes the rule over and expires the attempt, and leaves no lease behind
        #expect(report == SweepReport(attemptsExpired: 1, examined: 1))
        #expect(try await Self.stored(environment, intent).status == .requiresPaymentMethod)
        for rule in SweeperRule.allCases {
            #expect(try await environment.database.read { tx in try tx.sweeperLease(rule: rule.rawValue) } == nil)
        }
    }

    @Test(
        "A rule with nothing due takes no lease; one under another holder's lease is skipped before its rows are read"
    )
    func idleRuleTakesNoLease() async throws {
        // Given a due attempt, and another sweeper's live leases on rule a and on rule g (no event is old enough)
        let (environment, _) = try Self.environment()
        let t0 = environment.clock.now
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        for rule in ["expire_attempts", "prune_events"] {
            let taken = try await environment.database.write { tx in
                try tx.takeSweeperLease(rule: rule, holder: "other", now: t0, leasedUntil: t0 + 30)
            }
            #expect(taken)
        }
        let mine = SweeperLeaseHolder(id: "mine", seconds: 30, clock: environment.clock.unixClock)

        // When this sweeper passes
        let report = try await Sweeper(context: environment.context, holder: mine).sweep(now: t0 + Self.window)

        // Then both leased rules are reported skipped (the pass looked at their leases, not at their rows: on
        // PostgreSQL reading the rows locks them), and no rule holds a lease of this sweeper's
        #expect(report == SweepReport(rulesSkipped: [.expireAttempts, .pruneEvents]))
        #expect(try await Self.stored(environment, intent).status == .requiresAction)
        for rule in SweeperRule.allCases {
            let lease = try await environment.database.read { tx in try tx.sweeperLease(rule: rule.rawValue) }
            #expect(lease?.holder != "mine", "\(rule.rawValue): \(String(describing: lease))")
        }
        let events = try await environment.database.read { tx in try tx.sweeperLease(rule: "prune_events") }
        #expect(events == SweeperLease(rule: "prune_events", holder: "other", leasedUntil: t0 + 30))
    }

    // MARK: - The service

    @Test("With an interval of 0 the service is off")
    func serviceOff() throws {
        let (environment, _) = try Self.environment()
        #expect(!SweeperService(context: environment.context, intervalSeconds: 0).isEnabled)
        #expect(SweeperService(context: environment.context, intervalSeconds: 60).isEnabled)
    }

    @Test("The service runs a pass at start and stops when cancelled")
    func serviceRunsAtStart() async throws {
        // Given an attempt that is already due by the environment's clock
        let (environment, _) = try Self.environment()
        let intent = try await Self.pay(environment, Self.threeDSecureCard)
        environment.clock.advance(by: Self.window)
        // When the service runs (its next pass is an hour away)
        let service = SweeperService(context: environment.context, intervalSeconds: 3_600)
        let task = Task { try await service.run() }
        var status = PaymentIntentStatus.requiresAction
        for _ in 0..<200 where status == .requiresAction {
            try await Task.sleep(for: .milliseconds(25))
            status = try await Self.stored(environment, intent).status
        }
        task.cancel()
        try await task.value
        // Then the first pass expired the attempt, and cancelling ended the service
        #expect(status == .requiresPaymentMethod)
    }

    // MARK: - Helpers

    /// Inserts `count` intents that no rule touches: succeeded, canceled, or waiting for a payment method.
    static func insertBackground(_ environment: TestEnvironment, count: Int, now: Int64) async throws {
        let ids = IDGenerator.secure
        try await environment.database.write { tx in
            for index in 0..<count {
                let id = ids.paymentIntent()
                var intent = PaymentIntent(
                    id: id,
                    created: now - Int64(index),
                    amount: 1_000,
                    currency: "usd",
                    clientSecret: ids.clientSecret(for: id)
                )
                switch index % 3 {
                case 0:
                    intent.status = .succeeded
                    intent.amountReceived = 1_000
                    intent.succeededAt = now - Int64(index)
                case 1:
                    intent.status = .canceled
                    intent.canceledAt = now
                default: break
                }
                try tx.insert(intent)
            }
        }
    }

    /// Stores an idempotency key created at `created`, finished (unlocked) or still held until `leaseUntil`
    /// (default: a 30-second lease from `created`). The `recharge` scope keeps its keys forever.
    static func idempotencyKey(
        _ environment: TestEnvironment,
        _ key: String,
        created: Int64,
        finished: Bool,
        leaseUntil: Int64? = nil,
        scope: String = "test"
    ) async throws {
        try await environment.database.write { tx in
            _ = try tx.beginIdempotentRequest(
                apiKey: scope,
                key: key,
                method: "POST",
                path: "/v1/payment_intents",
                fingerprint: "fingerprint",
                requestID: "req_\(key)",
                token: "lease_test",
                now: created,
                lockedUntil: leaseUntil ?? created + 30,
                expiresAt: scope == "recharge" ? nil : created + IdempotencyKeys.apiKeyLifetime
            )
            if finished {
                try tx.finishIdempotentRequest(
                    apiKey: scope,
                    key: key,
                    token: "lease_test",
                    status: 200,
                    body: Array("{}".utf8),
                    paymentIntent: nil
                )
            }
        }
    }

    /// The keys of the stored idempotency rows, sorted.
    static func idempotencyKeys(_ environment: TestEnvironment) throws -> [String] {
        try rawRead(environment) { db in try String.fetchAll(db, sql: "SELECT key FROM idempotency_keys ORDER BY key") }
    }

    /// Reads the database file on a separate read-only connection: what is really stored.
    static func rawRead<T>(_ environment: TestEnvironment, _ body: (Database) throws -> T) throws -> T {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: environment.database.path, configuration: configuration)
        return try queue.read(body)
    }

    @Test("A pass's counts are numbers in its log metadata, so JSON logs show them as numbers")
    func reportCountsAreLogNumbers() {
        let report = SweepReport(attemptsExpired: 3, eventsPruned: 12)
        for (key, count) in [("attempts_expired", "3"), ("events_pruned", "12"), ("examined", "0")] {
            guard case .stringConvertible(let value) = report.metadata[key] else {
                Issue.record("\(key) is \(String(describing: report.metadata[key])), not a number")
                continue
            }
            #expect(value is Int && value.description == count, "\(key)")
        }
    }
}
