import Hummingbird
import Payments
import PaymentsCore

/// `POST /save-card`: the checkout's "save this card for later" — the merchant's endpoint beside `/pay` that saves
/// a card for off-session payments without charging it, through a SetupIntent.
///
/// `{payment_method_id}` creates a customer for the shopper and a SetupIntent for it (`usage=off_session`,
/// confirmed at once), in one transaction. It answers `{requires_action, setup_intent_client_secret, customer}`
/// when the card asks for 3-D Secure (the browser then shows the challenge; the setup succeeds as the customer
/// completes it, so no second call is needed), `{success, setup_intent, customer}` once the card is saved, or `/pay`'s
/// `{error: {message, code, decline_code}}` (402 for a declined card, 400 for the rest). Like `/pay` it needs no API
/// key and runs under the checkout's idempotency scope; it moves no money.
struct SaveCardController {
    let services: HTTPServices

    @Sendable func save(_ request: Request, context: StripeRequestContext) async throws -> Response {
        do {
            var params = try await RequestParameters.read(request, context: context)
            let paymentMethodID = try params.requiredString("payment_method_id")
            try params.finish()
            let setup = try await services.setupIntents.create(
                .init(
                    paymentMethod: paymentMethodID,
                    confirm: true,
                    usage: .offSession,
                    description: "Card saved at the checkout",
                    newCustomer: .init(description: "Shopper who saved a card at the checkout")
                )
            )
            return JSONResponse.json(Self.answerBody(for: setup))
        } catch let error as PaymentError {
            if error.status >= 500 || error.status == 409 { throw error }
            return CheckoutErrorMiddleware.answer(error)
        }
    }

    /// The answer for a setup intent that did not fail: it waits for the customer's challenge, or it succeeded.
    static func answerBody(for setup: SetupIntent) -> JSONValue {
        if setup.status == .requiresAction {
            return .object([
                ("requires_action", true),
                ("setup_intent_client_secret", .string(setup.clientSecret)),
                ("customer", .string(setup.customer)),
            ])
        }
        return .object([
            ("success", true),
            ("setup_intent", .string(setup.id)),
            ("customer", .string(setup.customer)),
        ])
    }
}
