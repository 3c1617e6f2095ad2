import Hummingbird
import Payments
import PaymentsCore

/// Authenticates every `/v1` request with the secret or publishable key; a missing or unknown key is a 401.
///
/// Errors from inside `/v1` are rendered here, with the key's scope known, so an intent inside an error body is
/// redacted for a publishable key exactly as it would be in a success body.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let keys: APIKeys
    let services: HTTPServices

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let scope = try keys.authenticate(authorization: request.headers[.authorization])
        context.scope = scope
        context.apiKeyHash = keys.idempotencyScope(of: scope)
        do {
            return try await next(request, context)
        } catch let error as PaymentError {
            return await StripeMiddleware(services: services).render(error, request: request, context: context)
        }
    }
}
