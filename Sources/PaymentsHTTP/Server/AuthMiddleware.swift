import Hummingbird
import Payments
import PaymentsCore
import PaymentsStore

/// Authenticates every `/v1` request with the secret or publishable key; a missing or unknown key is a 401.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let keys: APIKeys

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let scope = try keys.authenticate(authorization: request.headers[.authorization])
        context.scope = scope
        context.apiKeyHash = CardVault.sha256Hex(scope == .secret ? keys.secret : keys.publishable)
        return try await next(request, context)
    }
}
