import Synchronization

/// Things in flight that must end within one timeout (card network calls, waits for a database connection), each
/// with its deadline, and one task that looks at them every tick (a tenth of the timeout, at most 100 ms) and
/// expires those past it, while any are watched.
///
/// A timer per call (a task sleeping until its deadline, cancelled when the call answered) cost every call a task,
/// a dispatch timer and a cancellation that woke the sleeper. For the card network's time limit, a W1 request took
/// 271 us of the server's CPU with it, 257 with no time limit at all, and 262 with this watch (`scripts/bench-w1-ab`,
/// medians of 8 rounds). It held memory too: a cancelled sleep's dispatch timer stays queued until its deadline, so at
/// 5,000 calls a second and a 10-second limit some 50,000 of them were pending; the server's peak VmRSS under 15 s of
/// W1 went from 88 to 52 MB with this watch. Here a call costs an entry in a dictionary under a mutex, and a deadline
/// is met within one tick.
///
/// The ticking task runs on the cooperative pool, like the calls. A thread of its own would fire on time even when
/// that pool is starved, which sounds better but is not: the call's own task cannot run then either, and a full
/// test run (its tests block the pool's two threads with fsyncs for seconds) timed out dozens of calls that were
/// merely waiting for a thread.
public final class DeadlineWatch: Sendable {
    /// What ``watch(_:)`` hands back, for ``forget(_:)``.
    public struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Watched {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }

    private struct State {
        var next: UInt64 = 0
        var watched: [UInt64: Watched] = [:]
        var ticking = false
    }

    /// How long each watched thing may take.
    public let timeout: Duration
    private let tick: Duration
    private let state = Mutex(State())

    /// A watch whose things each expire `timeout` after they start.
    public init(timeout: Duration) {
        self.timeout = timeout
        self.tick = min(.milliseconds(100), max(.milliseconds(1), timeout / 10))
    }

    /// Watches something that starts now: `expire` runs once (on the ticking task) when its timeout has passed,
    /// unless it was forgotten first.
    public func watch(_ expire: @escaping @Sendable () -> Void) -> Ticket {
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
        return Ticket(id: id)
    }

    /// Stops watching something that ended in time.
    public func forget(_ ticket: Ticket) {
        _ = state.withLock { $0.watched.removeValue(forKey: ticket.id) }
    }

    /// Things watched, and whether the ticking task runs (for tests).
    public var watching: (count: Int, ticking: Bool) { state.withLock { ($0.watched.count, $0.ticking) } }

    /// Ticks while things are watched, expiring each one past its deadline.
    private func run() async {
        while true {
            let due = ContinuousClock.now + tick
            try? await Task.sleep(until: due, clock: .continuous)
            guard expire(upTo: due) else { return }
        }
    }

    /// Expires what was late at `due`, the moment a tick came due, and answers whether anything is still watched
    /// (if not, the ticking task ends: the next ``watch(_:)`` starts another).
    ///
    /// Not the moment the tick runs: when the cooperative pool is starved for longer than the timeout (a loaded test
    /// run blocks its threads with fsyncs for seconds), the tick and the answers of calls that ended in time wait in
    /// the same queue. An answer that came after the tick was due runs after it, and a tick that read the clock when
    /// it finally ran would expire that call too. (A full `swift test` run once failed four payments that way.)
    func expire(upTo due: ContinuousClock.Instant) -> Bool {
        let (late, more) = state.withLock { state -> ([Watched], Bool) in
            let late = state.watched.filter { $0.value.deadline <= due }
            for id in late.keys { state.watched.removeValue(forKey: id) }
            state.ticking = !state.watched.isEmpty
            return (Array(late.values), state.ticking)
        }
        for watched in late { watched.expire() }
        return more
    }
}
