import Foundation
import HTTPTypes
import TestSupport
import Testing

/// Who may call what: the secret key, the publishable key, and no key.
@Suite("API key scopes")
struct AuthRouteTests {
    @Test("No key is a 401 invalid_request_error")
    func noKey() async throws {
        try await withWire { api in
            let list = try await api.get("/v1/payment_intents", auth: nil)
            let create = try await api.createIntent(auth: nil)
            for response in [list, create] {
                #expect(response.status == 401)
                #expect(response.error["type"]?.string == "invalid_request_error")
                #expect(response.error["message"]?.string?.contains("API key") == true)
            }
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("A bad key is a 401 whose message shows the key masked")
    func badKey() async throws {
        try await withWire { api in
            // Given a key of a real key's length, and a short one
            let long = "sk_test_51NotOurKeyAtAllAbCdEfGh9876"
            let short = "sk_test_abc"
            // When
            let response = try await api.get("/v1/payment_intents", auth: "Bearer \(long)")
            let shortResponse = try await api.get("/v1/payment_intents", auth: "Bearer \(short)")
            // Then
            #expect(response.status == 401)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["message"]?.string == "Invalid API Key provided: sk_test_****9876")
            #expect(!response.text.contains(long))
            #expect(shortResponse.status == 401)
            #expect(!shortResponse.text.contains(short))
            #expect(!shortResponse.text.contains("_abc"))
        }
    }

    @Test("Two Authorization header fields are a 400 saying so, in either order")
    func twoAuthorizationFields() async throws {
        try await withWire { api in
            // Given the right key and a wrong one, as two fields (they were read as one joined by a comma: "You did
            // not provide an API key", or the other key's tail named as invalid: a probe)
            for order in [[WireClient.secret, "Bearer sk_wrong"], ["Bearer sk_wrong", WireClient.secret]] {
                var headers = HTTPFields()
                for value in order { headers.append(HTTPField(name: .authorization, value: value)) }
                let response = try await api.send(.get, "/v1/payment_intents", auth: nil, headers: headers)
                // Then a 400 naming the two fields, and no key in the answer
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["message"]?.string?.contains("more than one Authorization") == true)
                #expect(!response.text.contains("sk_wrong"))
            }
        }
    }

    @Test("The scheme's name is matched in any case, and blanks around the parts are ignored")
    func headerForms() async throws {
        try await withWire { api in
            let key = TestHTTP.secretKey
            let basic = Data("\(key):".utf8).base64EncodedString()
            for header in [
                "Bearer \(key)", "bearer \(key)", "BEARER \(key)", "  Bearer   \(key)\t ", "\tbEaReR \(key)",
                "Basic \(basic)", "basic  \(basic) ", "BASIC \(basic)",
            ] {
                let response = try await api.get("/v1/payment_intents", auth: header)
                #expect(response.status == 200, "\(header.debugDescription)")
            }
            for header in [
                "Bearer", "Bearer ", "Bearer\(key)", "Bearerx \(key)", "Token \(key)", "\(key)", "Bearer \(key)x",
            ] {
                let response = try await api.get("/v1/payment_intents", auth: header)
                #expect(response.status == 401, "\(header.debugDescription)")
            }
        }
    }

    @Test("HTTP Basic with the key as user name works, as curl -u sk_...: sends it")
    func basicAuth() async throws {
        try await withWire { api in
            // Given
            let secret = "Basic " + Data("\(TestHTTP.secretKey):".utf8).base64EncodedString()
            let publishable = "Basic " + Data("\(TestHTTP.publishableKey):".utf8).base64EncodedString()
            let wrong = "Basic " + Data("sk_test_wrong:".utf8).base64EncodedString()
            // When
            let list = try await api.get("/v1/payment_intents", auth: secret)
            let create = try await api.createIntent(auth: secret)
            let pkList = try await api.get("/v1/payment_intents", auth: publishable)
            let refused = try await api.get("/v1/payment_intents", auth: wrong)
            // Then
            #expect(list.status == 200)
            #expect(create.status == 200)
            #expect(pkList.status == 401)
            #expect(pkList.error["code"]?.string == "secret_key_required")
            #expect(refused.status == 401)
        }
    }

    @Test("A publishable key may create payment methods")
    func publishableCreatesPaymentMethods() async throws {
        try await withWire { api in
            let response = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"), ("card[cvc]", "123"), ("metadata[k]", "v"),
                ],
                auth: WireClient.publishable
            )
            #expect(response.status == 200)
            #expect(response.json["id"]?.string?.hasPrefix("pm_") == true)
            #expect(response.json["card"]?["last4"]?.string == "4242")
            // Objects read with a publishable key show no metadata
            #expect(response.json.has("metadata") == false)
        }
    }

    @Test(
        "A publishable key cannot create, list, update, cancel intents or touch customers",
        arguments: [
            ("POST", "/v1/payment_intents"), ("GET", "/v1/payment_intents"), ("POST", "/v1/customers"),
            ("GET", "/v1/customers"),
        ]
    )
    func publishableRefused(method: String, path: String) async throws {
        try await withWire { api in
            // When
            let response =
                method == "POST"
                ? try await api.post(path, [("amount", "2000"), ("currency", "usd")], auth: WireClient.publishable)
                : try await api.get(path, auth: WireClient.publishable)
            // Then
            #expect(response.status == 401)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["code"]?.string == "secret_key_required")
            #expect(try await api.listCount("/v1/payment_intents") == 0)
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("A publishable key cannot update or cancel an intent, even with its client secret")
    func publishableCannotChangeIntent() async throws {
        try await withWire { api in
            let intent = try await api.intent()
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            let update = try await api.post(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret), ("description", "x")],
                auth: WireClient.publishable
            )
            let cancel = try await api.post("/v1/payment_intents/\(id)/cancel", auth: WireClient.publishable)
            #expect(update.status == 401)
            #expect(cancel.status == 401)
            #expect(cancel.error["code"]?.string == "secret_key_required")
            let now = try await api.get("/v1/payment_intents/\(id)")
            #expect(now.json["status"]?.string == "requires_payment_method")
            #expect(now.json["description"]?.isNull == true)
        }
    }

    @Test("A publishable key retrieves an intent only with its client_secret, and sees the redacted shape")
    func publishableRetrieve() async throws {
        try await withWire { api in
            // Given an intent with a customer and metadata
            let customer = try #require(try await api.post("/v1/customers", [("name", "Jenny")]).json["id"]?.string)
            let intent = try await api.intent([
                ("customer", customer), ("metadata[order]", "42"), ("payment_method", "pm_card_visa"),
                ("confirm", "true"),
            ])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            // When
            let without = try await api.get("/v1/payment_intents/\(id)", auth: WireClient.publishable)
            let wrong = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", id + "_secret_wrong")],
                auth: WireClient.publishable
            )
            let with = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            // Then
            #expect(without.status == 401)
            #expect(wrong.status == 400)
            #expect(wrong.json["error"] != nil)
            #expect(with.status == 200)
            let redacted = with.json
            #expect(redacted["id"]?.string == id)
            #expect(redacted["status"]?.string == "succeeded")
            #expect(redacted["client_secret"]?.string == secret)
            #expect(redacted["amount"]?.int == 2_000)
            for hidden in ["metadata", "customer", "amount_received", "latest_charge", "amount_capturable"] {
                #expect(redacted.has(hidden) == false, "\(hidden) shown to a publishable key")
            }
            #expect(!with.text.contains(customer))
            #expect(!with.text.contains("\"42\""))
        }
    }

    @Test("A publishable key without a client secret gets the same 401 for an intent that exists and one that does not")
    func publishableCannotProbeIDs() async throws {
        try await withWire { api in
            let intent = try #require(try await api.intent()["id"]?.string)
            let setup = try #require(try await api.setup()["id"]?.string)
            for (existing, missing) in [
                ("/v1/payment_intents/\(intent)", "/v1/payment_intents/pi_missing000000000000000"),
                ("/v1/setup_intents/\(setup)", "/v1/setup_intents/seti_missing0000000000000"),
            ] {
                for path in [existing, missing] {
                    let read = try await api.get(path, auth: WireClient.publishable)
                    let confirm = try await api.post(path + "/confirm", [], auth: WireClient.publishable)
                    for response in [read, confirm] {
                        #expect(response.status == 401, "\(path): \(response.text)")
                        #expect(response.error["code"]?.string == "secret_key_required")
                    }
                }
            }
        }
    }

    @Test("A publishable key confirms an automatic-confirmation intent with its client_secret")
    func publishableConfirmAutomatic() async throws {
        try await withWire { api in
            // Given
            let card = try await api.card("4242424242424242")
            let intent = try await api.intent([("payment_method", card), ("metadata[order]", "42")])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            // When
            let withoutSecret = try await api.post("/v1/payment_intents/\(id)/confirm", auth: WireClient.publishable)
            let confirmed = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            // Then
            #expect(withoutSecret.status == 401)
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(confirmed.json.has("metadata") == false)
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    @Test(
        "A publishable key confirming with the client secret cannot choose how the payment is taken",
        arguments: [
            ("off_session", "true"), ("capture_method", "manual"), ("capture_method", "automatic"),
            ("error_on_requires_action", "true"),
        ]
    )
    func publishableConfirmServerDecisions(param: String, value: String) async throws {
        try await withWire { api in
            // Given an on-session, automatic-capture intent for a card that asks for 3-D Secure
            let card = try await api.card("4000002500003155")
            let intent = try await api.intent([("payment_method", card)])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            // When the browser confirms it with a server's decision
            let refused = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret), (param, value)],
                auth: WireClient.publishable
            )
            // Then it is refused, naming the parameter, and nothing was asked of the network
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.error["code"]?.string == "secret_key_required")
            #expect(refused.error["param"]?.string == param)
            #expect(try api.environment.network.approvedCount() == 0)
            // And the same confirm without it goes on to 3-D Secure, as the customer is there
            let confirmed = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret)] + (param == "off_session" ? [("off_session", "false")] : []),
                auth: WireClient.publishable
            )
            #expect(confirmed.json["status"]?.string == "requires_action", "\(confirmed.text)")
        }
    }

    @Test(
        "A publishable key may change the server's setup_future_usage only from on_session to off_session",
        arguments: [
            ("off_session", "", false), ("off_session", "on_session", false), ("on_session", "", false),
            ("on_session", "off_session", true), ("off_session", "off_session", true),
        ]
    )
    func publishableConfirmSetupFutureUsage(set: String, sent: String, allowed: Bool) async throws {
        try await withWire { api in
            // Given an intent for a customer whose server asked for the card to be saved (`set`)
            let customer = try #require(try await api.post("/v1/customers", []).json["id"]?.string)
            let intent = try await api.intent([("customer", customer), ("setup_future_usage", set)])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            // When the browser confirms it with a card and its own setup_future_usage (`sent`, "" unsets it)
            let answer = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret), ("payment_method", "pm_card_visa"), ("setup_future_usage", sent)],
                auth: WireClient.publishable
            )
            let stored = try await api.get("/v1/payment_intents/\(id)")
            if allowed {
                // Then on_session may become off_session (Stripe's rule), and the same value is no change
                #expect(answer.status == 200, "\(answer.text)")
                #expect(stored.json["setup_future_usage"]?.string == "off_session")
            } else {
                // Then the rest is refused, naming the parameter, and nothing was charged or changed
                #expect(answer.status == 400, "\(answer.text)")
                #expect(answer.error["code"]?.string == "secret_key_required")
                #expect(answer.error["param"]?.string == "setup_future_usage")
                #expect(try api.environment.network.approvedCount() == 0)
                #expect(stored.json["setup_future_usage"]?.string == set)
                #expect(stored.json["status"]?.string == "requires_payment_method")
            }
        }
    }

    @Test("A publishable key cannot confirm a manual-confirmation intent; the secret key can")
    func publishableConfirmManual() async throws {
        try await withWire { api in
            // Given
            let card = try await api.card("4242424242424242")
            let intent = try await api.intent([("payment_method", card), ("confirmation_method", "manual")])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            // When
            let refused = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            // Then
            #expect(refused.status == 401)
            #expect(refused.error["code"]?.string == "secret_key_required")
            #expect(try api.environment.network.approvedCount() == 0)
            let still = try await api.get("/v1/payment_intents/\(id)")
            #expect(still.json["status"]?.string == "requires_confirmation")
            // And the server's confirm works
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm")
            #expect(confirmed.json["status"]?.string == "succeeded")
        }
    }
}
