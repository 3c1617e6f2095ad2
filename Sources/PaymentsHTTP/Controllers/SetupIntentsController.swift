import Hummingbird
import Payments
import PaymentsCore

/// `/v1/setup_intents`: create, retrieve, update, list, confirm and cancel. A publishable key may retrieve and
/// confirm one with its client secret, as for PaymentIntents (a setup intent has no manual confirmation).
///
/// Setups move no money: the idempotency middleware saves their responses after the handler, as for customers.
struct SetupIntentsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.post(":id/confirm", use: confirm)
        routes.post(":id/cancel", use: cancel)
        return routes
    }

    // MARK: - Endpoints

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields)
        var input = SetupIntents.CreateInput(confirm: try params.boolean("confirm") ?? false)
        input.customer = try params.string("customer")
        input.paymentMethod = try params.string("payment_method")
        input.usage = try params.choice("usage", SetupFutureUsage.self) ?? .offSession
        input.returnURL = try params.returnURL()
        if input.returnURL != nil && !input.confirm {
            throw PaymentError.invalidRequest(
                "You can only pass in `return_url` when `confirm` is set to true.",
                param: "return_url"
            )
        }
        input.description = try params.string("description", maxLength: 1000)
        input.metadata = try params.newMetadata()
        try params.ignoreStripeJSParameters()
        try PaymentIntentsController.readCardOnlyOptions(&params)
        try params.finish()
        let setup = try await services.setupIntents.create(input)
        return try await render(setup, request: request, context: context, expand: expand)
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields)
        let clientSecret = try params.string("client_secret")
        try params.finish()
        try context.requireClientSecretGiven(clientSecret)
        let setup = try await services.setupIntents.retrieve(try context.parameters.require("id"))
        try context.requireClientSecret(clientSecret, of: setup.clientSecret, object: "SetupIntent")
        return try await render(setup, request: request, context: context, expand: expand)
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields)
        var input = SetupIntents.UpdateInput()
        input.customer = try params.string("customer")
        input.paymentMethod = try params.string("payment_method")
        input.description = try params.clearableString("description", maxLength: 1000)
        if let metadata = try params.metadata() {
            input.metadata = metadata.updates
            input.clearMetadata = metadata.clearAll
        }
        try PaymentIntentsController.readCardOnlyOptions(&params)
        try params.finish()
        let setup = try await services.setupIntents.update(try context.parameters.require("id"), input)
        return try await render(setup, request: request, context: context, expand: expand)
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields, list: true)
        let customer = try params.string("customer")
        let paymentMethod = try params.string("payment_method")
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.setupIntents.list(
            customer: customer,
            paymentMethod: paymentMethod,
            created: created,
            page: page
        )
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        var items: [JSONValue] = []
        for setup in result.items {
            let bundle = try await services.lookup.bundle(for: setup, expand: options.expand)
            items.append(StripeRenderer.setupIntent(bundle, options: options))
        }
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/setup_intents"))
    }

    @Sendable func confirm(_ request: Request, context: StripeRequestContext) async throws -> Response {
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields)
        let clientSecret = try params.string("client_secret")
        var input = SetupIntents.ConfirmInput()
        input.paymentMethod = try params.string("payment_method")
        input.returnURL = try params.returnURL()
        try params.ignoreStripeJSParameters()
        try PaymentIntentsController.readCardOnlyOptions(&params)
        try params.finish()
        let id = try context.parameters.require("id")
        if context.scope != .secret {
            try context.requireClientSecretGiven(clientSecret)
            let setup = try await services.setupIntents.retrieve(id)
            try context.requireClientSecret(clientSecret, of: setup.clientSecret, object: "SetupIntent")
        }
        let setup = try await services.setupIntents.confirm(id, input)
        return try await render(setup, request: request, context: context, expand: expand)
    }

    @Sendable func cancel(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.setupIntentFields)
        let reason = try params.choice("cancellation_reason", SetupIntentCancellationReason.self)
        try params.finish()
        let setup = try await services.setupIntents.cancel(try context.parameters.require("id"), reason: reason)
        return try await render(setup, request: request, context: context, expand: expand)
    }

    // MARK: - Helpers

    func render(
        _ setup: SetupIntent,
        request: Request,
        context: StripeRequestContext,
        expand: [String]
    ) async throws -> Response {
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        let bundle = try await services.lookup.bundle(for: setup, expand: options.expand)
        return JSONResponse.json(StripeRenderer.setupIntent(bundle, options: options))
    }
}
