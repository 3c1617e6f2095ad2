import NIOCore

/// The limits on what one request may be, the per-client rate limit and how long a connection may sit idle: the
/// settings `maxBodyBytes`, `maxHeaderBytes`, `maxHeaderCount`, `maxFormParameters`, `rateLimit`, `rateLimitBurst`
/// and `idleTimeout`.
///
/// Stripe's own limits on what a request means (metadata: 50 keys, keys of at most 40 characters, values of at most
/// 500; a list's `limit` 1...100) are not settings: they are part of the API a Stripe client is written against, so a
/// request must be accepted here exactly when Stripe accepts it (see ``Parameters/metadata(_:)`` and
/// `ListParameters`).
public struct HTTPLimits: Sendable, Equatable {
    /// The largest request body accepted (bytes); larger is a 413. Stripe's requests are a few kilobytes; 256 KiB
    /// leaves room for 50 metadata values of 500 characters and still bounds what a client can make the server hold.
    public var maxBodyBytes: Int
    /// The most bytes of header names and values one request may carry; more is a 431. 32 KiB is four times a
    /// browser's largest cookie jar for one site and far above what the Stripe libraries send (well under 1 KiB).
    public var maxHeaderBytes: Int
    /// The most header fields one request may carry; more is a 431. The libraries send about a dozen.
    public var maxHeaderCount: Int
    /// The most form parameters (or JSON values) one body or query may hold; more is a 400. Stripe's objects need a
    /// few dozen; 50 metadata keys plus everything else stays well under 1,000, which bounds the parsing work a
    /// hostile body causes.
    public var maxFormParameters: Int
    /// Requests per second each API key (and, on the routes without a key, each client address) may make; 0 turns
    /// the rate limit off (the development default).
    public var rateLimit: Double
    /// How many requests a key or address may make at once after a pause (the bucket's size); 0 means one second's
    /// worth of `rateLimit` (at least 1).
    public var rateLimitBurst: Double
    /// Seconds a connection may stay open without a request, or with a request whose head or body has stopped
    /// arriving, before the server closes it; 0 keeps idle connections open. A request being answered is never cut,
    /// however long it takes. Without it, connections that send nothing (or a byte now and then) hold a file
    /// descriptor each for as long as their client likes, until the process has none left to accept with. 75 s is
    /// nginx's keep-alive default: the Stripe libraries' keep-alive connections outlast their usual pauses, and a
    /// client whose idle connection was closed opens a new one.
    public var idleTimeout: Double

    /// Creates limits; the defaults are the documented ones.
    public init(
        maxBodyBytes: Int = 256 * 1024,
        maxHeaderBytes: Int = 32 * 1024,
        maxHeaderCount: Int = 100,
        maxFormParameters: Int = 1000,
        rateLimit: Double = 0,
        rateLimitBurst: Double = 0,
        idleTimeout: Double = 75
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxFormParameters = maxFormParameters
        self.rateLimit = rateLimit
        self.rateLimitBurst = rateLimitBurst
        self.idleTimeout = idleTimeout
    }

    /// The bucket size the rate limit runs with: `rateLimitBurst`, or one second's worth of requests.
    public var effectiveBurst: Double { rateLimitBurst > 0 ? rateLimitBurst : max(1, rateLimit) }

    /// Why these limits cannot work, or nil: the setting at fault, with its environment variable, as every other
    /// setting's refusal names it.
    public var problem: String? {
        for (name, variable, value) in [
            ("maxBodyBytes", "PAYMENTS_MAX_BODY_BYTES", maxBodyBytes),
            ("maxHeaderBytes", "PAYMENTS_MAX_HEADER_BYTES", maxHeaderBytes),
        ] where value < 1024 {
            return "\(name) (\(variable)) must be at least 1024: smaller refuses ordinary requests."
        }
        for (name, variable, value) in [
            ("maxHeaderCount", "PAYMENTS_MAX_HEADER_COUNT", maxHeaderCount),
            ("maxFormParameters", "PAYMENTS_MAX_FORM_PARAMETERS", maxFormParameters),
        ] where value < 8 {
            return "\(name) (\(variable)) must be at least 8: fewer refuses ordinary requests."
        }
        // (what 0 means differs: no limit for the rate, one second's worth of requests for the burst)
        for (name, variable, value, zero) in [
            ("rateLimit", "PAYMENTS_RATE_LIMIT", rateLimit, "off"),
            ("rateLimitBurst", "PAYMENTS_RATE_LIMIT_BURST", rateLimitBurst, "one second's worth"),
        ] where !(value >= 0) || !value.isFinite {
            return "\(name) (\(variable)) must be 0 (\(zero)) or a finite positive number, not \(value)."
        }
        if rateLimit > 0, rateLimitBurst > 0, rateLimitBurst < 1 {
            return "rateLimitBurst (PAYMENTS_RATE_LIMIT_BURST) must be at least 1: a smaller bucket never lets a "
                + "request through."
        }
        if !(idleTimeout >= 0) || idleTimeout > 86_400 {
            return "idleTimeout (PAYMENTS_IDLE_TIMEOUT) must be 0 (never) or up to 86400 seconds."
        }
        return nil
    }

    /// The hard limits of the HTTP parser, beyond which a request is refused before it reaches the routes (a bare
    /// 400 and the connection closed): twice the limits above, so everything up to them, and a bit beyond, gets
    /// the Stripe-style 431 of ``RequestLimitsMiddleware`` instead. Saturating: a setting above `Int.max / 2` (no
    /// limit, in effect) stopped the server at start on an arithmetic overflow.
    var parserHeaderBytes: Int { Self.doubled(maxHeaderBytes) }
    var parserHeaderCount: Int { Self.doubled(maxHeaderCount) }

    /// Twice `limit`, or `Int.max` when that overflows.
    static func doubled(_ limit: Int) -> Int {
        let (twice, overflow) = limit.multipliedReportingOverflow(by: 2)
        return overflow ? .max : twice
    }

    /// ``idleTimeout`` as the HTTP server takes it: nil for 0 (never).
    var connectionIdleTimeout: TimeAmount? {
        idleTimeout > 0 ? .nanoseconds(Int64(idleTimeout * 1_000_000_000)) : nil
    }
}
