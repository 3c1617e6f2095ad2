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
        let expand = try Expansion.read(&params, allowed: Expansion.customerFields)
        let fields = try Self.fields(&params)
        let paymentMethod = try params.string("payment_method")
        try params.finish()
        let customer: Customer
        if let made = try await madeByFirstTry(context) {
            // The retry of a create whose first try committed and died before its answer was saved under the key:
            // that try's customer, where a second one was made
            customer = made
        } else {
            customer = try await services.customers.create(fields, paymentMethod: paymentMethod)
        }
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await rendered([customer], options: options)[0])
    }

    /// The customer the first try of this request made, when the request resumes a key that try committed under
    /// (its create's transaction claimed it) without saving its answer; nil for a new key.
    private func madeByFirstTry(_ context: StripeRequestContext) async throws -> Customer? {
        guard let lease = context.idempotency?.lease, lease.claim == nil, let first = lease.firstTry,
            let id = try await services.events.object(
                ofType: "customer.created",
                recordedBy: first.requestID,
                from: first.created,
                within: services.context.settings.idempotencyLease + 60
            )
        else { return nil }
        return try await services.customers.retrieve(id)
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        if context.parameters.get("id") == "search" {
            throw PaymentError.searchNotServed("customers", filters: "email and created")
        }
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.customerFields)
        try params.finish()
        let customer = try await services.customers.retrieve(try context.parameters.require("id"))
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await rendered([customer], options: options)[0])
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.customerFields)
        let fields = try Self.fields(&params)
        try params.finish()
        let customer = try await services.customers.update(try context.parameters.require("id"), fields)
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await rendered([customer], options: options)[0])
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.customerFields, list: true)
        let email = try params.string("email", maxLength: 512)
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.customers.list(email: email, created: created, page: page)
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        let items = try await rendered(result.items, options: options)
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
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields, list: true)
        let cards = try PaymentMethodsController.listsCards(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let id = try context.parameters.require("id")
        let found = try await services.customers.paymentMethods(id, page: page, inURL: true)
        let result = cards ? found : Page(items: [], hasMore: false)
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        let items = try await PaymentMethodsController.rendered(result.items, options: options, services: services)
        return JSONResponse.json(
            StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/customers/\(id)/payment_methods")
        )
    }

    /// `GET /v1/customers/:id/payment_methods/:payment_method`: one of the customer's cards.
    @Sendable func paymentMethod(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields)
        try params.finish()
        let paymentMethod = try await services.customers.paymentMethod(
            try context.parameters.require("payment_method"),
            customer: try context.parameters.require("id")
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(
            try await PaymentMethodsController.rendered([paymentMethod], options: options, services: services)[0]
        )
    }

    /// `customers` rendered, each one's default card expanded when `options` ask
    /// (`invoice_settings.default_payment_method`), and the paths below it (``NestedExpansion``).
    func rendered(_ customers: [Customer], options: RenderOptions) async throws -> [JSONValue] {
        var items: [JSONValue] = []
        items.reserveCapacity(customers.count)
        for customer in customers {
            var item = StripeRenderer.customer(customer)
            if options.expand.contains(Expansion.customerDefaultCard), !customer.deleted,
                let id = customer.defaultPaymentMethod, var settings = item["invoice_settings"]
            {
                let card = try await services.paymentMethods.resolve(id, param: nil)
                settings.set(
                    "default_payment_method",
                    StripeRenderer.paymentMethod(card, options: options.forNestedObjects)
                )
                item.set("invoice_settings", settings)
            }
            let related = try await services.lookup.related(to: .customer(customer), expand: options.expand)
            NestedExpansion.apply(&item, related: related, options: options)
            items.append(item)
        }
        return items
    }

    /// The fields create and update share.
    static func fields(_ params: inout Parameters) throws(PaymentError) -> Customers.Fields {
        var fields = Customers.Fields()
        fields.email = try params.clearableEmail("email", maxLength: 512)
        fields.name = try params.clearableString("name", maxLength: 256)
        fields.phone = try params.clearableString("phone", maxLength: 20)
        fields.description = try params.clearableString("description", maxLength: 350)
        fields.address = try params.clearableAddress("address")
        fields.shipping = try params.clearableShipping(of: .customer)
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
