import Foundation
import Testing

/// The seed's three test cards through the Stripe-compatible `/v1` API, the way the seed's server code calls
/// Stripe: a manual-confirmation PaymentIntent created and confirmed at once, confirmed again after 3-D Secure.
/// Authentication is HTTP Basic with the key as user name, as `curl -u sk_...:` sends.
@Suite("Seed flow over /v1, against the built binary")
struct SeedFlowAPITests {
    private func createIntent(_ server: ServerProcess, paymentMethod: String) async throws -> HTTPAnswer {
        try await server.client.postForm(
            "/v1/payment_intents",
            [
                ("amount", "1099"),
                ("currency", "usd"),
                ("payment_method", paymentMethod),
                ("confirmation_method", "manual"),
                ("confirm", "true"),
            ],
            auth: .basic(server.secretKey)
        )
    }

    @Test("4242 4242 4242 4242 succeeds at once", arguments: TestStore.allCases)
    func cardSucceeds(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.succeeds)
            let answer = try await createIntent(server, paymentMethod: paymentMethod)
            #expect(answer.status == 200, "\(answer)")
            #expect(answer.header("Request-Id")?.hasPrefix("req_") == true, "\(answer.headers)")
            let intent = try answer.json()
            let id = try #require(intent["id"]?.string)
            #expect(id.hasPrefix("pi_"))
            #expect(intent["object"]?.string == "payment_intent")
            #expect(intent["status"]?.string == "succeeded", "\(intent)")
            #expect(intent["amount"]?.int == 1099)
            #expect(intent["amount_received"]?.int == 1099)
            #expect(intent["currency"]?.string == "usd")
            #expect(intent["confirmation_method"]?.string == "manual")
            #expect(intent["payment_method"]?.string == paymentMethod)
            #expect(intent["latest_charge"]?.string?.hasPrefix("ch_") == true, "\(intent)")
            #expect(intent["client_secret"]?.string?.hasPrefix("\(id)_secret_") == true)
            #expect(intent["next_action"]?.isNull == true)

            let retrieved = try await server.paymentIntent(id)
            #expect(retrieved == intent, "retrieving gives back what create answered")
        }
    }

    @Test("Stripe's test PaymentMethod id pm_card_visa works like the card number", arguments: TestStore.allCases)
    func testPaymentMethodID(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let answer = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1099"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                auth: .basic(server.secretKey)
            )
            #expect(answer.status == 200, "\(answer)")
            let intent = try answer.json()
            #expect(intent["status"]?.string == "succeeded", "\(intent)")
            #expect(intent["amount_received"]?.int == 1099)
        }
    }

    @Test(
        "4000 0025 0000 3155 needs 3-D Secure: challenge completed, confirmed again, succeeds",
        arguments: TestStore.allCases
    )
    func cardNeedsAuthentication(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.needsAuthentication)
            let created = try await createIntent(server, paymentMethod: paymentMethod)
            #expect(created.status == 200, "\(created)")
            let intent = try created.json()
            let id = try #require(intent["id"]?.string, "\(created)")
            #expect(intent["status"]?.string == "requires_action", "\(intent)")
            #expect(intent["amount_received"]?.int == 0)
            let url = try server.challengeURL(of: intent)

            let answered = try await server.answerChallenge(at: url, outcome: "complete")
            #expect(answered.status == 200, "\(answered)")
            #expect(answered.text.contains("complete"), "\(answered.text)")

            let authenticated = try await server.paymentIntent(id)
            #expect(authenticated["status"]?.string == "requires_confirmation", "\(authenticated)")
            #expect(authenticated["next_action"]?.isNull == true, "\(authenticated)")

            // The seed's server confirms again (a manual-confirmation intent needs the secret key for that).
            let confirmed = try await server.client.postForm(
                "/v1/payment_intents/\(id)/confirm",
                auth: .basic(server.secretKey)
            )
            #expect(confirmed.status == 200, "\(confirmed)")
            let final = try confirmed.json()
            #expect(final["status"]?.string == "succeeded", "\(final)")
            #expect(final["amount_received"]?.int == 1099)
            #expect(final["latest_charge"]?.string?.hasPrefix("ch_") == true)

            #expect(try await server.paymentIntent(id)["status"]?.string == "succeeded")
        }
    }

    @Test("A failed 3-D Secure challenge leaves the intent requires_payment_method", arguments: TestStore.allCases)
    func authenticationFails(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.needsAuthentication)
            let intent = try await createIntent(server, paymentMethod: paymentMethod).json()
            let id = try #require(intent["id"]?.string, "\(intent)")
            let url = try server.challengeURL(of: intent)

            let answered = try await server.answerChallenge(at: url, outcome: "fail")
            #expect(answered.status == 200, "\(answered)")

            let failed = try await server.paymentIntent(id)
            #expect(failed["status"]?.string == "requires_payment_method", "\(failed)")
            #expect(
                failed["last_payment_error"]?["code"]?.string == "payment_intent_authentication_failure",
                "\(failed)"
            )
            #expect(failed["amount_received"]?.int == 0)
            // The used link is gone.
            let again = try await server.client.get(url)
            #expect(again.status == 404, "\(again)")
        }
    }

    @Test(
        "4000 0000 0000 9995 is declined: 402 card_declined / insufficient_funds carrying the intent",
        arguments: TestStore.allCases
    )
    func cardDeclined(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let paymentMethod = try await server.createPaymentMethod(card: SeedCard.insufficientFunds)
            let answer = try await createIntent(server, paymentMethod: paymentMethod)
            #expect(answer.status == 402, "\(answer)")
            let error = try #require(try answer.json()["error"], "\(answer)")
            #expect(error["type"]?.string == "card_error", "\(error)")
            #expect(error["code"]?.string == "card_declined")
            #expect(error["decline_code"]?.string == "insufficient_funds")
            #expect(error["message"]?.string?.isEmpty == false)
            let intent = try #require(error["payment_intent"], "\(error)")
            let id = try #require(intent["id"]?.string, "\(intent)")
            #expect(id.hasPrefix("pi_"))
            #expect(intent["status"]?.string == "requires_payment_method", "\(intent)")
            #expect(intent["amount_received"]?.int == 0)

            let stored = try await server.paymentIntent(id)
            #expect(stored["status"]?.string == "requires_payment_method", "\(stored)")
            #expect(stored["last_payment_error"]?["decline_code"]?.string == "insufficient_funds", "\(stored)")
        }
    }

    @Test("Without a key, /v1 answers 401 with a Stripe error object", arguments: TestStore.allCases)
    func unauthenticated(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let answer = try await server.client.get("/v1/payment_intents")
            #expect(answer.status == 401, "\(answer)")
            #expect(try answer.json()["error"]?["type"]?.string == "invalid_request_error", "\(answer)")
            let wrongKey = try await server.client.get("/v1/payment_intents", auth: .bearer("sk_test_not_this_one"))
            #expect(wrongKey.status == 401, "\(wrongKey)")
        }
    }
}
