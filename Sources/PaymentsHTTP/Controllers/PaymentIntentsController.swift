import Hummingbird
import Payments
import PaymentsCore

/// `/v1/payment_intents`: create, retrieve, update, list, confirm, capture and cancel.
struct PaymentIntentsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.post(":id/confirm", use: confirm)
        routes.post(":id/cancel", use: cancel)
        routes.post(":id/capture", use: capture)
        return routes
    }

    // MARK: - Endpoints

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        let confirm = try params.boolean("confirm") ?? false
        var input = PaymentIntents.CreateInput(
            amount: try params.requiredInteger("amount"),
            currency: try params.requiredCurrency("currency"),
            confirm: confirm
        )
        input.customer = try params.string("customer")
        input.paymentMethod = try params.string("payment_method")
        input.captureMethod = try params.choice("capture_method", CaptureMethod.self) ?? .automatic
        input.confirmationMethod = try params.choice("confirmation_method", ConfirmationMethod.self) ?? .automatic
        input.setupFutureUsage = try params.choice("setup_future_usage", SetupFutureUsage.self)
        input.offSession = try Self.offSession(&params)
        input.returnURL = try params.returnURL()
        input.errorOnRequiresAction = try params.boolean("error_on_requires_action") ?? false
        for (name, value) in [
            ("return_url", input.returnURL != nil), ("error_on_requires_action", input.errorOnRequiresAction),
        ]
        where value && !confirm {
            throw PaymentError.invalidRequest(
                "You can only pass in `\(name)` when `confirm` is set to true.",
                param: name
            )
        }
        input.description = try params.string("description", maxLength: PaymentIntent.maximumDescriptionLength)
        input.receiptEmail = try params.email("receipt_email", maxLength: 800)
        input.statementDescriptor = try params.statementDescriptor("statement_descriptor")
        input.statementDescriptorSuffix = try params.statementDescriptor("statement_descriptor_suffix")
        input.metadata = try params.newMetadata()
        input.shipping = try params.clearableShipping(of: .paymentIntent) ?? nil
        // Stripe.js sends these on create as on confirm; they change nothing for a card payment here
        try params.ignoreStripeJSParameters()
        try Self.readCardOnlyOptions(&params)
        try params.finish()
        let scope = context.intentScope(options: options(request, context, expand))
        return try await respond(scope: scope) {
            try await services.intents.logging(to: context.logger).create(input, scope: scope)
        } render: { intent in
            try await render(intent, request: request, context: context, expand: expand)
        }
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        if context.parameters.get("id") == "search" {
            throw PaymentError.searchNotServed("payment_intents", filters: "customer and created")
        }
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        let clientSecret = try params.string("client_secret")
        try params.finish()
        let id = try context.parameters.require("id")
        try context.requireClientSecretGiven(clientSecret)
        let found = try await services.intents.retrieve(id)
        try Self.authorize(context, intent: found, clientSecret: clientSecret)
        let intent = await services.intents.expiringDueAttempt(found)
        return try await render(intent, request: request, context: context, expand: expand)
    }

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        var input = PaymentIntents.UpdateInput()
        input.amount = try params.integer("amount")
        input.currency = try params.currency("currency")
        input.customer = try params.string("customer")
        input.paymentMethod = try params.string("payment_method")
        input.captureMethod = try params.choice("capture_method", CaptureMethod.self)
        input.description = try params.clearableString("description", maxLength: PaymentIntent.maximumDescriptionLength)
        input.receiptEmail = try params.clearableEmail("receipt_email", maxLength: 800)
        input.statementDescriptor = try params.clearableStatementDescriptor("statement_descriptor")
        input.statementDescriptorSuffix = try params.clearableStatementDescriptor("statement_descriptor_suffix")
        input.setupFutureUsage = try Self.clearableSetupFutureUsage(&params)
        input.shipping = try params.clearableShipping(of: .paymentIntent)
        if let metadata = try params.metadata() {
            input.metadata = metadata.updates
            input.clearMetadata = metadata.clearAll
        }
        try Self.readCardOnlyOptions(&params)
        try params.finish()
        let id = try context.parameters.require("id")
        let scope = context.intentScope(options: options(request, context, expand))
        return try await respond(scope: scope) {
            try await services.intents.update(id, input, scope: scope)
        } render: { intent in
            try await render(intent, request: request, context: context, expand: expand)
        }
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context), list: true)
        let customer = try params.string("customer")
        let created = try ListParameters.created(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let result = try await services.intents.list(customer: customer, created: created, page: page)
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        var items: [JSONValue] = []
        for intent in result.items {
            let bundle = try await services.lookup.bundle(for: intent, expand: options.expand)
            items.append(StripeRenderer.paymentIntent(bundle, options: options))
        }
        return JSONResponse.json(StripeRenderer.list(items, hasMore: result.hasMore, url: "/v1/payment_intents"))
    }

    @Sendable func confirm(_ request: Request, context: StripeRequestContext) async throws -> Response {
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        let clientSecret = try params.string("client_secret")
        var input = PaymentIntents.ConfirmInput()
        input.paymentMethod = try params.string("payment_method")
        input.offSession = try Self.offSession(&params)
        input.returnURL = try params.returnURL()
        input.errorOnRequiresAction = try params.boolean("error_on_requires_action") ?? false
        input.captureMethod = try params.choice("capture_method", CaptureMethod.self)
        input.receiptEmail = try params.email("receipt_email", maxLength: 800)
        input.setupFutureUsage = try Self.clearableSetupFutureUsage(&params)
        input.shipping = try params.clearableShipping(of: .paymentIntent)
        try params.ignoreStripeJSParameters()
        try Self.readCardOnlyOptions(&params)
        try params.finish()
        let id = try context.parameters.require("id")
        if context.scope != .secret {
            try context.requireClientSecretGiven(clientSecret)
            let intent = try await services.intents.retrieve(id)
            try Self.authorize(context, intent: intent, clientSecret: clientSecret)
            if intent.confirmationMethod == .manual {
                throw PaymentError.secretKeyRequired
            }
            try Self.refuseServerDecisions(input, intent: intent)
        }
        let scope = context.intentScope(options: options(request, context, expand))
        return try await respond(scope: scope) {
            try await services.intents.logging(to: context.logger).confirm(id, input, scope: scope)
        } render: { intent in
            try await render(intent, request: request, context: context, expand: expand)
        }
    }

    @Sendable func cancel(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        let reason = try params.choice(
            "cancellation_reason",
            CancellationReason.self,
            allowed: CancellationReason.callerSupplied
        )
        try params.finish()
        let id = try context.parameters.require("id")
        let scope = context.intentScope(options: options(request, context, expand))
        return try await respond(scope: scope) {
            try await services.intents.cancel(id, reason: reason, scope: scope)
        } render: { intent in
            try await render(intent, request: request, context: context, expand: expand)
        }
    }

    @Sendable func capture(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.intentFields(context))
        let amount = try params.integer("amount_to_capture")
        let metadata = try params.metadata()
        // The charge's, as Stripe's capture sets them (the test-mode network prints no statement)
        let descriptors = StatementDescriptors(
            statementDescriptor: try params.statementDescriptor("statement_descriptor"),
            suffix: try params.statementDescriptor("statement_descriptor_suffix")
        )
        if try params.boolean("final_capture") == false {
            // Stripe's multicapture; here a capture always releases what it leaves, which the merchant who meant
            // to capture again later would learn only at that next capture
            throw PaymentError.invalidRequest(
                "final_capture=false needs multicapture, which this service does not offer: each capture is final "
                    + "and releases the amount it leaves.",
                param: "final_capture"
            )
        }
        try params.finish()
        let id = try context.parameters.require("id")
        let scope = context.intentScope(options: options(request, context, expand))
        return try await respond(scope: scope) {
            try await services.intents.capture(
                id,
                amountToCapture: amount,
                metadata: metadata?.updates,
                clearMetadata: metadata?.clearAll ?? false,
                descriptors: descriptors,
                scope: scope
            )
        } render: { intent in
            try await render(intent, request: request, context: context, expand: expand)
        }
    }

    // MARK: - Helpers

    func options(_ request: Request, _ context: StripeRequestContext, _ expand: [String]) -> RenderOptions {
        RenderOptions(request: request, context: context, services: services, expand: expand)
    }

    func render(
        _ intent: PaymentIntent,
        request: Request,
        context: StripeRequestContext,
        expand: [String]
    ) async throws -> Response {
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        let bundle = try await services.lookup.bundle(for: intent, expand: options.expand)
        return JSONResponse.json(StripeRenderer.paymentIntent(bundle, options: options))
    }

    /// How the payment is taken is the merchant's server's to decide: a browser confirming with the client secret
    /// may not make an on-session payment off-session (skipping the 3-D Secure the customer would be asked for), turn
    /// a sale into an authorization (`capture_method=manual`, released after 7 days uncaptured) or choose to fail
    /// rather than ask for 3-D Secure. Stripe.js's confirm sends none of these.
    ///
    /// Nor may it undo the server's `setup_future_usage`: once set, Stripe lets a publishable key change it only from
    /// `on_session` to `off_session`. A page's script unset an `off_session` (the card was then not saved, and the
    /// merchant's later off-session charge had no card) or made it `on_session`.
    static func refuseServerDecisions(_ input: PaymentIntents.ConfirmInput, intent: PaymentIntent) throws {
        if let usage = input.setupFutureUsage, let current = intent.setupFutureUsage, usage != current,
            !(current == .onSession && usage == .offSession)
        {
            throw PaymentError.invalidRequest(
                "setup_future_usage is already \(current.rawValue): with a publishable key it can be changed only "
                    + "from on_session to off_session.",
                code: "secret_key_required",
                param: "setup_future_usage"
            )
        }
        for (param, given) in [
            ("off_session", input.offSession == true), ("capture_method", input.captureMethod != nil),
            ("error_on_requires_action", input.errorOnRequiresAction),
        ] where given {
            throw PaymentError.invalidRequest(
                "\(param) can be set only with a secret key: a client confirming with the PaymentIntent's client "
                    + "secret may not change how the payment is taken.",
                code: "secret_key_required",
                param: param
            )
        }
    }

    /// A publishable key may reach an intent only with its client secret.
    static func authorize(_ context: StripeRequestContext, intent: PaymentIntent, clientSecret: String?) throws {
        try context.requireClientSecret(clientSecret, of: intent.clientSecret, object: "PaymentIntent")
    }

    /// `setup_future_usage` on update and confirm: nil when absent, `.some(nil)` to unset it with `""`.
    static func clearableSetupFutureUsage(_ params: inout Parameters) throws(PaymentError) -> SetupFutureUsage?? {
        guard let usage = try params.rawString("setup_future_usage") else { return nil }
        guard usage.isEmpty || SetupFutureUsage(rawValue: usage) != nil else {
            throw .invalidValue(
                "setup_future_usage",
                "Invalid setup_future_usage: must be one of on_session, off_session"
            )
        }
        return .some(SetupFutureUsage(rawValue: usage))
    }

    /// `off_session`: `true`/`false`, or Stripe's `one_off`/`recurring` (both mean true).
    static func offSession(_ params: inout Parameters) throws(PaymentError) -> Bool? {
        guard let value = try params.rawString("off_session") else { return nil }
        switch value {
        case "true", "one_off", "recurring": return true
        case "false": return false
        default:
            throw .invalidRequest(
                "Invalid off_session: must be a boolean or one of one_off, recurring",
                code: "parameter_invalid_boolean",
                param: "off_session"
            )
        }
    }

    /// `payment_method_types` and `automatic_payment_methods`: cards are the only method, whatever is asked.
    static func readCardOnlyOptions(_ params: inout Parameters) throws(PaymentError) {
        if let types = try params.stringList("payment_method_types"), types.contains(where: { $0 != "card" }) {
            throw .invalidRequest(
                "The payment method type provided: \(types.first { $0 != "card" } ?? "") is invalid. This service "
                    + "accepts only `card`.",
                code: "payment_intent_invalid_parameter",
                param: "payment_method_types"
            )
        }
        if var automatic = try params.nested("automatic_payment_methods") {
            _ = try automatic.boolean("enabled")
            _ = try automatic.choice("allow_redirects", AllowRedirects.self)
            try automatic.finish()
        }
        if var options = try params.nested("payment_method_options") {
            if var card = try options.nested("card") {
                _ = try card.choice("request_three_d_secure", RequestThreeDSecure.self)
                try card.finish()
            }
            try options.finish()
        }
    }

    enum AllowRedirects: String, CaseIterable { case always, never }
    enum RequestThreeDSecure: String, CaseIterable { case automatic, any, challenge }
}
