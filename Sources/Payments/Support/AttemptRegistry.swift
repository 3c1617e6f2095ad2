import Synchronization

/// The charge attempts this process is currently waiting on the card network for.
///
/// A `processing` intent whose attempt is in this set has a confirm running right now: a second confirm loses
/// with `payment_intent_unexpected_state`. One whose attempt is not here was left by a crash (or by another
/// process), and is recovered by asking the network again with the same attempt id.
public final class AttemptRegistry: Sendable {
    private let inFlight = Mutex<Set<String>>([])

    /// Creates an empty registry.
    public init() {}

    /// Marks `attemptID` as in flight; false if it already was.
    public func begin(_ attemptID: String) -> Bool {
        inFlight.withLock { $0.insert(attemptID).inserted }
    }

    /// Marks `attemptID` as finished.
    public func end(_ attemptID: String) {
        _ = inFlight.withLock { $0.remove(attemptID) }
    }

    /// How many attempts are in flight in this process.
    public var count: Int { inFlight.withLock { $0.count } }

    /// Whether `attemptID` is in flight in this process.
    public func contains(_ attemptID: String) -> Bool {
        inFlight.withLock { $0.contains(attemptID) }
    }
}
