import Dispatch
import PaymentsCore
import Synchronization

/// One token bucket (``TokenBucket``) per client: per secret key on `/v1`, per publishable key and client address
/// there (every shopper's browser sends the one publishable key), per client address on the routes without a key
/// (`/pay`, `/save-card`, the 3-D Secure pages).
///
/// Cheap on the hot path: one lock around one dictionary lookup and a few arithmetic operations, nothing else held.
/// Memory stays bounded however many addresses appear: at ``maximumClients`` buckets, those full again (their
/// clients idle long enough that forgetting them changes nothing) are dropped, and if every bucket is still in use
/// (a flood from more addresses than that within one refill time) the fuller half is dropped: the clients that
/// spent the most keep their buckets, still limited. All were dropped, so a flood from 10,000 addresses gave the
/// busiest client, limited until then, a full bucket again.
public final class RateLimiter: Sendable {
    /// Seconds on a monotonic clock: the limiter's only source of time, injected so tests move it by hand.
    public struct Clock: Sendable {
        let now: @Sendable () -> Double

        /// Creates a clock from a function returning seconds on a monotonic clock.
        public init(_ now: @escaping @Sendable () -> Double) { self.now = now }

        /// The system's monotonic clock (uptime); never jumps with the wall clock.
        public static let monotonic = Clock { Double(DispatchTime.now().uptimeNanoseconds) / 1_000_000_000 }
    }

    /// Who a bucket belongs to.
    public enum Client: Sendable, Hashable {
        /// An API key, by its position among the configured keys (never the key itself).
        case apiKey(Int)
        /// A publishable key (by its position) from one client address: a card-testing script filling its bucket
        /// left every shopper's checkout a 429 when the key had one bucket for all.
        case publishableKey(Int, address: String)
        /// A client address, on the routes that take no key.
        case address(String)
        /// A client address whose `/v1` requests failed authentication (no key, or a key that is not configured):
        /// each failure takes a token, and once they are spent its failures are 429s instead of 401s.
        case failedAuthentication(address: String)
    }

    /// Requests per second per client.
    public let rate: Double
    /// The bucket size: requests a client may make at once.
    public let burst: Double
    private let clock: Clock
    private let buckets = Mutex<[Client: TokenBucket]>([:])

    /// The most clients remembered at once: 10,000 buckets are about a megabyte.
    public static let maximumClients = 10_000

    /// Creates a limiter of `rate` requests per second and bursts of `burst`.
    public init(rate: Double, burst: Double, clock: Clock = .monotonic) {
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
    }

    /// A limiter for `limits`, or nil when the rate limit is off.
    public convenience init?(_ limits: HTTPLimits, clock: Clock = .monotonic) {
        guard limits.rateLimit > 0 else { return nil }
        self.init(rate: limits.rateLimit, burst: limits.effectiveBurst, clock: clock)
    }

    /// Takes one request from `client`'s bucket.
    public func take(_ client: Client) -> TokenBucket.Decision {
        let now = clock.now()
        return buckets.withLock { buckets in
            if buckets.count >= Self.maximumClients, buckets[client] == nil {
                buckets = buckets.filter { !$0.value.isFull(at: now) }
                if buckets.count >= Self.maximumClients {
                    let emptiest = buckets.sorted { $0.value.tokens(at: now) < $1.value.tokens(at: now) }
                    buckets = Dictionary(
                        uniqueKeysWithValues: emptiest.prefix(Self.maximumClients / 2).map { ($0.key, $0.value) }
                    )
                }
            }
            return buckets[client, default: TokenBucket(rate: rate, capacity: burst, now: now)].take(now: now)
        }
    }

    /// How many clients have a bucket now.
    public var clients: Int { buckets.withLock { $0.count } }
}
