import Logging
import PaymentsCore
import Synchronization
import TestSupport
import Testing

@testable import Payments

/// The time limit on every card network call: an answer in time passes through, a late one becomes
/// `card_network_unavailable` at the limit and the late call is cancelled.
@Suite("Card network time limit")
struct TimeLimitedCardNetworkTests {
    /// A network whose authorizations take `delay`, and that counts how its calls ended.
    final class SlowNetwork: CardNetwork {
        let delay: Duration
        let ended = Mutex<(answered: Int, cancelled: Int)>((0, 0))

        init(delay: Duration) { self.delay = delay }

        func lookUp(_ card: CardNumber) -> CardLookup { .refused(.genericDecline) }
        func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? { nil }
        func testCardNumber(forPaymentMethodID id: String) -> String? { nil }

        func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
            do {
                try await Task.sleep(for: delay)
            } catch {
                ended.withLock { $0.cancelled += 1 }
                throw error
            }
            ended.withLock { $0.answered += 1 }
            return .approved(authorizationCode: "auth_\(request.attemptID)")
        }

        func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
            NetworkCapture(amount: amount, reference: reference)
        }
        func void(attemptID: String) async throws -> Bool { true }
        func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
            RefundResult(status: .succeeded)
        }
    }

    static func request(_ id: String) throws -> AuthorizationRequest {
        .sample(id, card: try CardNumber(parsing: "4242424242424242"), now: 1_700_000_000)
    }

    @Test("answers in time pass through, many at once, each call ending once")
    func answersInTime() async throws {
        let slow = SlowNetwork(delay: .milliseconds(5))
        // A limit no loaded test machine reaches for a 5 ms call
        let network = TimeLimitedCardNetwork(base: slow, timeout: .seconds(20))
        try await withThrowingTaskGroup(of: AuthorizationResult.self) { group in
            for index in 0..<50 { group.addTask { try await network.authorize(try Self.request("ch_\(index)")) } }
            for try await result in group { #expect(result != .declined(.genericDecline)) }
        }
        #expect(slow.ended.withLock { $0 } == (answered: 50, cancelled: 0))
        // Nothing is left watched, and no task ticks for calls that are gone
        try await Self.untilIdle(network)
    }

    @Test("late calls among calls in time: each late one times out, the others answer, and the watch then stops")
    func lateAmongTimely() async throws {
        let slow = SlowNetwork(delay: .milliseconds(5))
        let late = SlowNetwork(delay: .seconds(120))
        let timely = TimeLimitedCardNetwork(base: slow, timeout: .seconds(20))
        let limited = TimeLimitedCardNetwork(base: late, timeout: .milliseconds(200))
        let start = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: (Bool, String?).self) { group in
            for index in 0..<40 {
                let network = index % 4 == 0 ? limited : timely
                group.addTask {
                    do {
                        _ = try await network.authorize(try Self.request("ch_\(index)"))
                        return (index % 4 == 0, nil)
                    } catch let error as PaymentError {
                        return (index % 4 == 0, error.code)
                    }
                }
            }
            return try await group.reduce(into: [(Bool, String?)]()) { $0.append($1) }
        }
        #expect(outcomes.count == 40)
        for (isLate, code) in outcomes {
            #expect(code == (isLate ? PaymentError.cardNetworkUnavailableCode : nil))
        }
        // The late ones were answered at their limit (one tick after it at most), not at the end of their call
        #expect(ContinuousClock.now - start < .seconds(60))
        #expect(slow.ended.withLock { $0 } == (answered: 30, cancelled: 0))
        try await Self.untilIdle(timely)
        try await Self.untilIdle(limited)
        // A call after the watch stopped is watched again
        await #expect(throws: PaymentError.self) { try await limited.authorize(try Self.request("ch_again")) }
        try await Self.untilIdle(limited)
    }

    /// Waits (a minute at most) until `network` watches no call and its ticking task has ended.
    static func untilIdle(_ network: TimeLimitedCardNetwork) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while network.calls.watching != (count: 0, ticking: false) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(network.calls.watching == (count: 0, ticking: false))
    }

    @Test("a late call becomes card_network_unavailable at the limit, and is cancelled")
    func lateCall() async throws {
        let slow = SlowNetwork(delay: .seconds(120))
        let network = TimeLimitedCardNetwork(base: slow, timeout: .milliseconds(100))
        let start = ContinuousClock.now
        do {
            _ = try await network.authorize(try Self.request("ch_late"))
            Issue.record("a call that takes 120 s answered within a 100 ms limit")
        } catch let error as PaymentError {
            #expect(error.code == PaymentError.cardNetworkUnavailableCode, "\(error)")
            #expect(error.message.contains("no answer to authorize within"), "\(error)")
        }
        // Well before the call would have answered (a test process under a full run's load was seen to stall
        // for over 10 s, never a minute)
        #expect(ContinuousClock.now - start < .seconds(60))
        // and the late call was cancelled rather than left running
        let deadline = ContinuousClock.now + .seconds(60)
        while slow.ended.withLock({ $0.cancelled }) == 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(slow.ended.withLock { $0 } == (answered: 0, cancelled: 1))
        try await Self.untilIdle(network)
    }

    @Test("a call that fails tells the client which call failed, and only the log what the network's error said")
    func failedCallKeepsItsErrorInTheLog() async throws {
        struct LedgerError: Error, CustomStringConvertible {
            var description: String {
                "SQLite error 19: FOREIGN KEY constraint failed - while executing `INSERT OR IGNORE INTO refunds ...`"
            }
        }
        final class FailingNetwork: CardNetwork {
            func lookUp(_ card: CardNumber) -> CardLookup { .refused(.genericDecline) }
            func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? { nil }
            func testCardNumber(forPaymentMethodID id: String) -> String? { nil }
            func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult { throw LedgerError() }
            func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
                throw LedgerError()
            }
            func void(attemptID: String) async throws -> Bool { throw LedgerError() }
            func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
                throw LedgerError()
            }
        }
        let kept = KeptLog()
        let logger = kept.logger()
        let network = TimeLimitedCardNetwork(base: FailingNetwork(), timeout: .seconds(30), logger: logger)
        do {
            _ = try await network.refund(attemptID: "ch_1", refundID: "re_1", amount: 100, now: 1_700_000_000)
            Issue.record("a failing call answered")
        } catch let error as PaymentError {
            #expect(error.code == PaymentError.cardNetworkUnavailableCode, "\(error)")
            #expect(error.message.contains("refund failed"), "\(error.message)")
            #expect(!error.message.contains("SQLite") && !error.message.contains("INSERT"), "\(error.message)")
        }
        let lines = kept.lines
        #expect(
            lines.contains { $0.level == .error && $0.description.contains("FOREIGN KEY constraint failed") },
            "\(lines)"
        )
        try await Self.untilIdle(network)
    }
}
