import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// Fixtures for the customers, saved-card, capture and refund route tests.
extension WireClient {
    /// `DELETE path`.
    func delete(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> WireResponse {
        try await send(.delete, path, body: nil, sourceLocation: sourceLocation)
    }

    /// Creates a customer and returns its id.
    func createCustomer(
        _ form: [(String, String)] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let response = try await post("/v1/customers", form, sourceLocation: sourceLocation)
        try #require(response.status == 200, "create customer: \(response.text)", sourceLocation: sourceLocation)
        return try #require(response.json["id"]?.string, sourceLocation: sourceLocation)
    }

    /// Creates a card PaymentMethod (valid until 12/2030) with `cvc`, or none when nil, and returns its id.
    func card(_ number: String, cvc: String?, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> String
    {
        var form = [("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2030")]
        if let cvc { form.append(("card[cvc]", cvc)) }
        let response = try await post("/v1/payment_methods", form, sourceLocation: sourceLocation)
        try #require(response.status == 200, "create card \(number): \(response.text)", sourceLocation: sourceLocation)
        return try #require(response.json["id"]?.string, sourceLocation: sourceLocation)
    }

    /// `POST /v1/payment_methods/:id/attach`.
    func attach(
        _ paymentMethod: String,
        to customer: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await post(
            "/v1/payment_methods/\(paymentMethod)/attach",
            [("customer", customer)],
            sourceLocation: sourceLocation
        )
    }

    /// Creates a card and attaches it to `customer`; returns the card's id.
    func savedCard(
        _ number: String,
        customer: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let amex = number.hasPrefix("34") || number.hasPrefix("37")
        let id = try await card(number, cvc: amex ? "1234" : "123", sourceLocation: sourceLocation)
        let response = try await attach(id, to: customer, sourceLocation: sourceLocation)
        try #require(response.status == 200, "attach \(number): \(response.text)", sourceLocation: sourceLocation)
        return id
    }

    /// `POST /v1/payment_intents` for 10.00 USD (unless `form` has an `amount`) plus `form`.
    func payment(
        _ form: [(String, String)] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        let amount = form.contains { $0.0 == "amount" } ? [] : [("amount", "1000")]
        return try await post(
            "/v1/payment_intents",
            amount + [("currency", "usd")] + form,
            sourceLocation: sourceLocation
        )
    }

    /// `GET /v1/payment_intents/:id`, optionally expanding `latest_charge`; must answer 200.
    func retrieveIntent(
        _ id: String,
        expandCharge: Bool = false,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireJSON {
        let response = try await get(
            "/v1/payment_intents/\(id)",
            expandCharge ? [("expand[]", "latest_charge")] : [],
            sourceLocation: sourceLocation
        )
        try #require(response.status == 200, "retrieve \(id): \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }

    /// The customer a payment method is attached to now (nil when none).
    func owner(of paymentMethod: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String? {
        let response = try await get("/v1/payment_methods/\(paymentMethod)", sourceLocation: sourceLocation)
        try #require(
            response.status == 200,
            "retrieve \(paymentMethod): \(response.text)",
            sourceLocation: sourceLocation
        )
        return response.json["customer"]?.string
    }

    /// Answers the 3-D Secure challenge of an intent in `requires_action` (no API key, as a browser would).
    func answerChallenge(
        of intent: WireJSON,
        outcome: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        let path = try challengePath(of: intent, sourceLocation: sourceLocation)
        return try await post(path, [("outcome", outcome)], auth: nil, sourceLocation: sourceLocation)
    }
}
