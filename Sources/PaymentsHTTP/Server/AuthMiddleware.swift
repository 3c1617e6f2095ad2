import HTTPTypes
import Hummingbird
import Payments
import PaymentsCore

/// Authenticates every `/v1` request with the secret or publishable key; a missing or unknown key is a 401.
///
/// Errors from inside `/v1` leave with the key's scope attached (``ScopedPaymentError``), so the one place that
/// renders errors redacts an intent inside an error body for a publishable key exactly as in a success body.
///
/// With the rate limit on, failed authentications are limited per client address
/// (``RateLimiter/Client/failedAuthentication(address:)``): once an address has spent its bucket on them, its
/// requests that fail authentication are a 429 instead of the 401, which the libraries back off from. A request
/// with a configured key is never refused for them: behind a reverse proxy every client has the proxy's address,
/// and one client sending a wrong key refused every other client's `/v1` requests when the bucket held them all
/// back. (That a right key passes while wrong ones are refused tells a guesser nothing it can use: production keys
/// are at least 32 characters, their prefix included.) Requests with no key or a wrong one were never limited.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let keys: APIKeys
    /// The buckets; nil while the rate limit is off.
    var limiter: RateLimiter? = nil

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let scope: APIKeys.Scope
        let index: Int
        do {
            (scope, index) = try keys.authenticatedKey(authorization: request.headers[.authorization])
        } catch {
            // Two fields are read as one joined by a comma, which never authenticates: two keys gave "You did not
            // provide an API key" or named the other key's tail as invalid (a probe). Refused as two Host fields are;
            // looked for only here, off the path of every authenticated request
            if request.headers[fields: .authorization].count > 1 {
                throw PaymentError.invalidRequest(
                    "The request has more than one Authorization header field; send exactly one, with one API key."
                )
            }
            let failures = RateLimiter.Client.failedAuthentication(
                address: RateLimitMiddleware.client(context.remoteAddress)
            )
            if let limiter, case .limited(let retryAfter) = limiter.take(failures) {
                return RateLimitMiddleware.refusal(retryAfter: retryAfter, by: RateLimitMiddleware.failedAuthentication)
            }
            throw error
        }
        context.scope = scope
        context.apiKeyIndex = index
        context.idempotencyScope = keys.idempotencyScope(of: scope)
        // A request for a connected account (Stripe Connect) must not act on this one, the only account there is:
        // `Stripe-Account`, or `Stripe-Context`, the newer header for the same (stripe-python's `stripe_context`),
        // which ran on this account
        for header in [HTTPField.Name.stripeAccount, .stripeContext] where request.headers[header] != nil {
            throw ScopedPaymentError(
                error: .invalidRequest(
                    "This service has one account, and no connected accounts: a request with a \(header) "
                        + "header cannot be served. Send it without the header.",
                    code: "account_invalid"
                ),
                scope: scope
            )
        }
        do {
            return try await next(request, context)
        } catch let error as PaymentError {
            throw ScopedPaymentError(error: error, scope: scope)
        }
    }
}

/// A `/v1` error together with the scope of the key that made the request, for rendering.
struct ScopedPaymentError: Error {
    let error: PaymentError
    let scope: APIKeys.Scope
}
