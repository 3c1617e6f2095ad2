import PaymentsCore
import Synchronization

/// A card network whose every call answers within `timeout`: a late or failed call becomes
/// ``PaymentError/cardNetworkUnavailable(_:)``.
///
/// The timeout is what keeps a live request inside its idempotency lease (it is shorter than the lease, which the
/// settings check), so a second holder never takes over a key whose first holder is still waiting on the network.
/// A call that timed out may still have happened at the network; every call is idempotent on its reference, so
/// asking again (the retry with the same key, the sweeper) finds its answer and never moves money twice.
struct TimeLimitedCardNetwork: CardNetwork {
    let base: any CardNetwork
    let timeout: Duration
    /// The calls in flight, and the task that answers the late ones.
    private let lateCalls: LateCalls

    init(base: any CardNetwork, timeout: Duration) {
        self.base = base
        self.timeout = timeout
        self.lateCalls = LateCalls(timeout: timeout)
    }

    /// Calls in flight, and whether a task is ticking to answer the late ones (for tests).
    var watching: (calls: Int, ticking: Bool) { lateCalls.watching }

    // The card questions are answered locally and at once: nothing to time.
    func lookUp(_ card: CardNumber) -> CardLookup { base.lookUp(card) }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        base.attachDecline(card, cvcProvided: cvcProvided)
    }

    func testCardNumber(forPaymentMethodID id: String) -> String? { base.testCardNumber(forPaymentMethodID: id) }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        try await limited("authorize") { try await base.authorize(request) }
    }

    func capture(attemptID: String, amount: Int64) async throws -> Int64? {
        try await limited("capture") { try await base.capture(attemptID: attemptID, amount: amount) }
    }

    func void(attemptID: String) async throws -> Bool {
        try await limited("void") { try await base.void(attemptID: attemptID) }
    }

    func void(attemptIDs: [String]) async throws -> [String: Bool] {
        try await limited("void") { try await base.void(attemptIDs: attemptIDs) }
    }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        try await limited("refund") {
            try await base.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
        }
    }

    /// Runs `call`, answering with its result or, after `timeout`, with a timeout error, whichever comes first. A
    /// call still running at the timeout is cancelled and left to end on its own: the caller is not held by it.
    private func limited<T: Sendable>(_ name: String, _ call: @escaping @Sendable () async throws -> T)
        async throws -> T
    {
        let (timeout, lateCalls) = (self.timeout, self.lateCalls)
        let outcome: Result<T, any Error> = await withCheckedContinuation { continuation in
            let race = Race(continuation)
            let failure = PaymentError.cardNetworkUnavailable("no answer to \(name) within \(timeout)")
            let watched = lateCalls.watch { race.answer(.failure(failure)) }
            race.work = Task {
                let result: Result<T, any Error>
                do { result = .success(try await call()) } catch { result = .failure(error) }
                lateCalls.forget(watched)
                race.answer(result)
            }
        }
        switch outcome {
        case .success(let value):
            return value
        case .failure(let error as PaymentError):
            throw error
        case .failure(let error):
            throw PaymentError.cardNetworkUnavailable("\(name) failed: \(error)")
        }
    }
}

/// The calls of one ``TimeLimitedCardNetwork`` in flight, each with its deadline, and one task that looks at them
/// every tick (a tenth of the timeout, at most 100 ms) and answers those past it, while any are in flight.
///
/// A timer per call (a task sleeping until its deadline, cancelled when the call answered) cost every call a task,
/// a dispatch timer and a cancellation that woke the sleeper. With it a W1 request took 271 us of the server's CPU,
/// 257 with no time limit at all, and 262 with this watch (`scripts/bench-w1-ab`, medians of 8 rounds). It held
/// memory too: a cancelled sleep's dispatch timer stays queued until its deadline, so at 5,000 calls a second and a
/// 10-second limit some 50,000 of them were pending; the server's peak VmRSS under 15 s of W1 went from 88 to 52 MB
/// with this watch. Here a call costs an entry in a dictionary under a mutex, and a deadline is met within one
/// tick.
///
/// The ticking task runs on the cooperative pool, like the calls. A thread of its own would fire on time even when
/// that pool is starved, which sounds better but is not: the call's own task cannot run then either, and a full
/// test run (its tests block the pool's two threads with fsyncs for seconds) timed out dozens of calls that were
/// merely waiting for a thread.
private final class LateCalls: Sendable {
    private struct Watched {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }

    private struct State {
        var next: UInt64 = 0
        var watched: [UInt64: Watched] = [:]
        var ticking = false
    }

    private let timeout: Duration
    private let tick: Duration
    private let state = Mutex(State())

    init(timeout: Duration) {
        self.timeout = timeout
        self.tick = min(.milliseconds(100), max(.milliseconds(1), timeout / 10))
    }

    /// Watches a call that starts now: `expire` runs once its timeout has passed, unless it was forgotten first.
    /// - Returns: what ``forget(_:)`` takes once the call answered.
    func watch(_ expire: @escaping @Sendable () -> Void) -> UInt64 {
        let deadline = ContinuousClock.now + timeout
        let (id, start) = state.withLock { state -> (UInt64, Bool) in
            let id = state.next
            state.next += 1
            state.watched[id] = Watched(deadline: deadline, expire: expire)
            let start = !state.ticking
            state.ticking = true
            return (id, start)
        }
        if start { Task { await self.run() } }
        return id
    }

    /// Calls watched, and whether the ticking task runs.
    var watching: (calls: Int, ticking: Bool) { state.withLock { ($0.watched.count, $0.ticking) } }

    /// Stops watching a call that answered.
    func forget(_ id: UInt64) {
        _ = state.withLock { $0.watched.removeValue(forKey: id) }
    }

    /// Ticks while calls are watched, answering each one past its deadline.
    private func run() async {
        while true {
            try? await Task.sleep(for: tick)
            let now = ContinuousClock.now
            let (late, more) = state.withLock { state -> ([Watched], Bool) in
                let late = state.watched.filter { $0.value.deadline <= now }
                for id in late.keys { state.watched.removeValue(forKey: id) }
                state.ticking = !state.watched.isEmpty
                return (Array(late.values), state.ticking)
            }
            for call in late { call.expire() }
            guard more else { return }
        }
    }
}

/// The first of a call's answer and its timeout: resumes the waiting caller once, and cancels the call when the
/// timeout came first.
private final class Race<T: Sendable>: Sendable {
    private let state:
        Mutex<(continuation: CheckedContinuation<Result<T, any Error>, Never>?, work: Task<Void, Never>?)>

    init(_ continuation: CheckedContinuation<Result<T, any Error>, Never>) {
        state = Mutex((continuation, nil))
    }

    /// The task running the call, cancelled if the timeout answers first.
    var work: Task<Void, Never>? {
        get { state.withLock { $0.work } }
        set { state.withLock { $0.work = newValue } }
    }

    /// Resumes the caller with `result` if nobody has yet; a timeout that wins cancels the call.
    func answer(_ result: Result<T, any Error>) {
        let (continuation, work) = state.withLock { state in
            defer { state.continuation = nil }
            return (state.continuation, state.work)
        }
        guard let continuation else { return }
        continuation.resume(returning: result)
        if case .failure(let error as PaymentError) = result, error.isTransient { work?.cancel() }
    }
}
