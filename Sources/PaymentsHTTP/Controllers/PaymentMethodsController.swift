import Hummingbird
import Payments
import PaymentsCore

/// `/v1/payment_methods`: create a card (publishable key allowed) and retrieve.
struct PaymentMethodsController {
    let services: HTTPServices

    var endpoints: RouteCollection<StripeRequestContext> {
        let routes = RouteCollection(context: StripeRequestContext.self)
        routes.post(use: create)
        routes.get(":id", use: retrieve)
        return routes
    }

    @Sendable func create(_ request: Request, context: StripeRequestContext) async throws -> Response {
        var params = try await ResponseBuilder.parameters(request, context: context)
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
            throw PaymentError.card(code: "invalid_expiry_year", message: "Your card's expiration year is invalid.", param: "card[exp_year]")
        }
        let paymentMethod = try await services.paymentMethods.create(
            .init(
                card: .init(number: number, expMonth: month, expYear: year, cvc: cvc),
                billingDetails: billing,
                metadata: metadata
            )
        )
        let options = ResponseBuilder.options(request: request, context: context, services: services)
        return ResponseBuilder.json(StripeRenderer.paymentMethod(paymentMethod, options: options))
    }

    @Sendable func retrieve(_ request: Request, context: StripeRequestContext) async throws -> Response {
        try context.requireSecretKey()
        var params = try await ResponseBuilder.parameters(request, context: context)
        _ = try Expansion.read(&params, allowed: [])
        try params.finish()
        let paymentMethod = try await services.paymentMethods.resolve(try context.parameters.require("id"), param: nil)
        let options = ResponseBuilder.options(request: request, context: context, services: services)
        return ResponseBuilder.json(StripeRenderer.paymentMethod(paymentMethod, options: options))
    }

    /// `billing_details[name|email|phone|address[...]]`.
    static func billingDetails(_ params: inout Parameters) throws(PaymentError) -> BillingDetails {
        guard var nested = try params.nested("billing_details") else { return BillingDetails() }
        var details = BillingDetails()
        details.name = try nested.string("name", maxLength: 256)
        details.email = try nested.string("email", maxLength: 512)
        details.phone = try nested.string("phone", maxLength: 20)
        if var address = try nested.nested("address") {
            details.address = BillingDetails.Address(
                city: try address.string("city", maxLength: 200),
                country: try address.string("country", maxLength: 2),
                line1: try address.string("line1", maxLength: 200),
                line2: try address.string("line2", maxLength: 200),
                postalCode: try address.string("postal_code", maxLength: 20),
                state: try address.string("state", maxLength: 200)
            )
            try address.finish()
        }
        try nested.finish()
        return details
    }
}
