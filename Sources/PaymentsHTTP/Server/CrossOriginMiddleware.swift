import HTTPTypes
import Hummingbird

/// Lets a page on another origin call the API and load `payments.js` (CORS), as Stripe's API lets Stripe.js: what
/// `payments.js`'s `baseUrl` option is for.
///
/// Every `/v1` answer, errors included, and every static file carry `Access-Control-Allow-Origin: *` and expose
/// `Request-Id` (and the idempotency and retry headers) to the page's script; a preflight (`OPTIONS`) for a `/v1` path
/// is answered 204, saying which methods and headers a request may use. All of `/v1` rather than only what a
/// publishable key may call: the API authenticates by the `Authorization` header alone, never by a cookie, so a
/// browser's request across origins can do nothing a script outside a browser with the same key cannot, and a key
/// that may not do something is refused whichever origin sent it (Stripe answers every API path the same way). A
/// wildcard is safe for the same reason: no request here carries credentials a browser adds by itself.
///
/// Not `/pay`, `/save-card` or the 3-D Secure pages: they take no key, and are the merchant's own endpoints, called
/// from its own checkout page only.
struct CrossOriginMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .options, Self.isAPI(request.uri.path) else { return try await next(request, context) }
        var headers = HTTPFields()
        headers[.accessControlAllowMethods] = Self.allowedMethods
        headers[.accessControlAllowHeaders] = Self.allowedHeaders
        headers[.accessControlMaxAge] = String(Self.maxAgeSeconds)
        return Response(status: .noContent, headers: headers)
    }

    /// The methods of the API's routes.
    static let allowedMethods = "GET, POST, DELETE"
    /// The request headers the API reads, besides those a browser may always send.
    static let allowedHeaders = "Authorization, Content-Type, Idempotency-Key, Stripe-Version"
    /// The answer headers a page's script may read, besides the few always readable (`Content-Type`, ...).
    static let exposedHeaders = "Request-Id, Idempotent-Replayed, Original-Request, Stripe-Should-Retry"
    /// How long a browser may reuse a preflight's answer for the same URL: ten minutes, so the methods and headers
    /// allowed by a newer release of the server are seen soon after it is deployed. Each intent has its own URLs, so
    /// a longer time would save few preflights anyway.
    static let maxAgeSeconds = 600

    /// Adds the headers every answer across origins needs to an answer to `path`, served by `endpoint` (as
    /// `RequestContext.endpointPath` names it).
    static func apply(to headers: inout HTTPFields, path: String, endpoint: String?) {
        guard isAPI(path) || endpoint == PageHeaders.staticFileEndpoint else { return }
        headers[.accessControlAllowOrigin] = "*"
        headers[.accessControlExposeHeaders] = exposedHeaders
    }

    /// Whether `path` is under `/v1` as the router reads it (empty segments skipped, as the router skips them).
    ///
    /// Read in place, without splitting the path into an array: this runs for every answer.
    static func isAPI(_ path: String) -> Bool {
        let rest = path.utf8.drop { $0 == UInt8(ascii: "/") }
        guard rest.starts(with: "v1".utf8) else { return false }
        let after = rest.dropFirst(2)
        return after.isEmpty || after.first == UInt8(ascii: "/")
    }
}
