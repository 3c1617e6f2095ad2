import Foundation
import Hummingbird
import Payments
import PaymentsCore

/// The seed's own endpoint, `POST /pay`: the merchant server of "accept card payments without webhooks".
///
/// `{payment_method_id, item?}` creates and confirms a manual-confirmation intent for the catalogue's price;
/// `{payment_intent_id, payment_intent_client_secret?}` confirms it again after the customer authenticated. It
/// answers `{requires_action, payment_intent_client_secret}`, `{success, payment_intent}` or
/// `{error: {message, code, decline_code}}`, exactly what the seed's client code reads. No API key: it is the
/// merchant's endpoint and uses the secret key's powers inside, so it trusts nothing but what it made itself: the
/// amount comes from the catalogue, and `payment_intent_id` is confirmed only when `/pay` created that intent (and,
/// when the client secret is sent, only when it matches). Any other intent is refused as unknown, untouched.
struct PayController {
    let services: HTTPServices

    @Sendable func pay(_ request: Request, context: StripeRequestContext) async throws -> Response {
        do {
            var params = try await RequestParameters.read(request, context: context)
            let paymentMethodID = try params.string("payment_method_id")
            let intentID = try params.string("payment_intent_id")
            let clientSecret = try params.string("payment_intent_client_secret")
            let itemID = try params.string("item")
            try params.finish()
            if paymentMethodID != nil, intentID != nil || clientSecret != nil {
                // The seed's two requests are apart: a client resending a mix would pay again, with a new intent
                throw PaymentError.invalidRequest(
                    "Send payment_method_id to pay, or payment_intent_id (with payment_intent_client_secret) to "
                        + "confirm a payment after authentication, not both.",
                    param: intentID != nil ? "payment_intent_id" : "payment_intent_client_secret"
                )
            }
            if intentID != nil, itemID != nil {
                // A confirm pays what its intent was made for: another item named here would not be charged
                throw PaymentError.invalidRequest(
                    "Send item with payment_method_id, to choose what to pay: a confirm (payment_intent_id) pays the "
                        + "amount its payment was made for.",
                    param: "item"
                )
            }
            let scope = context.scope { outcome in
                guard case .paymentIntent(let bundle, let error, _) = outcome else {
                    throw PaymentError.apiError("/pay answers with a PaymentIntent.")
                }
                let answer = error.map { Self.errorAnswer($0) } ?? Self.answerBody(for: bundle.intent)
                return SavedResponse(status: answer.status, body: answer.body.serialized())
            }
            let intent: PaymentIntent
            if let paymentMethodID {
                guard let item = services.catalog.item(itemID) else {
                    throw PaymentError.invalidValue("item", "Unknown item: \(itemID ?? "").")
                }
                intent = try await services.intents.logging(to: context.logger).create(
                    .init(
                        amount: item.amount,
                        currency: item.currency,
                        paymentMethod: paymentMethodID,
                        confirm: true,
                        confirmationMethod: .manual,
                        description: item.name,
                        metadata: ["item": item.id],
                        origin: .pay
                    ),
                    scope: scope
                )
            } else if let intentID {
                let own = try await Self.requireOwnIntent(intentID, clientSecret: clientSecret, services: services)
                if clientSecret == nil { try Self.requireNoOpenChallenge(own, now: services.context.clock.now()) }
                try Self.requireCard(own)
                intent = try await services.intents.logging(to: context.logger).confirm(intentID, .init(), scope: scope)
            } else {
                throw PaymentError.parameterMissing("payment_method_id")
            }
            if let saved = scope?.savedResponse { return JSONResponse.bytes(saved) }
            let answer = Self.answerBody(for: intent)
            return JSONResponse.json(answer.body, status: .init(code: answer.status))
        } catch let error as PaymentError {
            if let saved = context.idempotency?.holder.savedResponse { return JSONResponse.bytes(saved) }
            if error.status >= 500 || error.status == 409 { throw error }
            return CheckoutErrorMiddleware.answer(error)
        }
    }

    /// Refuses an intent `/pay` did not create, or whose client secret (when sent) does not match, exactly as an
    /// unknown one: nothing tells the caller that the id exists.
    /// - Returns: the intent, as read.
    @discardableResult
    static func requireOwnIntent(_ id: String, clientSecret: String?, services: HTTPServices) async throws
        -> PaymentIntent
    {
        let intent = try await services.lookup.paymentIntent(id)
        guard let intent, intent.origin == .pay,
            clientSecret.map({ ConstantTime.equals($0, intent.clientSecret) }) ?? true
        else {
            throw PaymentError.resourceMissing("payment_intent", id: id, param: "payment_intent_id", inURL: false)
        }
        return intent
    }

    /// Refuses, for a request that names an intent by its id alone, to confirm it while its 3-D Secure challenge is
    /// open: confirming again would issue a new challenge and answer its client secret, so anyone who learned the id
    /// (the checkout shows it as the payment's reference) could void the customer's challenge and answer one in
    /// their place. The seed's client posts the id only once the customer has answered the challenge, when the intent
    /// is no longer `requires_action`; a challenge past its window is confirmed as before (the attempt expires).
    static func requireNoOpenChallenge(_ intent: PaymentIntent, now: Int64) throws {
        guard intent.status == .requiresAction, let expiresAt = intent.attemptExpiresAt, now < expiresAt else { return }
        throw PaymentError.invalidRequest(
            "This payment is waiting for the customer's 3-D Secure authentication: it can be confirmed once the "
                + "challenge is answered (or with the intent's client secret).",
            code: "payment_intent_unexpected_state",
            param: "payment_intent_id"
        )
    }

    /// Refuses, in `/pay`'s words, to confirm an intent whose attempt failed and left it without a card (a failed
    /// challenge, a declined card after authentication): the confirm's own refusal names a `payment_method` parameter
    /// `/pay` does not have. An attempt that expired is left to the confirm, which says so.
    static func requireCard(_ intent: PaymentIntent) throws {
        guard intent.status == .requiresPaymentMethod, intent.paymentMethod == nil,
            let failure = intent.lastPaymentError, failure.code != "payment_intent_payment_attempt_expired"
        else { return }
        var error = PaymentError.invalidRequest(
            "This payment has no card to confirm: its last attempt failed (\(failure.code)). Pay again with a new "
                + "payment_method_id.",
            code: "payment_intent_unexpected_state",
            param: "payment_intent_id"
        )
        error.paymentIntent = intent.id
        throw error
    }

    /// The seed client's error shape: `{error: {message, code, decline_code}}`, 402 for card errors and 400 for
    /// the rest (an unknown intent included), as the contract says; `/save-card` answers the same way.
    static func errorAnswer(_ error: PaymentError) -> (status: Int, body: JSONValue) {
        // The API's advice for a saved card (to name its customer) is no parameter these endpoints take
        let message =
            error.code == "payment_method_customer_mismatch"
            ? "This card is saved for a customer, so the checkout cannot use it: enter the card's details again."
            : StripeRenderer.clipped(error.message)
        var body: [(String, JSONValue)] = [("message", .string(message))]
        body.append(("code", .string(error.code)))
        body.append(("decline_code", .string(error.declineCode)))
        if let intent = error.paymentIntent { body.append(("payment_intent", .string(intent))) }
        if let setup = error.setupIntent { body.append(("setup_intent", .string(setup))) }
        let status = error.status == 402 ? 402 : 400
        return (status, .object([("error", .object(body))]))
    }

    /// The seed's `generateResponse`.
    static func answerBody(for intent: PaymentIntent) -> (status: Int, body: JSONValue) {
        switch intent.status {
        case .requiresAction:
            return (
                200,
                .object([("requires_action", true), ("payment_intent_client_secret", .string(intent.clientSecret))])
            )
        case .succeeded, .requiresCapture:
            // The seed's two fields, then what was charged: the page shows this, not the price it loaded (the
            // catalogue may have changed since)
            return (
                200,
                .object([
                    ("success", true), ("payment_intent", .string(intent.id)), ("amount", .int(intent.amount)),
                    ("currency", .string(intent.currency)),
                ])
            )
        default:
            return (
                402,
                .object([
                    (
                        "error",
                        .object([
                            ("message", .string(intent.lastPaymentError?.message ?? "Invalid PaymentIntent status")),
                            ("code", .string(intent.lastPaymentError?.code)),
                            ("decline_code", .string(intent.lastPaymentError?.declineCode)),
                        ])
                    )
                ])
            )
        }
    }
}
