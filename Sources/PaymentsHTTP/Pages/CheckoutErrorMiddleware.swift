import Hummingbird
import PaymentsCore

/// Gives `/pay`'s and `/save-card`'s errors raised before their handlers run (an `Idempotency-Key` that is too long
/// or reused with another body, a body that cannot be parsed or is over the size limit; and, through
/// ``RequestLimitsMiddleware``, header fields over the limits and a `Content-Length` over the size limit) the seed
/// client's shape, `{error: {message, code, decline_code}}` with 400, exactly as the handlers answer the errors they
/// meet. A 409 (the key is in flight) and a 5xx keep Stripe's shape, as the handlers leave those too.
struct CheckoutErrorMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as PaymentError where error.status < 500 && error.status != 409 {
            return Self.answer(error)
        }
    }

    /// The routes whose errors have the seed client's shape, as `RequestContext.endpointPath` names them.
    static let endpoints: Set<String> = ["/pay", "/save-card"]

    /// Whether the request in `context` is one of ``endpoints`` (the router matched it before any middleware ran), so
    /// a refusal made before this middleware (the request limits') takes the seed client's shape too.
    static func answers(_ context: StripeRequestContext) -> Bool {
        context.endpointPath.map { endpoints.contains($0) } ?? false
    }

    /// The seed client's answer to `error`: `{error: {message, code, decline_code}}` with 400 (402 for a decline).
    /// A body over the size limit ends its connection, as the 413 says on `/v1` (``ErrorAndRequestIDMiddleware``).
    static func answer(_ error: PaymentError) -> Response {
        let answer = PayController.errorAnswer(error)
        var response = JSONResponse.json(answer.body, status: .init(code: answer.status))
        if error.status == 413 { response.headers[.connection] = "close" }
        return response
    }
}
