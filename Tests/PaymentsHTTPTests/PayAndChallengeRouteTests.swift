import Foundation
import HTTPTypes
import Payments
import PaymentsCore
import Synchronization
import TestSupport
import Testing

@testable import PaymentsHTTP

/// The seed's `POST /pay`, the 3-D Secure challenge pages, `/health` and `Request-Id`.
@Suite("Pay endpoint and challenge pages")
struct PayAndChallengeRouteTests {
    /// The intent id inside a client secret (`pi_..._secret_...`).
    static func intentID(fromClientSecret secret: String) throws -> String {
        let range = try #require(secret.range(of: "_secret_"))
        return String(secret[..<range.lowerBound])
    }

    // MARK: - /pay

    /// A `/pay` payment with a card that asks for 3-D Secure (3155), waiting for the customer's challenge: its id,
    /// its client secret and the path of its challenge page.
    static func payWaitingForChallenge(_ api: WireClient) async throws -> (
        id: String, secret: String, challenge: String
    ) {
        let card = try await api.card("4000002500003155")
        let first = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
        let secret = try #require(first.json["payment_intent_client_secret"]?.string, "\(first.text)")
        let id = try intentID(fromClientSecret: secret)
        let challenge = try api.challengePath(of: try await api.get("/v1/payment_intents/\(id)").json)
        return (id, secret, challenge)
    }

    @Test("POST /pay with a card that needs nothing answers {success, payment_intent}, at the catalogue's price")
    func paySucceeds() async throws {
        try await withWire { api in
            // Given a card created with the publishable key, as the browser does
            let card = try await api.card("4242424242424242")
            // When the seed's client posts it, with no API key
            let response = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            // Then
            #expect(response.status == 200)
            #expect(response.json["success"]?.bool == true)
            let id = try #require(response.json["payment_intent"]?.string)
            let intent = try await api.get("/v1/payment_intents/\(id)")
            #expect(intent.json["status"]?.string == "succeeded")
            #expect(intent.json["amount"]?.int == 1_400)
            #expect(intent.json["currency"]?.string == "usd")
            #expect(intent.json["confirmation_method"]?.string == "manual")
            // and the answer says what was charged, which the checkout shows instead of the price it loaded
            #expect(response.json["amount"]?.int == 1_400 && response.json["currency"]?.string == "usd")
        }
    }

    @Test("The checkout's config gives every currency's fractional digits, the service's rule, not the browser's")
    func configGivesMinorUnits() async throws {
        try await withWire { api in
            let config = try await api.get("/checkout/config.json", auth: nil)
            #expect(config.status == 200)
            let digits = try #require(config.json["minor_unit_digits"])
            // Stripe's: HUF, IDR, ISK and UGX take two digits, which the browser's Intl says they lack
            for (code, expected) in [("usd", 2), ("huf", 2), ("idr", 2), ("isk", 2), ("jpy", 0), ("bhd", 3)] {
                #expect(digits[code]?.int == Int64(expected), "\(code)")
            }
            for currency in Currency.allSupported {
                #expect(digits[currency.code]?.int == Int64(currency.minorUnitDigits), "\(currency.code)")
            }
        }
    }

    @Test("POST /pay with an item uses that item's price")
    func payItem() async throws {
        try await withWire { api in
            let card = try await api.card("4242424242424242")
            let response = try await api.postJSON(
                "/pay",
                #"{"payment_method_id": "\#(card)", "item": "tote"}"#,
                auth: nil
            )
            let id = try #require(response.json["payment_intent"]?.string)
            let intent = try await api.get("/v1/payment_intents/\(id)")
            #expect(intent.json["amount"]?.int == 2_000)
            #expect(intent.json["currency"]?.string == "jpy")
        }
    }

    @Test("The amount never comes from the client; unknown items and empty bodies are 400")
    func payRefusesClientInput() async throws {
        try await withWire { api in
            let card = try await api.card("4242424242424242")
            let amount = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)", "amount": 1}"#, auth: nil)
            let item = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)", "item": "yacht"}"#, auth: nil)
            let empty = try await api.postJSON("/pay", "{}", auth: nil)
            for response in [amount, item, empty] {
                #expect(response.status == 400)
                #expect(response.error["message"]?.string?.isEmpty == false)
            }
            #expect(amount.error["code"]?.string == "parameter_unknown")
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test(
        "A /pay or /save-card with a query string, or /pay with both ids, is a 400 in the seed's shape, paying nothing"
    )
    func payRefusesMixedRequests() async throws {
        try await withWire { api in
            let card = try await api.card("4242424242424242")
            let paid = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            let id = try #require(paid.json["payment_intent"]?.string)
            let second = try await api.card("4242424242424242")
            let query = try await api.postJSON("/pay?item=mug", #"{"payment_method_id": "\#(second)"}"#, auth: nil)
            let both = try await api.postJSON(
                "/pay",
                #"{"payment_method_id": "\#(second)", "payment_intent_id": "\#(id)"}"#,
                auth: nil
            )
            let secret = try await api.postJSON(
                "/pay",
                #"{"payment_method_id": "\#(second)", "payment_intent_client_secret": "\#(id)_secret_x"}"#,
                auth: nil
            )
            let saveCard = try await api.postJSON(
                "/save-card?customer=cus_x",
                #"{"payment_method_id": "x"}"#,
                auth: nil
            )
            for response in [query, both, secret, saveCard] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["message"]?.string?.isEmpty == false)
                #expect(response.error["type"] == nil, "the seed's shape: \(response.text)")
            }
            #expect(both.error["param"] == nil && both.error["code"]?.isNull == true)
            #expect(try await api.listCount("/v1/payment_intents") == 1)
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    @Test("A /pay confirm after the challenge's window says the payment took too long, not that a card is missing")
    func payAfterWindow() async throws {
        try await withWire { api in
            // Given a /pay payment whose customer completed the challenge
            let (id, secret, challenge) = try await Self.payWaitingForChallenge(api)
            let page = try await api.send(.post, challenge, body: "outcome=complete", auth: nil)
            #expect(page.status == 200)

            // When the client's confirm comes after the confirmation window
            api.environment.clock.advance(by: 3_601)
            let late = try await api.postJSON(
                "/pay",
                #"{"payment_intent_id": "\#(id)", "payment_intent_client_secret": "\#(secret)"}"#,
                auth: nil
            )

            // Then it says the attempt expired, in the seed's shape, the intent failed that way, and nothing was charged
            #expect(late.status == 400, "\(late.text)")
            #expect(late.error["code"]?.string == "payment_intent_payment_attempt_expired")
            #expect(late.error["message"]?.string?.contains("missing a payment method") == false)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_payment_method")
            #expect(after.json["last_payment_error"]?["code"]?.string == "payment_intent_payment_attempt_expired")
            #expect(try api.environment.network.approvedCount() == 0)

            // And so does a second try, once the attempt is expired
            let again = try await api.postJSON("/pay", #"{"payment_intent_id": "\#(id)"}"#, auth: nil)
            #expect(again.error["code"]?.string == "payment_intent_payment_attempt_expired")
        }
    }

    /// Found by a probe: between the window's end and the next sweep, a retrieve said `requires_action` with a
    /// `next_action` link already dead, and opening the link recorded nothing.
    @Test("A retrieve or the challenge page after the window expires the attempt, as a late confirm does")
    func readAfterWindowExpires() async throws {
        for opener in ["retrieve", "page"] {
            try await withWire { api in
                // Given a payment waiting for its challenge, past the window, not swept
                let (id, _, challenge) = try await Self.payWaitingForChallenge(api)
                api.environment.clock.advance(by: 3_601)
                // When the intent is read, or the challenge page opened
                if opener == "page" {
                    let page = try await api.send(.get, challenge, auth: nil)
                    #expect(page.status == 404, "\(page.text)")
                }
                let read = try await api.get("/v1/payment_intents/\(id)")
                // Then the attempt has failed as the sweeper would record it: no next_action to a dead link
                #expect(read.json["status"]?.string == "requires_payment_method", "\(opener): \(read.text)")
                #expect(read.json["next_action"]?.isNull == true)
                #expect(read.json["last_payment_error"]?["code"]?.string == "payment_intent_payment_attempt_expired")
                let events = try await api.get("/v1/events", [("type", "payment_intent.payment_failed")])
                #expect(events.json.ids.count == 1, "\(events.text)")
                // And reading it again changes nothing more
                let again = try await api.get("/v1/payment_intents/\(id)")
                #expect(again.json["latest_charge"] == read.json["latest_charge"])
                #expect(try await api.get("/v1/events", [("type", "payment_intent.payment_failed")]).json.ids.count == 1)
                #expect(try api.environment.network.approvedCount() == 0)
            }
        }
    }

    @Test("POST /pay declines answer 402 {error: {message, code, decline_code}}")
    func payDeclines() async throws {
        try await withWire { api in
            let card = try await api.card("4000000000009995")
            let response = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            #expect(response.status == 402)
            #expect(response.error["code"]?.string == "card_declined")
            #expect(response.error["decline_code"]?.string == "insufficient_funds")
            #expect(response.error["message"]?.string == "Your card has insufficient funds.")
        }
    }

    @Test("The seed's flow: /pay → requires_action → challenge complete → /pay with payment_intent_id → success")
    func payWithAuthentication() async throws {
        try await withWire { api in
            // Given a card that needs authentication
            let card = try await api.card("4000002500003155")
            // When the client pays
            let first = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            // Then the customer must act
            #expect(first.status == 200)
            #expect(first.json["requires_action"]?.bool == true)
            let secret = try #require(first.json["payment_intent_client_secret"]?.string)
            let id = try Self.intentID(fromClientSecret: secret)
            // When the browser (publishable key + client secret) reads the intent and completes the challenge
            let intent = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            #expect(intent.json["status"]?.string == "requires_action")
            let page = try await api.completeChallenge(of: intent.json)
            #expect(page.status == 200)
            #expect(page.text.contains("Authentication complete"))
            let waiting = try await api.get("/v1/payment_intents/\(id)")
            #expect(waiting.json["status"]?.string == "requires_confirmation")
            #expect(try api.environment.network.approvedCount() == 0)
            // And the client tells the server, which confirms again
            let second = try await api.postJSON("/pay", #"{"payment_intent_id": "\#(id)"}"#, auth: nil)
            // Then
            #expect(second.status == 200)
            #expect(second.json["success"]?.bool == true)
            #expect(second.json["payment_intent"]?.string == id)
            #expect(second.json["amount"]?.int == 1_400 && second.json["currency"]?.string == "usd")
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    @Test("The challenge page speaks Japanese by its locale or the browser's Accept-Language, and keeps it to the end")
    func challengeLanguage() async throws {
        try await withWire { api in
            // Given a payment waiting for its challenge
            let path = try await Self.payWaitingForChallenge(api).challenge
            let japanese: HTTPFields = [.acceptLanguage: "fr-CH, ja;q=0.9, en;q=0.8"]
            // When a browser that prefers Japanese (after a language the page does not speak) opens it
            let byHeader = try await api.send(.get, path, auth: nil, headers: japanese)
            // Then the page is in Japanese
            #expect(byHeader.status == 200)
            #expect(byHeader.text.contains(#"<html lang="ja">"#) && byHeader.text.contains("お支払いの認証"))
            #expect(byHeader.text.contains(">承認する</button>") && byHeader.text.contains("</strong> のお支払いを承認してください。"))
            // and English by default, when English weighs more, or when the query's locale says so
            for (query, header) in [("", nil), ("", "ja;q=0.5, en"), ("?locale=en", "ja"), ("?locale=xx", "ja")] {
                let headers: HTTPFields = header.map { [.acceptLanguage: $0] } ?? [:]
                let page = try await api.send(.get, path + query, auth: nil, headers: headers)
                #expect(page.text.contains(#"<html lang="en">"#), "\(query) \(header ?? "-")")
                #expect(page.text.contains("Authenticate this payment"), "\(query) \(header ?? "-")")
            }
            // When the answer is posted to the page's URL with locale=ja (payments.js frames it so)
            let answer = try await api.send(.post, path + "?locale=ja", body: "outcome=fail", auth: nil)
            // Then the outcome is in Japanese too, and so is the page of the used link
            #expect(answer.status == 200)
            #expect(answer.text.contains("認証に失敗しました。 お支払いは行われていません。"), "\(answer.text)")
            let used = try await api.send(.get, path, auth: nil, headers: japanese)
            #expect(used.status == 404 && used.text.contains("このリンクは無効です"))
        }
    }

    @Test(
        "Accept-Language: the page's language of the highest weight, the earlier on a tie; q=0 refuses one",
        arguments: [
            ("ja", "ja"), ("ja-JP,en;q=0.9", "ja"), ("en-US,ja;q=0.9", "en"), ("fr, ja;q=0.2, en;q=0.1", "ja"),
            ("de;q=1, ja;q=0.5, en;q=0.5", "ja"), ("en;q=0, ja;q=0.1", "ja"), ("ja;q=0", nil), ("fr", nil), ("", nil),
            ("*", nil), ("EN-gb", "en"), ("ja;q=abc", "ja"),
        ] as [(String, String?)]
    )
    func acceptLanguage(header: String, language: String?) {
        #expect(ChallengeText.preferred(acceptLanguage: header)?.language == language)
    }

    @Test("An intent's id alone cannot re-confirm it while its challenge is open: no new challenge, no client secret")
    func payIDWhileChallengeOpen() async throws {
        try await withWire { api in
            // Given a /pay payment waiting for the customer's challenge
            let (id, secret, challenge) = try await Self.payWaitingForChallenge(api)
            let before = try await api.get("/v1/payment_intents/\(id)")

            // When someone who knows only the id posts it to /pay
            let replay = try await api.postJSON("/pay", #"{"payment_intent_id": "\#(id)"}"#, auth: nil)

            // Then it is refused, without the client secret, and the intent and its challenge are as they were
            #expect(replay.status == 400)
            #expect(replay.json["error"]?["code"]?.string == "payment_intent_unexpected_state")
            #expect(!replay.text.contains(secret))
            #expect(try await api.get("/v1/payment_intents/\(id)").json == before.json)
            // And the customer's challenge still completes, after which the id alone confirms it
            let page = try await api.send(.post, challenge, body: "outcome=complete", auth: nil)
            #expect(page.status == 200)
            let second = try await api.postJSON("/pay", #"{"payment_intent_id": "\#(id)"}"#, auth: nil)
            #expect(second.json["success"]?.bool == true)
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    // MARK: - 3-D Secure pages

    @Test("GET shows the challenge; POST complete redirects 303 to return_url with the intent's parameters")
    func challengeComplete() async throws {
        try await withWire { api in
            // Given an automatic-confirmation intent waiting for 3-D Secure, with a return_url
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("return_url", "https://shop.example/done?order=7"),
            ])
            #expect(intent["status"]?.string == "requires_action")
            #expect(
                intent["next_action"]?["redirect_to_url"]?["return_url"]?.string == "https://shop.example/done?order=7"
            )
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            let path = try api.challengePath(of: intent)
            // When the page is shown, without any key
            let page = try await api.send(.get, path, auth: nil)
            // Then
            #expect(page.status == 200)
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.text.contains("value=\"complete\""))
            #expect(page.text.contains("value=\"fail\""))
            // When the customer completes it
            let answer = try await api.send(.post, path, body: "outcome=complete", auth: nil)
            // Then the intent changed before the redirect
            #expect(answer.status == 303)
            let location = try #require(answer.header("Location"))
            let components = try #require(URLComponents(string: location))
            #expect(location.hasPrefix("https://shop.example/done?"))
            let query = Dictionary(
                (components.queryItems ?? []).map { ($0.name, $0.value ?? "") },
                uniquingKeysWith: { first, _ in first }
            )
            #expect(query["order"] == "7")
            #expect(query["payment_intent"] == id)
            #expect(query["payment_intent_client_secret"] == secret)
            #expect(query["redirect_status"] == "succeeded")
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "succeeded")
            #expect(after.json["next_action"]?.isNull == true)
            // And the link is spent
            let again = try await api.send(.post, path, body: "outcome=complete", auth: nil)
            #expect(again.status == 404)
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    @Test("In payments.js's modal (modal=1) the answer is the page telling the modal, not the return_url's redirect")
    func challengeInTheModal() async throws {
        try await withWire { api in
            // Given an intent with a return_url waiting for 3-D Secure, its page opened by payments.js's modal
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("return_url", "https://shop.example/done"),
            ])
            let id = try #require(intent["id"]?.string)
            let path = try api.challengePath(of: intent) + "?locale=en&modal=1"
            // When the customer completes it
            let answer = try await api.send(.post, path, body: "outcome=complete", auth: nil)
            // Then the page tells the modal, which resolves the card action (the frame went to the merchant's page,
            // and the modal waited for good), and the payment is made
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.header("Location") == nil)
            #expect(answer.text.contains("payments-3ds-result") && answer.text.contains(id), "\(answer.text)")
            #expect(try await api.get("/v1/payment_intents/\(id)").json["status"]?.string == "succeeded")
        }
    }

    @Test("The redirect keeps the merchant's return_url as sent: its escapes, its fragment, values that are not UTF-8")
    func redirectKeepsMerchantQuery() async throws {
        try await withWire { api in
            // Given an intent waiting for 3-D Secure whose return_url holds escapes a decode would change
            let returnURL = "https://shop.example/done?sig=a%2Bb&email=a%2Bb%40x.example&y=%E9&space=a+b#top"
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"), ("return_url", returnURL),
            ])
            let id = try #require(intent["id"]?.string)

            // When the customer completes the challenge
            let answer = try await api.completeChallenge(of: intent)

            // Then the redirect is the return_url byte for byte, with the three parameters added before its fragment
            #expect(answer.status == 303)
            let location = try #require(answer.header("Location"))
            #expect(
                location.hasPrefix(
                    "https://shop.example/done?sig=a%2Bb&email=a%2Bb%40x.example&y=%E9&space=a+b&payment_intent=\(id)&"
                ),
                "\(location)"
            )
            #expect(location.hasSuffix("&redirect_status=succeeded#top"), "\(location)")
        }
    }

    @Test(
        "A return_url with characters a URL may not hold keeps its escapes: only those characters are escaped",
        arguments: [
            // Foundation re-encoded the whole query when it held `[]`, so `%2B` came back `%252B`
            ("https://shop.example/done?sig=a%2Bb&tags[]=1", "https://shop.example/done?sig=a%2Bb&tags[]=1&"),
            ("https://shop.example/done?a=%2B&b=\u{E9}", "https://shop.example/done?a=%2B&b=%C3%A9&"),
            ("https://shop.example/done?a=%2B&b=a%20b c|d", "https://shop.example/done?a=%2B&b=a%20b%20c%7Cd&"),
            ("https://shop.example/done?rate=5%&x=%zz", "https://shop.example/done?rate=5%25&x=%25zz&"),
            ("https://shop.example/my page?sig=a%2Bb", "https://shop.example/my%20page?sig=a%2Bb&"),
            ("https://shop.example/done", "https://shop.example/done?"),
            ("https://shop.example/done?", "https://shop.example/done?"),
            ("myapp://done?a=1&", "myapp://done?a=1&"),
        ]
    )
    func redirectEscapesOnlyWhatAURLCannotHold(returnURL: String, expectedStart: String) async throws {
        try await withWire { api in
            // Given an intent waiting for 3-D Secure with that return_url
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"), ("return_url", returnURL),
            ])
            let id = try #require(intent["id"]?.string)
            // When the customer completes the challenge
            let answer = try await api.completeChallenge(of: intent)
            // Then the redirect starts with the merchant's URL, its escapes as sent, and the parameters follow
            #expect(answer.status == 303)
            let location = try #require(answer.header("Location"))
            #expect(location.hasPrefix(expectedStart + "payment_intent=\(id)&"), "\(location)")
            #expect(location.hasSuffix("&redirect_status=succeeded"), "\(location)")
        }
    }

    @Test("A fragment keeps its place after the parameters, a second # in it escaped")
    func redirectFragment() {
        let location = ReturnURLRedirect.location(
            "https://shop.example/done?a=%2B#top#x y",
            adding: [("payment_intent", "pi_1"), ("redirect_status", "succeeded")]
        )
        #expect(location == "https://shop.example/done?a=%2B&payment_intent=pi_1&redirect_status=succeeded#top%23x%20y")
    }

    @Test("A challenge completed for a card declined after authentication says the payment was not made")
    func completedButDeclinedPage() async throws {
        try await withWire { api in
            // Given an intent waiting for 3-D Secure on a card the issuer declines once authenticated
            let intent = try await api.intent([
                ("payment_method", "pm_card_threeDSecureRequiredChargeDeclined"), ("confirm", "true"),
            ])
            #expect(intent["status"]?.string == "requires_action")
            // When the customer completes the challenge (no return_url: the page shows the outcome)
            let page = try await api.completeChallenge(of: intent)
            // Then the page says the authentication passed and the payment was not made
            #expect(page.status == 200)
            #expect(page.text.contains("Authentication complete. The payment was not made."), "\(page.text)")
            #expect(!page.text.contains("You can close this window"))
            // and its title says the outcome, not "Authentication complete" alone
            #expect(page.text.contains("<h1>Payment not made</h1>"), "\(page.text)")
            #expect(page.text.contains("<title>Payment not made</title>"), "\(page.text)")
            let id = try #require(intent["id"]?.string)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_payment_method")
        }
    }

    @Test("A completed challenge whose payment a cancel stopped redirects with redirect_status=failed")
    func challengeCompletedButCanceled() async throws {
        // Given an automatic intent waiting for 3-D Secure, with a return_url, and a cancel landing right after the
        // customer's answer is committed, before the payment
        let cancel = Mutex<(@Sendable () async throws -> Void)?>(nil)
        let environment = try TestEnvironment(
            faults: FaultInjector(armed: .afterAuthentication) { _ in
                try await cancel.withLock { body in
                    defer { body = nil }; return body
                }?()
            }
        )
        let http = try TestHTTP(environment: environment)
        try await http.application().test(.router) { client in
            let api = WireClient(client: client, http: http)
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("return_url", "https://shop.example/done"),
            ])
            let id = try #require(intent["id"]?.string)
            cancel.withLock { $0 = { _ = try await environment.intents.cancel(id, reason: .abandoned) } }

            // When the customer completes it
            let answer = try await api.completeChallenge(of: intent)

            // Then the return page is told the payment failed, as the intent says, not that it succeeded
            #expect(answer.status == 303)
            #expect(answer.header("Location")?.contains("redirect_status=failed") == true)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "canceled")
            #expect(try environment.network.approvedCount() == 0)
        }
    }

    @Test("POST fail redirects with redirect_status=failed and the intent needs a new payment method")
    func challengeFail() async throws {
        try await withWire { api in
            // Given
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("return_url", "https://shop.example/done"),
            ])
            let id = try #require(intent["id"]?.string)
            // When
            let answer = try await api.send(.post, try api.challengePath(of: intent), body: "outcome=fail", auth: nil)
            // Then
            #expect(answer.status == 303)
            #expect(answer.header("Location")?.contains("redirect_status=failed") == true)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_payment_method")
            #expect(after.json["last_payment_error"]?["code"]?.string == "payment_intent_authentication_failure")
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("/pay's confirm naming an item is refused, and changes nothing: it pays what its intent was made for")
    func payConfirmWithItem() async throws {
        try await withWire { api in
            // Given a /pay payment (the default item) whose customer completed the challenge
            let (id, secret, challenge) = try await Self.payWaitingForChallenge(api)
            #expect(try await api.send(.post, challenge, body: "outcome=complete", auth: nil).status == 200)
            // When its confirm names another item
            let confirm = try await api.postJSON(
                "/pay",
                #"{"payment_intent_id": "\#(id)", "payment_intent_client_secret": "\#(secret)", "item": "mug"}"#,
                auth: nil
            )
            // Then it is refused naming item, and the intent still waits for its confirm
            #expect(confirm.status == 400, "\(confirm.text)")
            #expect(confirm.error["message"]?.string?.contains("payment_method_id") == true, "\(confirm.text)")
            #expect(try api.environment.network.approvedCount() == 0)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_confirmation", "\(after.text)")
        }
    }

    @Test("/pay's confirm after a failed challenge says, in /pay's words, to pay again with a new card")
    func payAfterFailedChallenge() async throws {
        try await withWire { api in
            // Given a /pay payment whose customer failed the challenge
            let (id, secret, challenge) = try await Self.payWaitingForChallenge(api)
            #expect(try await api.send(.post, challenge, body: "outcome=fail", auth: nil).status == 200)

            // When the seed's client confirms it anyway
            let confirm = try await api.postJSON(
                "/pay",
                #"{"payment_intent_id": "\#(id)", "payment_intent_client_secret": "\#(secret)"}"#,
                auth: nil
            )

            // Then it is refused naming the intent and what to send, not the /v1 confirm's `payment_method`
            #expect(confirm.status == 400, "\(confirm.text)")
            #expect(confirm.error["code"]?.string == "payment_intent_unexpected_state", "\(confirm.text)")
            #expect(confirm.error["payment_intent"]?.string == id, "\(confirm.text)")
            let message = try #require(confirm.error["message"]?.string)
            #expect(message.contains("payment_method_id") && message.contains("payment_intent_authentication_failure"))
            #expect(!message.contains("`payment_method` parameter"), "\(message)")
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_payment_method", "\(after.text)")
        }
    }

    @Test(
        "A return_url that is not an absolute URL to go to is refused on create, confirm and setup; nothing is made",
        arguments: [
            "not a url", "/relative/done", "javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,hi",
            "https://", "about:blank", "view-source:https://shop.example/", "blob:https://shop.example/1",
            "filesystem:https://shop.example/x", "https://shop.example/done\r\nX: y", "https://shop.example/\u{7F}",
            "https://user:pass@shop.example/done", "ftp://user:pass@shop.example/", "https://shop.example/\u{2028}x",
            "https://shop.example/\u{85}", "https://shop.example/\u{202E}gpj.exe",
        ]
    )
    func badReturnURL(_ url: String) async throws {
        try await withWire { api in
            // When an intent or a setup intent is confirmed with that return_url
            let created = try await api.createIntent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"), ("return_url", url),
            ])
            let open = try #require(try await api.intent()["id"]?.string)
            let confirmed = try await api.post(
                "/v1/payment_intents/\(open)/confirm",
                [("payment_method", "pm_card_visa"), ("return_url", url)]
            )
            let setup = try await api.createSetup([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("return_url", url),
            ])
            // Then each is refused on return_url
            for response in [created, confirmed, setup] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "url_invalid")
                #expect(response.error["param"]?.string == "return_url")
            }
            // And nothing was charged or made beyond the open intent
            #expect(try await api.listCount("/v1/payment_intents") == 1)
            #expect(try await api.retrieveIntent(open)["status"]?.string == "requires_payment_method")
            #expect(try await api.listCount("/v1/setup_intents") == 0)
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("An app's own scheme is a return_url, as Stripe takes for mobile apps")
    func appSchemeReturnURL() async throws {
        try await withWire { api in
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("return_url", "shopapp://checkout/done"),
            ])
            #expect(intent["next_action"]?["redirect_to_url"]?["return_url"]?.string == "shopapp://checkout/done")
        }
    }

    @Test("Challenge pages: a bad token is 404, an unknown outcome is 400 and changes nothing")
    func challengeBadInput() async throws {
        try await withWire { api in
            let intent = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
            ])
            let id = try #require(intent["id"]?.string)
            let path = try api.challengePath(of: intent)
            let wrongToken = try await api.send(.get, "/3ds/\(id)/not-the-token", auth: nil)
            let wrongPost = try await api.send(.post, "/3ds/\(id)/not-the-token", body: "outcome=complete", auth: nil)
            let bogus = try await api.send(.post, path, body: "outcome=maybe", auth: nil)
            #expect(wrongToken.status == 404)
            #expect(wrongPost.status == 404)
            #expect(bogus.status == 400)
            let after = try await api.get("/v1/payment_intents/\(id)")
            #expect(after.json["status"]?.string == "requires_action")
        }
    }

    // MARK: - Health and Request-Id

    @Test("GET /health answers 200")
    func health() async throws {
        try await withWire { api in
            let response = try await api.get("/health", auth: nil)
            #expect(response.status == 200)
            #expect(response.json["status"]?.string == "ok")
        }
    }

    @Test("Every response carries a fresh Request-Id of Stripe's shape, errors included")
    func requestIDs() async throws {
        try await withWire { api in
            // When a variety of requests are made (each one's Request-Id shape is checked by the client)
            let responses = [
                try await api.get("/health", auth: nil),
                try await api.get("/v1/payment_intents"),
                try await api.get("/v1/payment_intents", auth: nil),
                try await api.get("/v1/payment_intents/pi_missing"),
                try await api.get("/nowhere"),
                try await api.createIntent([("foo", "bar")]),
                try await api.postJSON("/pay", "{}", auth: nil),
                try await api.send(.get, "/3ds/pi_x/token", auth: nil),
            ]
            // Then each has its own id
            let ids = responses.compactMap { $0.header("Request-Id") }
            #expect(ids.count == responses.count)
            #expect(Set(ids).count == ids.count)
        }
    }
}
