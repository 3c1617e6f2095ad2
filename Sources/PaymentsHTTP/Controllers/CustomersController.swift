import Hummingbird
import Payments
import PaymentsCore

/// `/v1/customers`: create, retrieve, update and list.
struct CustomersController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.delete(":id", use: delete)
        routes.get(":id/payment_methods", use: paymentMethods)
        routes.get(":id/payment_methods/:payment_method", use: paymentMethod)
        return routes
    }

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let fields = try Self.fields(&params)
        let paymentMethod = try params.string("payment_method")
        try params.finish()
        let customer = try await services.customers.create(fields, paymentMethod: paymentMethod)
        return JSONResponse.json(StripeRenderer.customer(customer))
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        if context.parameters.get("id") == "search" {
            throw PaymentError.searchNotServed("customers", filters: "email and created")
        }
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [])
        try params.finish()
        let customer = try await services.customers.retrieve(try context.parameters.require("id"))
        return JSONResponse.json(StripeRenderer.customer(customer))
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let fields = try Self.fields(&params)
        try params.finish()
        let customer = try await services.customers.update(try context.parameters.require("id"), fields)
        return JSONResponse.json(StripeRenderer.customer(customer))
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [], list: true)
        let email = try params.string("email", maxLength: 512)
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.customers.list(email: email, created: created, page: page)
        let items = result.items.map(StripeRenderer.customer)
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/customers"))
    }

    @Sendable func delete(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        let params = try await RequestParameters.read(request, context: context)
        try params.finish()
        let customer = try await services.customers.delete(try context.parameters.require("id"))
        return JSONResponse.json(StripeRenderer.deleted(customer.id, object: "customer"))
    }

    @Sendable func paymentMethods(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [], list: true)
        let cards = try PaymentMethodsController.listsCards(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let id = try context.parameters.require("id")
        let found = try await services.customers.paymentMethods(id, page: page, inURL: true)
        let result = cards ? found : Page(items: [], hasMore: false)
        let options = RenderOptions(request: request, context: context, services: services)
        let items = result.items.map { StripeRenderer.paymentMethod($0, options: options) }
        return JSONResponse.json(
            StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/customers/\(id)/payment_methods")
        )
    }

    /// `GET /v1/customers/:id/payment_methods/:payment_method`: one of the customer's cards.
    @Sendable func paymentMethod(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [])
        try params.finish()
        let paymentMethod = try await services.customers.paymentMethod(
            try context.parameters.require("payment_method"),
            customer: try context.parameters.require("id")
        )
        let options = RenderOptions(request: request, context: context, services: services)
        return JSONResponse.json(StripeRenderer.paymentMethod(paymentMethod, options: options))
    }

    /// The fields create and update share.
    static func fields(_ params: inout Parameters) throws(PaymentError) -> Customers.Fields {
        _ = try Expansion.read(&params, allowed: [])
        var fields = Customers.Fields()
        fields.email = try params.clearableEmail("email", maxLength: 512)
        fields.name = try params.clearableString("name", maxLength: 256)
        fields.phone = try params.clearableString("phone", maxLength: 20)
        fields.description = try params.clearableString("description", maxLength: 350)
        if let metadata = try params.metadata() {
            fields.metadata = metadata.updates
            fields.clearMetadata = metadata.clearAll
        }
        if var settings = try params.nested("invoice_settings") {
            // `invoice_settings=` (JSON null) unsets the hash, so its default card too: it answered 200 and kept the
            // card, which `payments recharge` went on charging
            fields.defaultPaymentMethod =
                settings.isEmpty ? .some(nil) : try settings.clearableString("default_payment_method")
            try settings.finish()
        }
        return fields
    }
}
