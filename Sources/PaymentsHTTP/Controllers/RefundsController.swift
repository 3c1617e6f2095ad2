import Hummingbird
import Payments
import PaymentsCore

/// `/v1/refunds`: create, retrieve, update (metadata) and list.
struct RefundsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.post(":id/cancel", use: cancel)
        return routes
    }

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try await Self.create(request, context: context, services: services, charge: nil)
    }

    /// Creates a refund: `POST /v1/refunds`, or Stripe's older `POST /v1/charges/:id/refunds`, which names the
    /// charge in its path (`charge`), and takes neither `charge` nor `payment_intent` in its body.
    static func create(
        _ request: Request,
        context: StripeRequestContext,
        services: HTTPServices,
        charge: String?
    ) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        // A create's answer is saved under its key as the refund alone, inside the refund's transaction, so it
        // cannot show the charge or the intent expanded; said, rather than answered unexpanded
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields)
        if let object = expand.first(where: Expansion.refundObjects.contains) {
            throw PaymentError.invalidRequest(
                "A refund's creation does not expand \(object) here; retrieve the refund with expand[]=\(object).",
                param: "expand"
            )
        }
        var input = Refunds.CreateInput()
        if let charge {
            input.charge = charge
        } else {
            input.paymentIntent = try params.string("payment_intent")
            input.charge = try params.string("charge")
        }
        input.amount = try params.integer("amount")
        input.reason = try params.choice("reason", Refund.Reason.self, allowed: Refund.Reason.callerSupplied)
        input.metadata = try params.newMetadata()
        input.currency = try params.currency("currency")?.lowercased()
        try params.finish()
        let scope = context.refundScope()
        return try await respond(scope: scope) {
            try await services.refunds.create(input, scope: scope)
        } render: { refund in
            JSONResponse.json(StripeRenderer.refund(refund))
        }
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields)
        try params.finish()
        let refund = try await services.refunds.retrieve(try context.parameters.require("id"))
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await rendered(refund, options: options))
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields)
        let metadata = try params.metadata()
        try params.finish()
        let refund = try await services.refunds.update(
            try context.parameters.require("id"),
            metadata: metadata?.updates,
            clearMetadata: metadata?.clearAll ?? false
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await rendered(refund, options: options))
    }

    /// Stripe's `POST /v1/refunds/:id/cancel` (`stripe.Refund.cancel`) cancels only a refund in `requires_action`,
    /// which only payment methods that need the customer's action enter. A card refund never does, so every refund
    /// here is refused as Stripe refuses one in another state: a 400 that changes nothing (it was a 404
    /// "Unrecognized request URL" that read like a wrong base URL); an unknown id is the 404 `resource_missing`.
    @Sendable func cancel(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: Expansion.refundFields)
        try params.finish()
        let refund = try await services.refunds.retrieve(try context.parameters.require("id"))
        throw PaymentError.invalidRequest(
            "You can't cancel this refund because it has a status of \(refund.status.rawValue). Only a refund with a "
                + "status of requires_action can be canceled, and a card refund never enters it."
        )
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields, list: true)
        let paymentIntent = try params.string("payment_intent")
        let charge = try params.string("charge")
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.refunds.list(
            paymentIntent: paymentIntent,
            charge: charge,
            created: created,
            page: page
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        var items: [JSONValue] = []
        for refund in result.items { items.append(try await rendered(refund, options: options)) }
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/refunds"))
    }

    /// `refund` with the objects `options` expand in place of their ids: its charge, its PaymentIntent, and the
    /// objects of paths below them (``NestedExpansion``).
    func rendered(_ refund: Refund, options: RenderOptions) async throws -> JSONValue {
        var json = StripeRenderer.refund(refund)
        let nested = options.forNestedObjects
        if options.expand.contains("charge") {
            let charge = try await services.charges.retrieve(refund.charge)
            let bundle = try await services.lookup.chargeBundle(for: charge, expand: nested.expand)
            json.set("charge", StripeRenderer.charge(bundle, options: nested))
        }
        if options.expand.contains("payment_intent"),
            let intent = try await services.lookup.paymentIntent(
                refund.paymentIntent
            )
        {
            let bundle = try await services.lookup.bundle(for: intent, expand: nested.expand)
            json.set("payment_intent", StripeRenderer.paymentIntent(bundle, options: nested))
        }
        let related = try await services.lookup.related(to: .refund(refund), expand: options.expand)
        NestedExpansion.apply(&json, related: related, options: options)
        return json
    }
}
