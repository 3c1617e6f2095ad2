import HTTPTypes
import Hummingbird
import Metrics
import NIOCore
import PaymentsCore

/// Refuses a client's request with Stripe's 429 `rate_limit` once its token bucket is empty (see ``RateLimiter``).
///
/// It runs before the idempotency middleware, so a refused request never reaches an `Idempotency-Key`: nothing is
/// saved under the key, and the same request retried after the wait runs normally. The answer carries
/// `Retry-After` (whole seconds until a token is back) and `Stripe-Should-Retry: true`, with which the official
/// libraries retry it with their backoff, under the same key.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    /// The buckets; nil while the rate limit is off (every request passes).
    let limiter: RateLimiter?
    /// Whom the bucket belongs to: the authenticated API key, or the client's address.
    let by: Keying

    /// How a request is matched to its bucket.
    enum Keying: CaseIterable {
        /// The key `AuthMiddleware` authenticated (it runs first); a publishable key with the client's address.
        case apiKey
        /// The address the connection comes from: routes without a key.
        case clientAddress
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let limiter else { return try await next(request, context) }
        let client: RateLimiter.Client =
            switch by {
            case .apiKey where context.scope == .publishable:
                .publishableKey(context.apiKeyIndex ?? -1, address: Self.client(context.remoteAddress))
            case .apiKey: .apiKey(context.apiKeyIndex ?? -1)
            case .clientAddress: .address(Self.client(context.remoteAddress))
            }
        switch limiter.take(client) {
        case .allowed:
            return try await next(request, context)
        case .limited(let retryAfter):
            return Self.refusal(retryAfter: retryAfter, by: by.label)
        }
    }

    /// Stripe's 429 for a client over its limit, one token back after `retryAfter` seconds, counted in
    /// `payments_rate_limited_total` under `by`.
    static func refusal(retryAfter: Double, by: String) -> Response {
        Counter(label: "payments_rate_limited_total", dimensions: [("by", by)]).increment()
        var response = JSONResponse.json(StripeRenderer.error(.rateLimited), status: .tooManyRequests)
        response.headers[.retryAfter] = String(max(1, Int(retryAfter.rounded(.up))))
        response.headers[.stripeShouldRetry] = "true"
        return response
    }
}

extension RateLimitMiddleware {
    /// The client as the limit counts it: an IPv4 address, or an IPv6 address's /64 network, which one host or
    /// customer holds whole (counted by address, a script with a /64 had a fresh bucket for each of its 2^64
    /// addresses). An IPv4 address mapped into IPv6 (a server listening on `::`) counts as itself.
    static func client(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        guard case .v6(let v6) = address else { return address.ipAddress ?? "unknown" }
        let bytes = withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
        guard bytes.count == 16 else { return address.ipAddress ?? "unknown" }
        if bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return bytes[12..<16].map { String($0) }.joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map {
            String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
        }
        return groups.joined(separator: ":") + "::/64"
    }
}

extension RateLimitMiddleware {
    /// The metric dimension of a refusal for failed authentications (``AuthMiddleware``), beside ``Keying/label``'s.
    static let failedAuthentication = "failed_authentication"

    /// Every value of `payments_rate_limited_total`'s `by` dimension.
    static var metricLabels: [String] { Keying.allCases.map(\.label) + [failedAuthentication] }
}

extension RateLimitMiddleware.Keying {
    /// The metric dimension's value.
    var label: String {
        switch self {
        case .apiKey: "api_key"
        case .clientAddress: "address"
        }
    }
}

extension PaymentError {
    /// Stripe's answer to a client over its rate limit (HTTP 429, code `rate_limit`).
    static let rateLimited = PaymentError(
        kind: .invalidRequest,
        code: "rate_limit",
        message: "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.",
        status: 429
    )
}

extension HTTPField.Name {
    static let retryAfter = Self("Retry-After")!
}
