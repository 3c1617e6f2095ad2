import Foundation
import HTTPTypes
import Testing

/// A confirm that comes after its attempt's confirmation window expires the attempt (a committed change) and is then
/// refused: it executed, so its key keeps that refusal, as a 402's; it does not run again, nor as another request.
@Suite("A late confirm under an Idempotency-Key")
struct LateConfirmKeyRouteTests {
    static let key = HTTPField.Name("Idempotency-Key")!

    @Test("a PaymentIntent's late confirm is saved under its key: replayed, and another body is refused")
    func paymentIntent() async throws {
        try await withWire { api in
            // Given a manual-confirmation intent whose customer completed the challenge
            let intent = try await api.intent([
                ("payment_method", "pm_card_threeDSecure2Required"), ("confirmation_method", "manual"),
                ("confirm", "true"),
            ])
            #expect(intent["status"]?.string == "requires_action", "\(intent)")
            let id = try #require(intent["id"]?.string)
            #expect(try await api.completeChallenge(of: intent).status == 200)

            // When the server's confirm comes after the window, under a key
            api.environment.clock.advance(by: 3_601)
            let late = try await api.post("/v1/payment_intents/\(id)/confirm", headers: [Self.key: "late-\(id)"])
            #expect(late.status == 400, "\(late.text)")
            #expect(late.error["code"]?.string == "payment_intent_payment_attempt_expired", "\(late.text)")

            // Then the same request is a replay of that answer
            let again = try await api.post("/v1/payment_intents/\(id)/confirm", headers: [Self.key: "late-\(id)"])
            #expect(again.status == 400, "\(again.text)")
            #expect(again.header("Idempotent-Replayed") == "true", "\(again.text)")
            #expect(again.text == late.text)

            // And the key with another card is refused as another request's, charging nothing
            let other = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("payment_method", "pm_card_visa")],
                headers: [Self.key: "late-\(id)"]
            )
            #expect(other.status == 400, "\(other.text)")
            #expect(other.error["type"]?.string == "idempotency_error", "\(other.text)")
            #expect(try api.environment.network.approvedCount() == 0)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_payment_method", "\(after.text)")

            // While a new key confirms it with a card
            let retried = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("payment_method", "pm_card_visa")],
                headers: [Self.key: "retry-\(id)"]
            )
            #expect(retried.json["status"]?.string == "succeeded", "\(retried.text)")
        }
    }

    @Test("/pay's late confirm, answered by the handler in the seed's shape, is saved under its key as well")
    func pay() async throws {
        try await withWire { api in
            // Given a /pay payment whose customer completed the challenge
            let (id, secret, challenge) = try await PayAndChallengeRouteTests.payWaitingForChallenge(api)
            let answered = try await api.send(.post, challenge, body: "outcome=complete", auth: nil)
            #expect(answered.status == 200, "\(answered.text)")

            // When the merchant's confirm comes after the window, under a key
            api.environment.clock.advance(by: 3_601)
            let confirm = #"{"payment_intent_id": "\#(id)", "payment_intent_client_secret": "\#(secret)"}"#
            let headers: HTTPFields = [Self.key: "late-pay-\(id)"]
            let late = try await api.postJSON("/pay", confirm, auth: nil, headers: headers)
            #expect(late.status == 400, "\(late.text)")
            #expect(late.error["code"]?.string == "payment_intent_payment_attempt_expired", "\(late.text)")

            // Then the same request is a replay of that answer
            let again = try await api.postJSON("/pay", confirm, auth: nil, headers: headers)
            #expect(again.status == 400, "\(again.text)")
            #expect(again.header("Idempotent-Replayed") == "true", "\(again.text)")
            #expect(again.text == late.text)

            // And the key with a new card is another request's: refused, charging nothing
            let card = try await api.card("4242424242424242")
            let other = try await api.postJSON(
                "/pay",
                #"{"payment_method_id": "\#(card)"}"#,
                auth: nil,
                headers: headers
            )
            #expect(other.status == 400, "\(other.text)")
            #expect(other.error["message"]?.string?.contains("Keys for idempotent requests") == true, "\(other.text)")
            #expect(try api.environment.network.approvedCount() == 0)
            let intents = try await api.get("/v1/payment_intents")
            #expect(intents.json["data"]?.array?.count == 1, "\(intents.text)")
        }
    }

    @Test("a SetupIntent's late confirm says its attempt expired, and is saved under its key")
    func setupIntent() async throws {
        try await withWire { api in
            // Given a SetupIntent waiting for its customer's challenge
            let setup = try await api.setup([("payment_method", "pm_card_threeDSecure2Required"), ("confirm", "true")])
            #expect(setup["status"]?.string == "requires_action", "\(setup)")
            let id = try #require(setup["id"]?.string)

            // When it is confirmed again after the window, under a key
            api.environment.clock.advance(by: 3_601)
            let late = try await api.post("/v1/setup_intents/\(id)/confirm", headers: [Self.key: "late-\(id)"])

            // Then it says the attempt expired, not that a payment method is missing
            #expect(late.status == 400, "\(late.text)")
            #expect(late.error["code"]?.string == "setup_intent_setup_attempt_expired", "\(late.text)")
            #expect(late.error["message"]?.string?.contains("missing a payment method") == false, "\(late.text)")
            let after = try await api.get("/v1/setup_intents/\(id)")
            #expect(after.json["last_setup_error"]?["code"]?.string == "setup_intent_setup_attempt_expired")

            // And the same request is a replay; the key with a card is another request's
            let again = try await api.post("/v1/setup_intents/\(id)/confirm", headers: [Self.key: "late-\(id)"])
            #expect(again.header("Idempotent-Replayed") == "true", "\(again.text)")
            #expect(again.text == late.text)
            let other = try await api.post(
                "/v1/setup_intents/\(id)/confirm",
                [("payment_method", "pm_card_visa")],
                headers: [Self.key: "late-\(id)"]
            )
            #expect(other.error["type"]?.string == "idempotency_error", "\(other.text)")
        }
    }
}
