import Hummingbird
import Payments

/// Builds the service's router: `/v1` (authenticated), `/pay` and `/save-card`, the 3-D Secure pages, the
/// checkout's static files, `/health` (`/health/live`, `/health/ready`), `/metrics` and `/openapi.json`.
public func buildRouter(services: HTTPServices) -> Router<StripeRequestContext> {
    // HEAD answers as GET does, without the content (RFC 9110, 9.3.2): `curl -I` and health checks that send
    // `HEAD /health` got a 404 for every path but the checkout's files.
    let router = Router(context: StripeRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost, so it counts every answer with its final status (errors included, once rendered).
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: ErrorAndRequestIDMiddleware(services: services))
    // Inside the error middleware, so a preflight's answer has a Request-Id and every answer the CORS headers
    router.add(middleware: CrossOriginMiddleware())
    router.add(middleware: RequestLimitsMiddleware(limits: services.limits))
    if let folder = services.publicFolder {
        // The checkout page and its JavaScript client, at their canonical paths only
        router.add(middleware: StaticFilesMiddleware(folder: folder))
    }
    if let registry = services.metrics {
        router.get("metrics") { [scrape = services.beforeMetricsScrape] _, _ in
            scrape?()
            return MetricsEndpoint.response(registry)
        }
    }
    router.get("openapi.json") { _, _ in OpenAPIEndpoint.response() }
    HealthEndpoints.add(to: router, readiness: services.readiness)
    router.get("checkout/config.json") { _, _ in
        CheckoutConfig.response(services: services)
    }
    // The rate limit comes before the idempotency middleware: a 429 never touches an Idempotency-Key.
    let byAddress = RateLimitMiddleware(limiter: services.rateLimiter, by: .clientAddress)
    let byKey = RateLimitMiddleware(limiter: services.rateLimiter, by: .apiKey)
    router.group("pay")
        .add(middleware: byAddress)
        .add(middleware: CheckoutErrorMiddleware())
        .add(middleware: IdempotencyMiddleware(services: services, fixedScope: "pay"))
        .post(use: PayController(services: services).pay)
    router.group("save-card")
        .add(middleware: byAddress)
        .add(middleware: CheckoutErrorMiddleware())
        .add(middleware: IdempotencyMiddleware(services: services, fixedScope: "pay"))
        .post(use: SaveCardController(services: services).save)
    router.group("3ds")
        .add(middleware: byAddress)
        .addRoutes(ChallengeController(services: services).endpoints)
    let v1 = router.group("v1")
        .add(middleware: AuthMiddleware(keys: services.keys, limiter: services.rateLimiter))
        .add(middleware: byKey)
        .add(middleware: IdempotencyMiddleware(services: services, fixedScope: nil))
    v1.addRoutes(PaymentIntentsController(services: services).endpoints, atPath: "payment_intents")
    v1.addRoutes(SetupIntentsController(services: services).endpoints, atPath: "setup_intents")
    v1.addRoutes(PaymentMethodsController(services: services).endpoints, atPath: "payment_methods")
    v1.addRoutes(CustomersController(services: services).endpoints, atPath: "customers")
    v1.addRoutes(RefundsController(services: services).endpoints, atPath: "refunds")
    v1.addRoutes(EventsController(services: services).endpoints, atPath: "events")
    v1.addRoutes(ChargesController(services: services).endpoints, atPath: "charges")
    return router
}
