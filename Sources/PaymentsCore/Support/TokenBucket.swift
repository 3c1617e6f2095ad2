/// A token bucket: `capacity` requests at once (the burst), refilled at `rate` requests per second.
///
/// A pure value: it reads no clock, the caller hands it the time (seconds on a monotonic clock), so it is tested
/// without sleeping. A request takes one token; with none left it is refused, and ``Decision/limited(retryAfter:)``
/// says how long until the next token.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens the bucket holds: how many requests may arrive at once after a pause.
    public let capacity: Double
    /// Tokens left as of ``updated``.
    public private(set) var tokens: Double
    /// The time of the last refill (seconds on the caller's monotonic clock).
    public private(set) var updated: Double

    /// What a request gets.
    public enum Decision: Sendable, Equatable {
        /// A token was taken: the request goes ahead.
        case allowed
        /// No token left: the request is refused; one token is back after `retryAfter` seconds.
        case limited(retryAfter: Double)
    }

    /// A full bucket at `now`.
    /// - Parameters:
    ///   - rate: tokens per second; must be positive.
    ///   - capacity: the burst; at least 1, or no request could ever pass.
    public init(rate: Double, capacity: Double, now: Double) {
        self.rate = rate
        self.capacity = max(1, capacity)
        self.tokens = self.capacity
        self.updated = now
    }

    /// Takes one token at `now`, after refilling for the time since the last call.
    public mutating func take(now: Double) -> Decision {
        refill(now: now)
        guard tokens >= 1 else { return .limited(retryAfter: (1 - tokens) / rate) }
        tokens -= 1
        return .allowed
    }

    /// The tokens the bucket holds at `now`, refilled for the time since ``updated`` (at most ``capacity``).
    public func tokens(at now: Double) -> Double {
        min(capacity, tokens + max(0, now - updated) * rate)
    }

    /// Whether the bucket is full again at `now`: its client has been idle long enough that forgetting it changes
    /// nothing (a new bucket starts full).
    public func isFull(at now: Double) -> Bool {
        tokens + max(0, now - updated) * rate >= capacity
    }

    /// Adds the tokens earned since ``updated``; a clock that went backwards adds none.
    private mutating func refill(now: Double) {
        let elapsed = now - updated
        guard elapsed > 0 else { return }
        tokens = min(capacity, tokens + elapsed * rate)
        updated = now
    }
}
