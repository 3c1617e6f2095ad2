import Hummingbird
import Payments
import PaymentsCore

/// `/v1/charges`: retrieve, list and update (description, metadata, receipt email and shipping: a charge's money
/// changes only through its intent and its refunds), and the older `GET /v1/charges/:id/refunds` that a charge's
/// embedded `refunds` list pages through, with `GET /v1/charges/:id/refunds/:refund` (the library's
/// `Charge.retrieve_refund`) and `POST /v1/charges/:id/refunds` (a refund of the charge, as `POST /v1/refunds`
/// with `charge`: older clients' `charge.refunds.create()`). Secret key only.
struct ChargesController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.get(":id/refunds", use: refunds)
        routes.post(":id/refunds", use: createRefund)
        routes.get(":id/refunds/:refund", use: refund)
        return routes
    }

    @Sendable func createRefund(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        // The path's charge: unknown, it is the URL's 404 (the refund's own check said 400 on `charge`, a parameter
        // this request never sent)
        _ = try await services.charges.retrieve(try context.parameters.require("id"))
        return try await RefundsController.create(
            request,
            context: context,
            services: services,
            charge: try context.parameters.require("id")
        )
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        if context.parameters.get("id") == "search" {
            throw PaymentError.searchNotServed("charges", filters: "customer, payment_intent and created")
        }
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.chargeFields)
        try params.finish()
        let charge = try await services.charges.retrieve(try context.parameters.require("id"))
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        let bundle = try await services.lookup.chargeBundle(for: charge, expand: options.expand)
        return JSONResponse.json(StripeRenderer.charge(bundle, options: options))
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.chargeFields)
        let description = try params.clearableString("description", maxLength: PaymentIntent.maximumDescriptionLength)
        // Read as a PaymentIntent's are: a charge's copies are of its intent's, and Stripe's rules are the same.
        let receiptEmail = try params.clearableEmail("receipt_email", maxLength: 800)
        let shipping = try params.clearableShipping(of: .paymentIntent)
        let metadata = try params.metadata()
        try params.finish()
        let charge = try await services.charges.update(
            try context.parameters.require("id"),
            description: description,
            receiptEmail: receiptEmail,
            shipping: shipping,
            metadata: metadata?.updates,
            clearMetadata: metadata?.clearAll ?? false
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        let bundle = try await services.lookup.chargeBundle(for: charge, expand: options.expand)
        return JSONResponse.json(StripeRenderer.charge(bundle, options: options))
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.chargeFields, list: true)
        let customer = try params.string("customer")
        let paymentIntent = try params.string("payment_intent")
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.charges.list(
            customer: customer,
            paymentIntent: paymentIntent,
            created: created,
            page: page
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        var items: [JSONValue] = []
        for charge in result.items {
            let bundle = try await services.lookup.chargeBundle(for: charge, expand: options.expand)
            items.append(StripeRenderer.charge(bundle, options: options))
        }
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/charges"))
    }

    @Sendable func refunds(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        // Expanded as `GET /v1/refunds` expands its items (`data.charge`, `data.payment_intent`): this list refused
        // every expansion
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields, list: true)
        let page = try ListParameters.page(&params)
        try params.finish()
        let charge = try await services.charges.retrieve(try context.parameters.require("id"))
        let result = try await services.refunds.list(paymentIntent: nil, charge: charge.id, created: nil, page: page)
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        let refunds = RefundsController(services: services)
        var items: [JSONValue] = []
        for refund in result.items { items.append(try await refunds.rendered(refund, options: options)) }
        return JSONResponse.json(
            StripeRenderer.list(items, hasMore: result.hasMore, url: StripeRenderer.refundsURL(of: charge.id))
        )
    }

    /// One refund of the charge: a refund of another charge is missing here, as Stripe answers.
    @Sendable func refund(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.refundFields)
        try params.finish()
        let charge = try await services.charges.retrieve(try context.parameters.require("id"))
        let id = try context.parameters.require("refund")
        let refund = try await services.refunds.retrieve(id)
        guard refund.charge == charge.id else {
            throw PaymentError.resourceMissing("refund", id: id, param: "id", inURL: true)
        }
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await RefundsController(services: services).rendered(refund, options: options))
    }
}
