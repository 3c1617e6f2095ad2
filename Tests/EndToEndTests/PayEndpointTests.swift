import Foundation
import Testing

/// The seed's flow exactly as its client runs it: a PaymentMethod made with the publishable key, `POST /pay`
/// with `{payment_method_id}`, `stripe.handleCardAction` on `requires_action` (read the intent with its client
/// secret, open `next_action`, complete the challenge), then `POST /pay` with `{payment_intent_id}`.
@Suite("Seed flow through POST /pay, against the built binary")
struct PayEndpointTests {
    /// The catalogue's default item (config/catalog.json): the amount `/pay` charges when no `item` is named.
    static let defaultAmount: Int64 = 1400

    @Test(
        "4242: /pay answers {success, payment_intent} and the catalogue's price was charged",
        arguments: TestStore.allCases
    )
    func cardSucceeds(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.succeeds)
            let answer = try await server.client.postJSON("/pay", ["payment_method_id": paymentMethod])
            #expect(answer.status == 200, "\(answer)")
            let body = try answer.json()
            #expect(body["success"]?.bool == true, "\(body)")
            #expect(body["error"] == nil)
            let id = try #require(body["payment_intent"]?.string, "\(body)")
            #expect(id.hasPrefix("pi_"))

            let intent = try await server.paymentIntent(id)
            #expect(intent["status"]?.string == "succeeded", "\(intent)")
            #expect(intent["amount"]?.int == Self.defaultAmount, "\(intent)")
            #expect(intent["amount_received"]?.int == Self.defaultAmount)
            #expect(intent["currency"]?.string == "usd")
            #expect(intent["confirmation_method"]?.string == "manual", "the seed's server confirms manually")
            #expect(intent["payment_method"]?.string == paymentMethod)
        }
    }

    @Test(
        "3155: requires_action, the client handles the card action, /pay {payment_intent_id} succeeds",
        arguments: TestStore.allCases
    )
    func cardNeedsAuthentication(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.needsAuthentication)
            let first = try await server.client.postJSON("/pay", ["payment_method_id": paymentMethod])
            #expect(first.status == 200, "\(first)")
            let body = try first.json()
            #expect(body["requires_action"]?.bool == true, "\(body)")
            #expect(body["success"] == nil, "\(body)")
            let clientSecret = try #require(body["payment_intent_client_secret"]?.string, "\(body)")
            let secretRange = try #require(clientSecret.range(of: "_secret_"), "client secret \(clientSecret)")
            let id = String(clientSecret[..<secretRange.lowerBound])
            #expect(id.hasPrefix("pi_"))

            // stripe.handleCardAction(clientSecret): what the browser can see with the publishable key.
            let seen = try await server.client.get(
                "/v1/payment_intents/\(id)",
                query: [("client_secret", clientSecret)],
                auth: server.publishable
            )
            #expect(seen.status == 200, "\(seen)")
            let intent = try seen.json()
            #expect(intent["status"]?.string == "requires_action", "\(intent)")
            let url = try server.challengeURL(of: intent)
            let answered = try await server.answerChallenge(at: url, outcome: "complete")
            #expect(answered.status == 200, "\(answered)")

            // The client's second call: the server confirms again.
            let second = try await server.client.postJSON("/pay", ["payment_intent_id": id])
            #expect(second.status == 200, "\(second)")
            let done = try second.json()
            #expect(done["success"]?.bool == true, "\(done)")
            #expect(done["payment_intent"]?.string == id, "\(done)")

            let final = try await server.paymentIntent(id)
            #expect(final["status"]?.string == "succeeded", "\(final)")
            #expect(final["amount_received"]?.int == Self.defaultAmount)
        }
    }

    @Test("9995: /pay answers HTTP 402 {error: {message, code, decline_code}}", arguments: TestStore.allCases)
    func cardDeclined(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.insufficientFunds)
            let answer = try await server.client.postJSON("/pay", ["payment_method_id": paymentMethod])
            #expect(answer.status == 402, "\(answer)")
            let body = try answer.json()
            #expect(body["success"] == nil, "\(body)")
            let error = try #require(body["error"], "\(body)")
            #expect(error["message"]?.string?.isEmpty == false, "\(error)")
            #expect(error["code"]?.string == "card_declined", "\(error)")
            #expect(error["decline_code"]?.string == "insufficient_funds", "\(error)")
        }
    }

    @Test("The item decides the price; the client cannot name an amount", arguments: TestStore.allCases)
    func catalogueDecidesAmount(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let mug = try await server.createPaymentMethod(card: SeedCard.succeeds)
            let answer = try await server.client.postJSON("/pay", ["payment_method_id": mug, "item": "mug"])
            #expect(answer.status == 200, "\(answer)")
            let id = try #require(try answer.json()["payment_intent"]?.string, "\(answer)")
            #expect(try await server.paymentIntent(id)["amount"]?.int == 900)

            let cheap = try await server.createPaymentMethod(card: SeedCard.succeeds)
            let refused = try await server.client.postJSON("/pay", ["payment_method_id": cheap, "amount": "1"])
            #expect(refused.status == 400, "\(refused)")
            #expect(try refused.json()["error"]?["message"]?.string?.isEmpty == false, "\(refused)")

            let unknown = try await server.client.postJSON("/pay", ["payment_method_id": cheap, "item": "yacht"])
            #expect(unknown.status == 400, "\(unknown)")

            let list = try await server.client.get("/v1/payment_intents", auth: server.secret)
            #expect(try list.json()["data"]?.array?.count == 1, "only the mug was charged: \(list)")
        }
    }
}
