import Hummingbird
import Payments

/// Builds the service's router: `/v1` (authenticated), `/pay`, the 3-D Secure pages and `/health`.
public func buildRouter(services: HTTPServices) -> Router<StripeRequestContext> {
    let router = Router(context: StripeRequestContext.self)
    router.add(middleware: StripeMiddleware(services: services))
    router.get("health") { _, _ in
        ResponseBuilder.json(.object([("status", "ok")]))
    }
    router.post("pay", use: PayController(services: services).pay)
    router.addRoutes(ChallengeController(services: services).endpoints, atPath: "3ds")
    let v1 = router.group("v1").add(middleware: AuthMiddleware(keys: services.keys))
    v1.addRoutes(PaymentIntentsController(services: services).endpoints, atPath: "payment_intents")
    v1.addRoutes(PaymentMethodsController(services: services).endpoints, atPath: "payment_methods")
    v1.addRoutes(CustomersController(services: services).endpoints, atPath: "customers")
    return router
}
