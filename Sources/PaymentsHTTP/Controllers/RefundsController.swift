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
        return routes
    }

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: Expansion.refundFields)
        var input = Refunds.CreateInput()
        input.paymentIntent = try params.string("payment_intent")
        input.charge = try params.string("charge")
        input.amount = try params.integer("amount")
        input.reason = try params.choice("reason", Refund.Reason.self, allowed: Refund.Reason.callerSupplied)
        input.metadata = try params.newMetadata()
        input.currency = try params.string("currency", maxLength: 3)?.lowercased()
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
        _ = try Expansion.read(&params, allowed: Expansion.refundFields)
        try params.finish()
        let refund = try await services.refunds.retrieve(try context.parameters.require("id"))
        return JSONResponse.json(StripeRenderer.refund(refund))
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: Expansion.refundFields)
        let metadata = try params.metadata()
        try params.finish()
        let refund = try await services.refunds.update(
            try context.parameters.require("id"),
            metadata: metadata?.updates,
            clearMetadata: metadata?.clearAll ?? false
        )
        return JSONResponse.json(StripeRenderer.refund(refund))
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: Expansion.refundFields, list: true)
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
        let items = result.items.map(StripeRenderer.refund)
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/refunds"))
    }
}
