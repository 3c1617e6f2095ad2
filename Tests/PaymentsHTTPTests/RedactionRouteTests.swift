import Foundation
import HTTPTypes
import PaymentsCore
import TestSupport
import Testing

/// What a publishable key sees inside error bodies, and `/pay`'s statuses for requests it cannot act on.
@Suite("Redaction in errors, /pay error statuses")
struct RedactionRouteTests {
    @Test("A decline answered to a publishable key carries the redacted intent, with or without an idempotency key")
    func declineRedactedForPublishableKey() async throws {
        try await withWire { api in
            // Given an automatic-confirmation intent with metadata, made by the merchant's server
            let card = try await api.card("4000000000009995")
            let created = try await api.post(
                "/v1/payment_intents",
                [("amount", "1200"), ("currency", "usd"), ("payment_method", card), ("metadata[order]", "42")]
            )
            let id = try #require(created.json["id"]?.string)
            let secret = try #require(created.json["client_secret"]?.string)
            // When the browser confirms it with the publishable key and the card declines
            let key = HTTPField.Name("Idempotency-Key")!
            let first = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret)],
                auth: TestHTTP.publishableAuth,
                headers: [key: "redaction-1"]
            )
            let replay = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret)],
                auth: TestHTTP.publishableAuth,
                headers: [key: "redaction-1"]
            )
            #expect(replay.header("Idempotent-Replayed") == "true")
            #expect(replay.json == first.json)
            let answers = [first, replay]
            // Then the error's intent has only the fields a publishable key may read
            for answer in answers {
                #expect(answer.status == 402)
                let intent = answer.error["payment_intent"] ?? .null
                #expect(intent["id"]?.string == id)
                #expect(intent["status"]?.string == "requires_payment_method")
                #expect(!intent.has("metadata"))
                #expect(!intent.has("customer"))
                #expect(!intent.has("amount_received"))
                #expect(!intent.has("latest_charge"))
            }
        }
    }

    @Test("/pay answers 400 for an intent it does not know, in the seed's error shape")
    func payUnknownIntent() async throws {
        try await withWire { api in
            let answer = try await api.postJSON("/pay", #"{"payment_intent_id": "pi_doesnotexist"}"#, auth: nil)
            #expect(answer.status == 400)
            #expect(answer.json["error"]?["code"]?.string == "resource_missing")
            #expect(answer.json["error"]?["message"]?.string?.isEmpty == false)
        }
    }
}
