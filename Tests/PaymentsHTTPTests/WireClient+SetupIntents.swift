import Foundation
import PaymentsCore
import TestSupport
import Testing

/// Fixtures for the SetupIntents route tests.
extension WireClient {
    /// `POST /v1/setup_intents` with `form`.
    func createSetup(
        _ form: [(String, String)] = [],
        auth: String? = WireClient.secret,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await post("/v1/setup_intents", form, auth: auth, sourceLocation: sourceLocation)
    }

    /// Creates a setup intent that must answer 200 and returns its JSON.
    func setup(_ form: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> WireJSON
    {
        let response = try await createSetup(form, sourceLocation: sourceLocation)
        try #require(response.status == 200, "create setup intent: \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }

    /// `GET /v1/setup_intents/:id` with the secret key; must answer 200.
    func retrieveSetup(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> WireJSON {
        let response = try await get("/v1/setup_intents/\(id)", sourceLocation: sourceLocation)
        try #require(response.status == 200, "retrieve \(id): \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }

    /// Sets `number` up for `customer` with a confirmed SetupIntent, completing the challenge when the card asks for
    /// one; returns the card's id once the setup succeeded.
    func setUpCard(
        _ number: String,
        customer: String,
        usage: String = "off_session",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> String {
        let card = try await self.card(number, sourceLocation: sourceLocation)
        var setup = try await self.setup(
            [("customer", customer), ("payment_method", card), ("usage", usage), ("confirm", "true")],
            sourceLocation: sourceLocation
        )
        if setup["status"]?.string == "requires_action" {
            let answer = try await answerChallenge(of: setup, outcome: "complete", sourceLocation: sourceLocation)
            try #require(answer.status == 200, "challenge: \(answer.text)", sourceLocation: sourceLocation)
            setup = try await retrieveSetup(try #require(setup["id"]?.string), sourceLocation: sourceLocation)
        }
        try #require(setup["status"]?.string == "succeeded", "setup: \(setup)", sourceLocation: sourceLocation)
        return card
    }

    /// The payment method as the store holds it (its `off_session_ready` flag is not on the wire).
    func storedPaymentMethod(_ id: String) async throws -> PaymentMethod? {
        try await environment.context.database.read { tx in try tx.paymentMethod(id) }
    }

    /// An off-session charge of `card` for `customer` (`confirm=true`, `off_session=true`).
    func chargeOffSession(
        _ card: String,
        customer: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await payment(
            [("customer", customer), ("payment_method", card), ("off_session", "true"), ("confirm", "true")],
            sourceLocation: sourceLocation
        )
    }
}
