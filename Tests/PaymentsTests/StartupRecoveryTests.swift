import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import Synchronization
import TestSupport
import Testing

/// A card network whose behaviour a test switches: `crashing` (the ledger authorizes, then the call throws as if our
/// process died there), `answering` (after `delay`, counting the calls in flight), or `down` (every call fails as one
/// that did not answer in time).
final class SwitchedNetwork: CardNetwork {
    enum Mode: Sendable {
        case crashing
        case answering(delay: Duration)
        case down
    }

    struct SimulatedCrash: Error {}

    let ledger: TestModeCardNetwork
    private let state = Mutex((mode: Mode.crashing, calls: 0, inFlight: 0, mostInFlight: 0))

    init(ledger: TestModeCardNetwork) { self.ledger = ledger }

    func switchTo(_ mode: Mode) { state.withLock { $0 = (mode, 0, 0, 0) } }
    /// Authorizations asked since the last switch, and the most of them in flight at once.
    var calls: (count: Int, mostInFlight: Int) { state.withLock { ($0.calls, $0.mostInFlight) } }

    func lookUp(_ card: CardNumber) -> CardLookup { ledger.lookUp(card) }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        ledger.attachDecline(card, cvcProvided: cvcProvided)
    }

    func testCardNumber(forPaymentMethodID id: String) -> String? { ledger.testCardNumber(forPaymentMethodID: id) }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        let mode = state.withLock { state in
            state.calls += 1
            state.inFlight += 1
            state.mostInFlight = max(state.mostInFlight, state.inFlight)
            return state.mode
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        switch mode {
        case .crashing:
            _ = try await ledger.authorize(request)
            throw SimulatedCrash()
        case .answering(let delay):
            try await Task.sleep(for: delay)
            return try await ledger.authorize(request)
        case .down:
            throw PaymentError.cardNetworkUnavailable("The test's network is down.")
        }
    }

    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        try await ledger.capture(attemptID: attemptID, amount: amount, reference: reference)
    }

    func void(attemptID: String) async throws -> Bool { try await ledger.void(attemptID: attemptID) }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        try await ledger.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
    }
}

@Suite("Start-up recovery")
struct StartupRecoveryTests {
    /// An environment with `count` confirms that died after the network approved them: each intent `processing`
    /// with a pending charge.
    static func crashedPayments(_ count: Int) async throws -> (TestEnvironment, SwitchedNetwork, [String]) {
        let ledgerPath = try TestPaths.temporaryFolder().appendingPathComponent("ledger.sqlite").path
        let network = SwitchedNetwork(ledger: try TestModeCardNetwork(ledgerPath: ledgerPath))
        let environment = try TestEnvironment(network: network)
        var intents: [String] = []
        for index in 0..<count {
            let card = try await environment.card("4242424242424242")
            let created = try await environment.intents.create(
                .init(amount: 1_000 + Int64(index), currency: "usd", paymentMethod: card.id)
            )
            await #expect(throws: PaymentError.self) { try await environment.intents.confirm(created.id, .init()) }
            intents.append(created.id)
        }
        #expect(try network.ledger.approvedCount() == count)
        return (environment, network, intents)
    }

    @Test("pending attempts are asked several at a time, at most width at once, each settled once")
    func settlesConcurrently() async throws {
        // Given 40 payments a crash left pending
        let (environment, network, intents) = try await Self.crashedPayments(40)

        // When the start-up recovery runs with a network that answers in 50 ms
        network.switchTo(.answering(delay: .milliseconds(50)))
        let outcome = try await StartupRecovery(context: environment.context).run()

        // Then each is settled (asked once: 40 at 50 ms one by one took 2 s), several at once and no more than width
        #expect(outcome == StartupRecovery.Outcome(settled: 40))
        #expect(network.calls.count == 40)
        #expect(network.calls.mostInFlight > 1 && network.calls.mostInFlight <= StartupRecovery.width)
        for id in intents {
            #expect(try await environment.intents.retrieve(id).status == .succeeded)
        }
        #expect(try network.ledger.approvedCount() == 40)
    }

    @Test("a network that does not answer is not asked again for each attempt: the rest are the sweeper's")
    func stopsWhenTheNetworkIsDown() async throws {
        // Given 40 payments a crash left pending
        let (environment, network, intents) = try await Self.crashedPayments(40)

        // When the start-up recovery runs while the network does not answer
        network.switchTo(.down)
        let outcome = try await StartupRecovery(context: environment.context).run()

        // Then it stopped after the first calls (one by one, each waited for the network's time limit: 38 pending
        // attempts kept a server from listening for 6 minutes), and every attempt is left pending for the sweeper
        #expect(network.calls.count <= StartupRecovery.width)
        #expect(outcome == StartupRecovery.Outcome(left: 40))
        for id in intents {
            #expect(try await environment.intents.retrieve(id).status == .processing)
        }

        // And once the network answers, a later recovery settles them all, once each
        network.switchTo(.answering(delay: .zero))
        #expect(try await StartupRecovery(context: environment.context).run() == StartupRecovery.Outcome(settled: 40))
        #expect(try network.ledger.approvedCount() == 40)
    }

    @Test("an attempt another task of the process began is left to it: AttemptInFlight, not a failure")
    func attemptInFlightElsewhere() async throws {
        // Given a payment a crash left pending, which another task of this process has begun settling
        let (environment, network, intents) = try await Self.crashedPayments(1)
        network.switchTo(.answering(delay: .zero))
        let charge = try #require(try await environment.intents.retrieve(intents[0]).latestCharge)
        #expect(environment.context.attempts.begin(charge))

        // When the sweeper or start-up recovery, having read it as pending, settles it: it is left to that task
        await #expect(throws: AttemptInFlight(charge: charge)) {
            _ = try await environment.intents.recover(charge: charge)
        }
        #expect(network.calls.count == 0)
        environment.context.attempts.end(charge)
    }

    @Test("a keyed retry that finds its attempt being settled by another task waits for it, then answers the payment")
    func keyedRetryWaitsForTheSettlingTask() async throws {
        // Given a payment a crash left pending, which another task of this process (start-up recovery, say) has
        // begun settling
        let (environment, network, intents) = try await Self.crashedPayments(1)
        network.switchTo(.answering(delay: .zero))
        let charge = try #require(try await environment.intents.retrieve(intents[0]).latestCharge)
        #expect(environment.context.attempts.begin(charge))

        // When the payment's keyed retry comes to settle the same attempt
        let request = CaptureCancelRaceTests.request("key-waits", "/v1/payment_intents/\(intents[0])/confirm")
        guard case .run(let lease) = try await environment.idempotency.begin(request) else {
            Issue.record("expected a new key to run")
            return
        }
        let retry = Task {
            try await environment.idempotency.holding(lease) {
                try await environment.intents.recover(charge: charge, scope: IdempotencyKeysTests.scope(lease))
            }
        }
        // Then it waits while that task holds the attempt (it answered a 400 at once before, for a paid payment)
        try await Task.sleep(for: .milliseconds(100))
        #expect(network.calls.count == 0)
        // and once that task is done without settling it, settles it itself: the payment, authorized once
        environment.context.attempts.end(charge)
        let (intent, error) = try await retry.value
        #expect(error == nil && intent.status == .succeeded)
        #expect(try network.ledger.approvedCount() == 1)
        guard case .replay = try await environment.idempotency.begin(request) else {
            Issue.record("expected the key to replay the payment")
            return
        }
    }

    @Test("start-up recovery and the sweeper's first pass at once: each attempt settled once, none reported unsettled")
    func recoveryBesideTheSweeper() async throws {
        // Given 40 payments a crash left pending, and a network that answers in 20 ms
        let (environment, network, intents) = try await Self.crashedPayments(40)
        network.switchTo(.answering(delay: .milliseconds(20)))

        // When start-up recovery and a sweeper pass (past the pending attempts' grace) run at once, as they do when
        // a server starts: each reads the attempts as pending, then settles them one after another
        let now = environment.clock.now + 2 * Sweeper.pendingChargeGrace
        async let recovered = StartupRecovery(context: environment.context).run()
        async let swept = Sweeper(context: environment.context).sweep(now: now)
        let (outcome, report) = try await (recovered, swept)

        // Then neither reports an attempt it could not settle (the loser of a race logged "could not settle" for
        // attempts the other was settling), and the network approved each payment once
        #expect(outcome.left == 0, "\(outcome)")
        #expect(report.skipped == 0, "\(report)")
        #expect(outcome.settled + report.pendingChargesRecovered >= 40, "\(outcome) \(report)")
        for id in intents {
            #expect(try await environment.intents.retrieve(id).status == .succeeded)
        }
        #expect(try network.ledger.approvedCount() == 40)
    }
}
