import Foundation
import Hummingbird
import Payments
import PaymentsCore

/// The seed's own endpoint, `POST /pay`: the merchant server of "accept card payments without webhooks".
///
/// `{payment_method_id, item?}` creates and confirms a manual-confirmation intent for the catalogue's price;
/// `{payment_intent_id}` confirms it again after the customer authenticated. It answers
/// `{requires_action, payment_intent_client_secret}`, `{success, payment_intent}` or
/// `{error: {message, code, decline_code}}`, exactly what the seed's client code reads. No API key: it is the
/// merchant's endpoint and uses the secret key's powers inside.
struct PayController {
    let services: HTTPServices

    @Sendable func pay(_ request: Request, context: StripeRequestContext) async throws -> Response {
        do {
            var params = try await ResponseBuilder.parameters(request, context: context)
            let paymentMethodID = try params.string("payment_method_id")
            let intentID = try params.string("payment_intent_id")
            let itemID = try params.string("item")
            try params.finish()
            let intent: PaymentIntent
            if let paymentMethodID {
                guard let item = services.catalog.item(itemID) else {
                    throw PaymentError.invalidValue("item", "Unknown item: \(itemID ?? "").")
                }
                intent = try await services.intents.create(
                    .init(
                        amount: item.amount,
                        currency: item.currency,
                        paymentMethod: paymentMethodID,
                        confirm: true,
                        confirmationMethod: .manual,
                        description: item.name,
                        metadata: ["item": item.id]
                    )
                )
            } else if let intentID {
                intent = try await services.intents.confirm(intentID, .init())
            } else {
                throw PaymentError.parameterMissing("payment_method_id")
            }
            return Self.answer(for: intent)
        } catch let error as PaymentError {
            var body: [(String, JSONValue)] = [("message", .string(error.message))]
            body.append(("code", .string(error.code)))
            body.append(("decline_code", .string(error.declineCode)))
            if let intent = error.paymentIntent { body.append(("payment_intent", .string(intent))) }
            let status: HTTPResponse.Status = error.status == 402 ? .init(code: 402) : error.status == 404 ? .notFound : .badRequest
            return ResponseBuilder.json(.object([("error", .object(body))]), status: status)
        }
    }

    /// The seed's `generateResponse`.
    static func answer(for intent: PaymentIntent) -> Response {
        switch intent.status {
        case .requiresAction:
            return ResponseBuilder.json(
                .object([("requires_action", true), ("payment_intent_client_secret", .string(intent.clientSecret))])
            )
        case .succeeded, .requiresCapture:
            return ResponseBuilder.json(.object([("success", true), ("payment_intent", .string(intent.id))]))
        default:
            return ResponseBuilder.json(
                .object([
                    (
                        "error",
                        .object([
                            ("message", .string(intent.lastPaymentError?.message ?? "Invalid PaymentIntent status")),
                            ("code", .string(intent.lastPaymentError?.code)),
                            ("decline_code", .string(intent.lastPaymentError?.declineCode)),
                        ])
                    )
                ]),
                status: .init(code: 402)
            )
        }
    }
}
