import Hummingbird
import Payments
import PaymentsCore

/// `/v1/events`: retrieve and list, with the secret key only (as Stripe).
struct EventsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        return routes
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [])
        try params.finish()
        let event = try await services.events.retrieve(try context.parameters.require("id"))
        let options = RenderOptions(request: request, context: context, services: services)
        let paymentMethods = try await services.events.paymentMethods(of: [event])
        return JSONResponse.json(try StripeRenderer.event(event, paymentMethods: paymentMethods, options: options))
    }

    /// `type` or `types` given but empty.
    static func emptyType(_ param: String) -> PaymentError {
        .invalidRequest(
            "You passed an empty string for '\(param)'. Name an event type, such as payment_intent.succeeded, or a "
                + "pattern, such as payment_intent.*; leave it out to list every event.",
            code: "parameter_invalid_empty",
            param: param
        )
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [], list: true)
        var types: [String] = []
        var fromList = false
        if let type = try params.string("type") {
            guard !type.isEmpty else { throw Self.emptyType("type") }
            types.append(type)
        }
        if let list = try params.stringList("types") {
            guard types.isEmpty else {
                throw PaymentError.invalidRequest(
                    "You may pass either `type` or `types`, but not both.",
                    code: "parameters_exclusive",
                    param: "types"
                )
            }
            // `types=` or `types[]=` named no type: it would have listed every event, or none
            guard !list.isEmpty, !list.contains("") else { throw Self.emptyType("types") }
            guard list.count <= 20 else {
                throw PaymentError.invalidValue("types", "You may pass at most 20 values in `types`.")
            }
            types = list
            fromList = true
        }
        for (index, type) in types.enumerated() where EventTypePattern.isPattern(type) {
            guard EventTypePattern.isValidPattern(type) else {
                throw PaymentError.invalidValue(
                    fromList ? "types[\(index)]" : "type",
                    "Invalid event type pattern: \(type). Use `*` for any text among lowercase letters, digits, `_` "
                        + "and `.`, as in `payment_intent.*`."
                )
            }
        }
        let created = try ListParameters.created(&params)
        // Stripe's filter on webhook deliveries: this service sends no webhooks, so every event counts as delivered
        // (its `pending_webhooks` is 0). `false` lists none, once the rest of the request is checked.
        let delivered = try params.boolean("delivery_success")
        let page = try ListParameters.page(&params)
        try params.finish()
        var result = try await services.events.list(types: types, created: created, page: page)
        if delivered == false { result = Page(items: [], hasMore: false) }
        let options = RenderOptions(request: request, context: context, services: services).forListItems
        let paymentMethods = try await services.events.paymentMethods(of: result.items)
        let items = try result.items.map {
            try StripeRenderer.event($0, paymentMethods: paymentMethods, options: options)
        }
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/events"))
    }
}
