import Synchronization

/// The charge attempts this process is currently waiting on the card network for.
///
/// A `processing` intent whose attempt is in this set has a confirm running right now: a second confirm loses
/// with `payment_intent_unexpected_state`. One whose attempt is not here was left by a crash (or by another
/// process), and is recovered by asking the network again with the same attempt id.
public final class AttemptRegistry: Sendable {
    private struct State {
        var inFlight: Set<String> = []
        /// Tasks waiting for an attempt to end (``waitUntilEnded(_:)``); empty on the payment path.
        var waiters: [String: [CheckedContinuation<Void, Never>]] = [:]
    }

    private let state = Mutex(State())

    /// Creates an empty registry.
    public init() {}

    /// Marks `attemptID` as in flight; false if it already was.
    public func begin(_ attemptID: String) -> Bool {
        state.withLock { $0.inFlight.insert(attemptID).inserted }
    }

    /// Marks `attemptID` as finished, and wakes the tasks waiting for it.
    public func end(_ attemptID: String) {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.inFlight.remove(attemptID)
            return state.waiters.isEmpty ? [] : state.waiters.removeValue(forKey: attemptID) ?? []
        }
        for waiter in waiting { waiter.resume() }
    }

    /// Returns once `attemptID` is not in flight (at once if it is not). The task that holds it ends it when its
    /// network call (limited in time) and its write are done.
    public func waitUntilEnded(_ attemptID: String) async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            let ended = state.withLock { state -> Bool in
                guard state.inFlight.contains(attemptID) else { return true }
                state.waiters[attemptID, default: []].append(waiter)
                return false
            }
            if ended { waiter.resume() }
        }
    }

    /// How many attempts are in flight in this process.
    public var count: Int { state.withLock { $0.inFlight.count } }

    /// Whether `attemptID` is in flight in this process.
    public func contains(_ attemptID: String) -> Bool {
        state.withLock { $0.inFlight.contains(attemptID) }
    }
}
