import Hummingbird
import Payments
import PaymentsCore

/// `/v1/payment_methods`: create a card (publishable key allowed) and retrieve.
struct PaymentMethodsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(use: list)
        routes.get(":id", use: retrieve)
        routes.post(":id", use: update)
        routes.post(":id/attach", use: attach)
        routes.post(":id/detach", use: detach)
        return routes
    }

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        var params = try await RequestParameters.read(request, context: context)
        _ = try Expansion.read(&params, allowed: [])
        let type = try params.requiredString("type")
        guard type == "card" else {
            throw PaymentError.invalidValue("type", "Invalid type: this service accepts only `card` payment methods.")
        }
        guard var card = try params.nested("card") else { throw PaymentError.parameterMissing("card") }
        let number = try card.requiredString("number", maxLength: 40)
        let expMonth = try card.requiredInteger("exp_month")
        let expYear = try card.requiredInteger("exp_year")
        let cvc = try card.string("cvc", maxLength: 8)
        try card.finish()
        let billing = try Self.billingDetails(&params)
        let metadata = try params.newMetadata()
        try params.finish()
        guard let month = Int(exactly: expMonth), let year = Int(exactly: expYear), year < 100_000 else {
            throw PaymentError.card(
                code: "invalid_expiry_year",
                message: "Your card's expiration year is invalid.",
                param: "card[exp_year]"
            )
        }
        let options = RenderOptions(request: request, context: context, services: services)
        let scope = context.paymentMethodScope(options: options)
        return try await respond(scope: scope) {
            try await services.paymentMethods.create(
                .init(
                    card: .init(number: number, expMonth: month, expYear: year, cvc: cvc),
                    billingDetails: billing,
                    metadata: metadata
                ),
                scope: scope
            )
        } render: { paymentMethod in
            JSONResponse.json(StripeRenderer.paymentMethod(paymentMethod, options: options))
        }
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields)
        try params.finish()
        let paymentMethod = try await services.paymentMethods.resolve(try context.parameters.require("id"), param: nil)
        return try await render(paymentMethod, request: request, context: context, expand: expand)
    }

    @Sendable func list(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields, list: true)
        let customer = try params.requiredString("customer")
        let cards = try Self.listsCards(&params)
        let page = try ListParameters.page(&params)
        try params.finish()
        let found = try await services.customers.paymentMethods(customer, page: page, inURL: false)
        let result = cards ? found : Page(items: [], hasMore: false)
        return try await render(result, request: request, context: context, expand: expand, url: "/v1/payment_methods")
    }

    /// A payment method list's `type`: whether the list holds cards. Another of Stripe's types lists nothing here (an
    /// empty list, as Stripe answers a customer without such methods, so code that loops over several types runs);
    /// a type Stripe does not have is a 400.
    static func listsCards(_ params: inout Parameters) throws(PaymentError) -> Bool {
        guard let type = try params.string("type") else { return true }
        if type == "card" { return true }
        guard stripeTypes.contains(type) else {
            throw PaymentError.invalidValue(
                "type",
                "Invalid type: must be one of Stripe's payment method types; this service has only `card`."
            )
        }
        return false
    }

    /// Stripe's payment method types (the `type` enum of its PaymentMethod object).
    static let stripeTypes: Set<String> = [
        "acss_debit", "affirm", "afterpay_clearpay", "alipay", "amazon_pay", "au_becs_debit", "bacs_debit",
        "bancontact", "blik", "boleto", "card", "card_present", "cashapp", "customer_balance", "eps", "fpx",
        "giropay", "grabpay", "ideal", "interac_present", "kakao_pay", "klarna", "konbini", "kr_card", "link",
        "mobilepay", "multibanco", "naver_pay", "oxxo", "p24", "payco", "paynow", "paypal", "pix", "promptpay",
        "revolut_pay", "samsung_pay", "sepa_debit", "sofort", "swish", "twint", "us_bank_account", "wechat_pay", "zip",
    ]

    @Sendable func update(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields)
        let billing = try Self.billingDetailsUpdate(&params)
        var expMonth: Int?
        var expYear: Int?
        if var card = try params.nested("card") {
            expMonth = try card.integer("exp_month").flatMap { Int(exactly: $0) }
            expYear = try card.integer("exp_year").flatMap { Int(exactly: $0) }
            try card.finish()
        }
        let metadata = try params.metadata()
        try params.finish()
        let paymentMethod = try await services.paymentMethods.update(
            try context.parameters.require("id"),
            billingDetails: billing,
            metadata: metadata?.updates,
            clearMetadata: metadata?.clearAll ?? false,
            expMonth: expMonth,
            expYear: expYear
        )
        return try await render(paymentMethod, request: request, context: context, expand: expand)
    }

    @Sendable func attach(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields)
        let customer = try params.requiredString("customer")
        try params.finish()
        let id = try context.parameters.require("id")
        let paymentMethod: PaymentMethod
        do {
            paymentMethod = try await services.paymentMethods.attach(id, customer: customer)
        } catch let error as PaymentError {
            // The retry of an attach whose first try committed and died before its answer was saved: answered as
            // that try, where it was refused as "already attached"
            paymentMethod = try await resumed(error, context: context, id: id) { $0.customer == customer }
        }
        return try await render(paymentMethod, request: request, context: context, expand: expand)
    }

    @Sendable func detach(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await RequestParameters.read(request, context: context)
        let expand = try Expansion.read(&params, allowed: Expansion.paymentMethodFields)
        try params.finish()
        let id = try context.parameters.require("id")
        let paymentMethod: PaymentMethod
        do {
            paymentMethod = try await services.paymentMethods.detach(id)
        } catch let error as PaymentError {
            // As an attach's: a retry was told the card had never been attached
            paymentMethod = try await resumed(error, context: context, id: id) { $0.customer == nil }
        }
        return try await render(paymentMethod, request: request, context: context, expand: expand)
    }

    /// The payment method an attach or a detach refused with `error` answers after all, when the request is the retry
    /// of a try that committed under its `Idempotency-Key` and died before its answer was saved, and the card is as
    /// that try left it (`done`): the key's row is claimed in the change's own transaction, so a key resumed (not new)
    /// means the change committed. Otherwise `error` stands.
    private func resumed(
        _ error: PaymentError,
        context: StripeRequestContext,
        id: String,
        done: (PaymentMethod) -> Bool
    ) async throws -> PaymentMethod {
        guard error.status == 400, let lease = context.idempotency?.lease, lease.claim == nil,
            let current = try? await services.paymentMethods.resolve(id, param: nil), done(current)
        else { throw error }
        return current
    }

    func render(_ paymentMethod: PaymentMethod, request: Request, context: StripeRequestContext, expand: [String])
        async throws -> Response
    {
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
        return JSONResponse.json(try await Self.rendered([paymentMethod], options: options, services: services)[0])
    }

    func render(
        _ page: Page<PaymentMethod>,
        request: Request,
        context: StripeRequestContext,
        expand: [String],
        url: String
    ) async throws -> Response {
        let options = RenderOptions(request: request, context: context, services: services, expand: expand)
            .forListItems
        let items = try await Self.rendered(page.items, options: options, services: services)
        return JSONResponse.json(StripeRenderer.list(items, hasMore: page.hasMore, url: url))
    }

    /// `paymentMethods` rendered, each one's `customer` expanded when `options` ask (each customer read once), and
    /// the paths below it (``NestedExpansion``). A publishable key sees no customer, expanded or not.
    static func rendered(_ paymentMethods: [PaymentMethod], options: RenderOptions, services: HTTPServices)
        async throws -> [JSONValue]
    {
        var customers: [String: JSONValue] = [:]
        var items: [JSONValue] = []
        items.reserveCapacity(paymentMethods.count)
        for paymentMethod in paymentMethods {
            var item = StripeRenderer.paymentMethod(paymentMethod, options: options)
            if options.expand.contains("customer"), !options.publishable, let id = paymentMethod.customer {
                let customer: JSONValue
                if let known = customers[id] {
                    customer = known
                } else {
                    customer = StripeRenderer.customer(try await services.customers.retrieve(id))
                    customers[id] = customer
                }
                item.set("customer", customer)
            }
            let related = try await services.lookup.related(to: .paymentMethod(paymentMethod), expand: options.expand)
            NestedExpansion.apply(&item, related: related, options: options)
            items.append(item)
        }
        return items
    }

    /// `billing_details[name|email|phone|address[...]]`.
    static func billingDetails(_ params: inout Parameters) throws(PaymentError) -> BillingDetails {
        guard var nested = try params.nested("billing_details") else { return BillingDetails() }
        var details = BillingDetails()
        details.name = try nested.string("name", maxLength: 256)
        details.email = try nested.email("email", maxLength: 512)
        details.phone = try nested.string("phone", maxLength: 20)
        if var address = try nested.nested("address") {
            details.address = try address.addressFields()
            try address.finish()
        }
        try nested.finish()
        return details
    }

    /// An update's `billing_details[...]`, merged into the stored ones: each field named is set, or unset when
    /// empty; `billing_details=` unsets them all, `billing_details[address]=` the whole address.
    static func billingDetailsUpdate(_ params: inout Parameters) throws(PaymentError) -> BillingDetails.Update? {
        guard var nested = try params.nested("billing_details") else { return nil }
        var update = BillingDetails.Update()
        update.clearAll = nested.isEmpty
        update.name = try nested.clearableString("name", maxLength: 256)
        update.email = try nested.clearableEmail("email", maxLength: 512)
        update.phone = try nested.clearableString("phone", maxLength: 20)
        if var address = try nested.nested("address") {
            update.clearAddress = address.isEmpty
            // Field by field, as the card's address merges (``Parameters/addressFields()`` reads a whole one)
            update.city = try address.clearableString("city", maxLength: Parameters.AddressLength.city)
            update.country = try address.clearableString("country", maxLength: Parameters.AddressLength.country)
            update.line1 = try address.clearableString("line1", maxLength: Parameters.AddressLength.line)
            update.line2 = try address.clearableString("line2", maxLength: Parameters.AddressLength.line)
            update.postalCode = try address.clearableString(
                "postal_code",
                maxLength: Parameters.AddressLength.postalCode
            )
            update.state = try address.clearableString("state", maxLength: Parameters.AddressLength.state)
            try address.finish()
        }
        try nested.finish()
        return update
    }
}
