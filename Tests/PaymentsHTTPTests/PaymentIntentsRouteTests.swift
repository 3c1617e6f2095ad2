import Foundation
import HTTPTypes
import Hummingbird
import TestSupport
import Testing

/// `/v1/payment_intents` and `/v1/payment_methods` through the real router, and the wire format.
@Suite("PaymentIntents routes and wire format")
struct PaymentIntentsRouteTests {
    // MARK: - Endpoints

    @Test("POST /v1/payment_methods with bracket-nested card fields; GET it back; the number is never echoed")
    func paymentMethods() async throws {
        try await withWire { api in
            // When a card is created with raw (unescaped) brackets
            let created = try await api.send(
                .post,
                "/v1/payment_methods",
                body: "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[cvc]=123"
                    + "&metadata[order]=42&billing_details[name]=Jenny+Rosen&billing_details[address][country]=FR"
            )
            // Then
            #expect(created.status == 200)
            let pm = created.json
            let id = try #require(pm["id"]?.string)
            #expect(id.hasPrefix("pm_"))
            #expect(pm["object"]?.string == "payment_method")
            #expect(pm["type"]?.string == "card")
            #expect(pm["card"]?["brand"]?.string == "visa")
            #expect(pm["card"]?["last4"]?.string == "4242")
            #expect(pm["card"]?["exp_month"]?.int == 12)
            #expect(pm["card"]?["exp_year"]?.int == 2030)
            #expect(pm["card"]?["fingerprint"]?.string?.count == 16)
            #expect(pm["metadata"]?["order"]?.string == "42")
            #expect(pm["billing_details"]?["name"]?.string == "Jenny Rosen")
            #expect(pm["billing_details"]?["address"]?["country"]?.string == "FR")
            #expect(pm["customer"]?.isNull == true)
            #expect(!created.text.contains("4242424242424242"))
            #expect(!created.text.contains("\"123\""))
            // When it is retrieved
            let retrieved = try await api.get("/v1/payment_methods/\(id)")
            // Then
            #expect(retrieved.status == 200)
            #expect(retrieved.json == pm)
        }
    }

    @Test("A customer's payment methods list")
    func paymentMethodsList() async throws {
        try await withWire { api in
            // Given a customer with two cards
            let customer = try #require(
                try await api.post("/v1/customers", [("email", "a@example.com")]).json["id"]?.string
            )
            var cards: [String] = []
            for number in ["4242424242424242", "5555555555554444"] {
                let card = try await api.card(number)
                let attached = try await api.post("/v1/payment_methods/\(card)/attach", [("customer", customer)])
                #expect(attached.status == 200)
                cards.append(card)
            }
            // When
            let list = try await api.get("/v1/payment_methods", [("customer", customer), ("type", "card")])
            // Then
            #expect(list.status == 200)
            #expect(list.json["object"]?.string == "list")
            #expect(list.json["url"]?.string == "/v1/payment_methods")
            #expect(list.json["has_more"]?.bool == false)
            #expect(Set(list.json.ids) == Set(cards))
        }
    }

    @Test("Create with confirm=true, retrieve, update, confirm and cancel")
    func intentLifecycle() async throws {
        try await withWire { api in
            let card = try await api.card("4242424242424242")
            // When an intent is created and confirmed at once
            let paid = try await api.intent([("payment_method", card), ("confirm", "true"), ("metadata[order]", "42")])
            // Then it succeeded in Stripe's shape
            let paidID = try #require(paid["id"]?.string)
            #expect(paidID.hasPrefix("pi_"))
            #expect(paid["object"]?.string == "payment_intent")
            #expect(paid["status"]?.string == "succeeded")
            #expect(paid["amount"]?.int == 2_000)
            #expect(paid["amount_received"]?.int == 2_000)
            #expect(paid["currency"]?.string == "usd")
            #expect(paid["livemode"]?.bool == false)
            #expect(paid["client_secret"]?.string?.hasPrefix(paidID + "_secret_") == true)
            #expect(paid["latest_charge"]?.string?.hasPrefix("ch_") == true)
            #expect(paid["payment_method"]?.string == card)
            #expect(paid["metadata"]?["order"]?.string == "42")
            #expect(paid["next_action"]?.isNull == true)
            #expect(paid["last_payment_error"]?.isNull == true)
            // And GET gives the same object
            let retrieved = try await api.get("/v1/payment_intents/\(paidID)")
            #expect(retrieved.status == 200)
            #expect(retrieved.json == paid)

            // Given an intent without a payment method
            let open = try await api.intent()
            let openID = try #require(open["id"]?.string)
            #expect(open["status"]?.string == "requires_payment_method")
            // When it is updated with a payment method and metadata
            let other = try await api.card("5555555555554444")
            let updated = try await api.post(
                "/v1/payment_intents/\(openID)",
                [("payment_method", other), ("metadata[note]", "gift"), ("description", "Mug")]
            )
            // Then it needs confirmation
            #expect(updated.status == 200)
            #expect(updated.json["status"]?.string == "requires_confirmation")
            #expect(updated.json["metadata"]?["note"]?.string == "gift")
            #expect(updated.json["description"]?.string == "Mug")
            // When confirmed
            let confirmed = try await api.post("/v1/payment_intents/\(openID)/confirm")
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")

            // Given a third intent, When canceled, Then
            let third = try #require(try await api.intent()["id"]?.string)
            let canceled = try await api.post(
                "/v1/payment_intents/\(third)/cancel",
                [("cancellation_reason", "requested_by_customer")]
            )
            #expect(canceled.status == 200)
            #expect(canceled.json["status"]?.string == "canceled")
            #expect(canceled.json["cancellation_reason"]?.string == "requested_by_customer")
            #expect(canceled.json["canceled_at"]?.int == api.environment.clock.now)
            #expect(try api.environment.network.approvedCount() == 2)
        }
    }

    @Test("Create with confirm=true and no payment method is refused without naming an intent that was never made")
    func confirmOnCreateWithoutPaymentMethod() async throws {
        try await withWire { api in
            // When an intent is created and confirmed without a payment method
            let response = try await api.createIntent([("confirm", "true")])

            // Then it is refused on payment_method, and its message names no intent id: none was stored
            #expect(response.status == 400)
            #expect(response.error["param"]?.string == "payment_method")
            let message = try #require(response.error["message"]?.string)
            #expect(message.contains("missing a payment method"))
            #expect(!message.contains("pi_"), "\(message)")
            #expect(try await api.listCount("/v1/payment_intents") == 0)

            // While confirming a stored intent without one still names it
            let open = try #require(try await api.intent()["id"]?.string)
            let confirmed = try await api.post("/v1/payment_intents/\(open)/confirm", [])
            #expect(confirmed.status == 400)
            #expect(confirmed.error["message"]?.string?.contains(open) == true)
            // and carries it in `error.payment_intent`, as every other refusal of an intent's state does
            #expect(confirmed.error["payment_intent"]?["id"]?.string == open, "\(confirmed.text)")
            #expect(response.error["payment_intent"] == nil)
        }
    }

    @Test(
        "A statement descriptor without a letter, with a character Stripe forbids or not Latin is refused",
        arguments: [
            ("statement_descriptor", "12345"), ("statement_descriptor", "Shop*Online"),
            ("statement_descriptor_suffix", "it's"), ("statement_descriptor_suffix", "a\\b"),
            ("statement_descriptor_suffix", "<x>"), ("statement_descriptor", "quote\"d"),
            ("statement_descriptor", "SHOP\nONLINE"), ("statement_descriptor", "SHOP\tONLINE"),
            ("statement_descriptor_suffix", "\u{1F600}abc"), ("statement_descriptor", "Магазин"),
            ("statement_descriptor_suffix", "A\u{7F}B"), ("statement_descriptor", "SHOP\u{A0}ONE"),
        ]
    )
    func statementDescriptorRules(_ name: String, _ value: String) async throws {
        try await withWire { api in
            // When an intent is created with it
            let created = try await api.createIntent([(name, value)])
            // Then it is refused, naming the parameter, and nothing was stored
            #expect(created.status == 400, "\(created.text)")
            #expect(created.error["param"]?.string == name)
            #expect(try await api.listCount("/v1/payment_intents") == 0)

            // When an intent with a valid one is updated with it
            let intent = try await api.intent([(name, "SHOP 42")])
            let id = try #require(intent["id"]?.string)
            let updated = try await api.post("/v1/payment_intents/\(id)", [(name, value)])
            // Then it is refused, and the valid one stays; an empty value still unsets it
            #expect(updated.status == 400, "\(updated.text)")
            #expect(updated.error["param"]?.string == name)
            #expect(try await api.retrieveIntent(id)[name]?.string == "SHOP 42")
            let cleared = try await api.post("/v1/payment_intents/\(id)", [(name, "")])
            #expect(cleared.status == 200, "\(cleared.text)")
            #expect(cleared.json[name]?.isNull == true)
        }
    }

    @Test("A statement descriptor of accented Latin letters is taken as sent")
    func statementDescriptorLatin() async throws {
        try await withWire { api in
            let intent = try await api.intent([
                ("statement_descriptor", "CAFÉ MÜNCHEN"), ("statement_descriptor_suffix", "Łódź-7"),
            ])
            #expect(intent["statement_descriptor"]?.string == "CAFÉ MÜNCHEN", "\(intent)")
            #expect(intent["statement_descriptor_suffix"]?.string == "Łódź-7", "\(intent)")
            // An accent typed as a combining mark is taken, as the composed letter; Latin-1's signs are taken
            let decomposed = try await api.intent([
                ("statement_descriptor", "Cafe\u{301} ¿SI? £5"), ("statement_descriptor_suffix", "2×3 °C ©"),
            ])
            #expect(decomposed["statement_descriptor"]?.string == "Café ¿SI? £5", "\(decomposed)")
            #expect(decomposed["statement_descriptor_suffix"]?.string == "2×3 °C ©", "\(decomposed)")
            // and counted as one character: 22 once composed is taken, 23 is not
            let longest = String(repeating: "A", count: 21) + "e\u{301}"
            let atLimit = try await api.intent([("statement_descriptor", longest)])
            #expect(atLimit["statement_descriptor"]?.string == String(repeating: "A", count: 21) + "é", "\(atLimit)")
            let over = try await api.createIntent([("statement_descriptor", "A" + longest)])
            #expect(over.status == 400 && over.error["code"]?.string == "parameter_invalid_string_too_long")
            #expect(over.error["message"]?.string?.contains("at most 22 characters") == true, "\(over.text)")
            // A letter typed with two combining marks is three code points, one character composed (ǖ)
            let twoMarks = String(repeating: "u\u{308}\u{304}", count: 22)
            let marked = try await api.intent([("statement_descriptor_suffix", twoMarks)])
            #expect(marked["statement_descriptor_suffix"]?.string == String(repeating: "ǖ", count: 22), "\(marked)")
            // Letters of Latin Extended Additional, where Vietnamese's compose (ệ is e and two marks)
            let vietnamese = try await api.intent([
                ("statement_descriptor", "Phở Việt e\u{323}\u{302}"), ("statement_descriptor_suffix", "ạ ṣ ẞ"),
            ])
            #expect(vietnamese["statement_descriptor"]?.string == "Phở Việt ệ", "\(vietnamese)")
            #expect(vietnamese["statement_descriptor_suffix"]?.string == "ạ ṣ ẞ", "\(vietnamese)")
        }
    }

    @Test("expand[]=payment_method and the SDKs' expand[0]=payment_method both expand")
    func expansion() async throws {
        try await withWire { api in
            // Given a paid intent with a customer
            let customer = try #require(try await api.post("/v1/customers", [("name", "Jenny")]).json["id"]?.string)
            let intent = try await api.intent([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("customer", customer),
            ])
            let id = try #require(intent["id"]?.string)
            // When
            let plain = try await api.get("/v1/payment_intents/\(id)")
            let brackets = try await api.get("/v1/payment_intents/\(id)", [("expand[]", "payment_method")])
            let indexed = try await api.get("/v1/payment_intents/\(id)", [("expand[0]", "payment_method")])
            let several = try await api.get(
                "/v1/payment_intents/\(id)",
                [("expand[0]", "customer"), ("expand[1]", "latest_charge")]
            )
            // Then
            #expect(plain.json["payment_method"]?.string?.hasPrefix("pm_") == true)
            for response in [brackets, indexed] {
                #expect(response.status == 200)
                #expect(response.json["payment_method"]?["object"]?.string == "payment_method")
                #expect(response.json["payment_method"]?["id"] == plain.json["payment_method"])
                #expect(response.json["payment_method"]?["card"]?["last4"]?.string == "4242")
            }
            #expect(several.json["customer"]?["id"]?.string == customer)
            #expect(several.json["customer"]?["object"]?.string == "customer")
            #expect(several.json["latest_charge"]?["object"]?.string == "charge")
            #expect(several.json["latest_charge"]?["status"]?.string == "succeeded")
            #expect(several.json["latest_charge"]?["paid"]?.bool == true)
            // And expansion works on create, in the body
            let created = try await api.createIntent([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("expand[0]", "payment_method"),
            ])
            #expect(created.json["payment_method"]?["object"]?.string == "payment_method")
            // And a field that cannot be expanded is a 400
            let bad = try await api.get("/v1/payment_intents/\(id)", [("expand[]", "metadata")])
            #expect(bad.status == 400)
            #expect(bad.error["param"]?.string == "expand")
        }
    }

    @Test(
        "a field Stripe expands that is always null here (no reviews, invoices, Connect) expands to null, as Stripe's",
        arguments: ["application", "invoice", "on_behalf_of", "review"]
    )
    func alwaysNullFieldsExpandToNull(field: String) async throws {
        try await withWire { api in
            // Given a paid intent, the field null
            let paid = try await api.intent([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let id = try #require(paid["id"]?.string)
            #expect(paid.at(field) == WireJSON.null, "\(paid)")

            // When an intent is created, read, updated and listed with the field expanded
            let created = try await api.createIntent([("expand[]", field)])
            let createdID = try #require(created.json["id"]?.string, "\(created.text)")
            let read = try await api.get("/v1/payment_intents/\(id)", [("expand[]", field)])
            let updated = try await api.post(
                "/v1/payment_intents/\(createdID)",
                [("metadata[order]", "7"), ("expand[]", field)]
            )
            let listed = try await api.get("/v1/payment_intents", [("expand[]", "data." + field)])

            // Then each answers 200 with the field there and null
            for response in [created, read, updated, listed] { #expect(response.status == 200, "\(response.text)") }
            for object in [created.json, read.json, updated.json, listed.json["data"]?[0] ?? .null] {
                #expect(object.at(field) == WireJSON.null, "\(object)")
            }

            // And a path below it, the bare field on the list and a name Stripe lacks are still the 400
            let below = try await api.get("/v1/payment_intents/\(id)", [("expand[]", field + ".charge")])
            let bare = try await api.get("/v1/payment_intents", [("expand[]", field)])
            let unknown = try await api.get("/v1/payment_intents/\(id)", [("expand[]", field + "s")])
            #expect(below.refusesExpanding(field + ".charge"), "\(below.text)")
            #expect(bare.status == 400 && bare.error["message"]?.string?.contains("'data.\(field)'") == true)
            #expect(unknown.refusesExpanding(field + "s"), "\(unknown.text)")
        }
    }

    @Test("In lists, expand[]=data.payment_method expands each item; a bare field is refused")
    func listExpansion() async throws {
        try await withWire { api in
            // Given a paid intent
            _ = try await api.intent([("payment_method", "pm_card_visa"), ("confirm", "true")])
            // When
            let expanded = try await api.get("/v1/payment_intents", [("expand[]", "data.payment_method")])
            let bare = try await api.get("/v1/payment_intents", [("expand[]", "payment_method")])
            // Then
            #expect(expanded.status == 200)
            #expect(expanded.json["data"]?[0]?["payment_method"]?["object"]?.string == "payment_method")
            #expect(bare.status == 400)
            #expect(bare.error["param"]?.string == "expand")
        }
    }

    @Test("JSON bodies are accepted")
    func jsonBody() async throws {
        try await withWire { api in
            // When
            let response = try await api.postJSON(
                "/v1/payment_intents",
                """
                {"amount": 1500, "currency": "usd", "confirm": true, "payment_method": "pm_card_visa",
                 "metadata": {"order": "42"}, "expand": ["payment_method"]}
                """
            )
            // Then
            #expect(response.status == 200)
            #expect(response.json["status"]?.string == "succeeded")
            #expect(response.json["amount"]?.int == 1_500)
            #expect(response.json["metadata"]?["order"]?.string == "42")
            #expect(response.json["payment_method"]?["card"]?["last4"]?.string == "4242")
            // And a JSON card body creates a payment method
            let card = try await api.postJSON(
                "/v1/payment_methods",
                #"{"type": "card", "card": {"number": "5555555555554444", "exp_month": 12, "exp_year": 2030}}"#
            )
            #expect(card.status == 200)
            #expect(card.json["card"]?["brand"]?.string == "mastercard")
        }
    }

    @Test("Lists: object=list, data, has_more, url, and pagination both ways")
    func listPagination() async throws {
        try await withWire { api in
            // Given three intents (newest last) and one for a customer
            let customer = try #require(try await api.post("/v1/customers", [("name", "Jenny")]).json["id"]?.string)
            var ids: [String] = []
            for _ in 0..<3 { ids.append(try #require(try await api.intent()["id"]?.string)) }
            let owned = try #require(try await api.intent([("customer", customer)])["id"]?.string)
            let newestFirst = [owned] + ids.reversed()
            // When
            let first = try await api.get("/v1/payment_intents", [("limit", "2")])
            let second = try await api.get("/v1/payment_intents", [("limit", "2"), ("starting_after", newestFirst[1])])
            let back = try await api.get("/v1/payment_intents", [("limit", "2"), ("ending_before", newestFirst[3])])
            let mine = try await api.get("/v1/payment_intents", [("customer", customer)])
            let now = String(api.environment.clock.now)
            let created = try await api.get("/v1/payment_intents", [("created[gte]", now), ("created[lte]", now)])
            let future = try await api.get("/v1/payment_intents", [("created[gt]", now)])
            // Then
            #expect(first.status == 200)
            #expect(first.json["object"]?.string == "list")
            #expect(first.json["url"]?.string == "/v1/payment_intents")
            #expect(first.json.ids == Array(newestFirst[0..<2]))
            #expect(first.json["has_more"]?.bool == true)
            #expect(second.json.ids == Array(newestFirst[2..<4]))
            #expect(second.json["has_more"]?.bool == false)
            #expect(back.json.ids == Array(newestFirst[1..<3]))
            #expect(back.json["has_more"]?.bool == true)
            #expect(mine.json.ids == [owned])
            #expect(created.json.ids == newestFirst)
            #expect(future.json.ids.isEmpty)
            #expect(future.json["data"]?.array?.isEmpty == true)
        }
    }

    @Test("HEAD with a query answers as the GET does, reading the query as the GET's parameters")
    func headWithQuery() async throws {
        try await withWire { api in
            _ = try await api.intent()
            for uri in ["/v1/payment_intents?limit=1", "/v1/customers?limit=2", "/v1/events?type=payment_intent.*"] {
                let get = try await api.send(.get, uri)
                let head = try await api.send(.head, uri)
                #expect(get.status == 200, "\(get.text)")
                #expect(head.status == get.status, "HEAD \(uri): \(head.text)")
                #expect(head.text.isEmpty)
            }
            // and an unknown parameter is refused as the GET refuses it
            let refused = try await api.send(.head, "/v1/payment_intents?colour=blue")
            #expect(refused.status == 400)
        }
    }

    @Test("An update that sends the intent's own amount and currency again leaves an open challenge open")
    func sameValuesKeepChallenge() async throws {
        try await withWire { api in
            // Given an intent waiting for its customer's 3-D Secure
            let threeDS = try await api.card("4000002500003155")
            let pending = try await api.intent([("payment_method", threeDS), ("confirm", "true")])
            #expect(pending["status"]?.string == "requires_action")
            let id = try #require(pending["id"]?.string)

            // When the merchant's backend re-sends the order's amount, currency and card, unchanged
            let resent = try await api.post(
                "/v1/payment_intents/\(id)",
                [("amount", "2000"), ("currency", "usd"), ("payment_method", threeDS), ("description", "order 7")]
            )

            // Then the intent still waits for the customer, whose link still works (it was voided, the intent moved
            // to requires_confirmation), and the payment succeeds
            #expect(resent.status == 200, "\(resent.text)")
            #expect(resent.json["status"]?.string == "requires_action")
            #expect(resent.json["description"]?.string == "order 7")
            let completed = try await api.completeChallenge(of: pending)
            #expect(completed.status == 200, "\(completed.text)")
            #expect(try await api.get("/v1/payment_intents/\(id)").json["status"]?.string == "succeeded")

            // While a changed amount still voids the challenge, as a new confirmation is needed
            let otherCard = try await api.card("4000002500003155")
            let other = try await api.intent([("payment_method", otherCard), ("confirm", "true")])
            let otherID = try #require(other["id"]?.string)
            let changed = try await api.post("/v1/payment_intents/\(otherID)", [("amount", "2100")])
            #expect(changed.json["status"]?.string == "requires_confirmation", "\(changed.text)")
            #expect(try await api.completeChallenge(of: other).status == 404)
        }
    }

    @Test("Stripe-Version before 2019-02-11 renders requires_source and requires_source_action")
    func legacyStatusNames() async throws {
        try await withWire { api in
            // Given an intent in requires_payment_method and one in requires_action
            let open = try #require(try await api.intent()["id"]?.string)
            let threeDS = try await api.card("4000002500003155")
            let pending = try await api.intent([("payment_method", threeDS), ("confirm", "true")])
            #expect(pending["status"]?.string == "requires_action")
            let pendingID = try #require(pending["id"]?.string)
            let old: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2018-05-21"]
            let new: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2026-06-24.dahlia"]
            // When
            let oldOpen = try await api.get("/v1/payment_intents/\(open)", headers: old)
            let oldPending = try await api.get("/v1/payment_intents/\(pendingID)", headers: old)
            let newOpen = try await api.get("/v1/payment_intents/\(open)", headers: new)
            let newPending = try await api.get("/v1/payment_intents/\(pendingID)", headers: new)
            let oldCreate = try await api.post(
                "/v1/payment_intents",
                [("amount", "2000"), ("currency", "usd")],
                headers: old
            )
            // Then
            #expect(oldOpen.json["status"]?.string == "requires_source")
            #expect(oldPending.json["status"]?.string == "requires_source_action")
            #expect(oldCreate.json["status"]?.string == "requires_source")
            #expect(newOpen.json["status"]?.string == "requires_payment_method")
            #expect(newPending.json["status"]?.string == "requires_action")
            #expect(newPending.json["next_action"]?["type"]?.string == "redirect_to_url")
            // and the fields renamed with them: next_source_action (authorize_with_url), allowed_source_types
            let challenge = try #require(newPending.json["next_action"]?["redirect_to_url"]?["url"]?.string)
            #expect(!oldPending.json.has("next_action") && !oldPending.json.has("payment_method_types"))
            #expect(oldPending.json["next_source_action"]?["type"]?.string == "authorize_with_url")
            #expect(oldPending.json["next_source_action"]?["authorize_with_url"]?["url"]?.string == challenge)
            #expect(oldPending.json["allowed_source_types"]?.array == [.string("card")])
            #expect(oldOpen.json["next_source_action"]?.isNull == true)
            #expect(!newPending.json.has("next_source_action") && !newPending.json.has("allowed_source_types"))
        }
    }

    @Test("Stripe-Version before 2022-11-15 shows each intent's charges, newest first; later versions do not")
    func legacyChargesList() async throws {
        try await withWire { api in
            let old: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2020-08-27"]
            let new: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2022-11-15"]
            // Given an intent whose first attempt is declined (a 402 naming it) and whose second succeeds
            let declined = try await api.card("4000000000009995")
            let decline = try await api.post(
                "/v1/payment_intents",
                [("amount", "2000"), ("currency", "usd"), ("payment_method", declined), ("confirm", "true")],
                headers: old
            )
            #expect(decline.status == 402)
            let failedCharge = try #require(decline.error["charge"]?.string)
            let id = try #require(decline.error["payment_intent"]?["id"]?.string)
            // the error's intent, in the old version, lists the failed charge
            #expect(decline.error["payment_intent"]?["charges"]?.ids == [failedCharge])
            let confirmed = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("payment_method", "pm_card_visa")],
                headers: old
            )
            #expect(confirmed.status == 200, "\(confirmed.text)")
            let succeeded = try #require(confirmed.json["latest_charge"]?.string)
            // When
            let oldRead = try await api.get("/v1/payment_intents/\(id)", headers: old)
            let oldList = try await api.get("/v1/payment_intents", [("limit", "1")], headers: old)
            let newRead = try await api.get("/v1/payment_intents/\(id)", headers: new)
            let unversioned = try await api.get("/v1/payment_intents/\(id)")
            let oldEvents = try await api.get("/v1/events", [("type", "payment_intent.succeeded")], headers: old)
            let open = try await api.post(
                "/v1/payment_intents",
                [("amount", "500"), ("currency", "usd")],
                headers: old
            )
            let expandCharges = try await api.get("/v1/payment_intents/\(id)", [("expand[]", "charges")], headers: old)
            // Then the old version lists the latest charge in full, beside latest_charge: Stripe's list "only contains
            // the latest charge, even if there were previously multiple unsuccessful charges"
            for body in [confirmed.json, oldRead.json, oldList.json["data"]?.array?.first ?? .null] {
                let charges = try #require(body["charges"])
                #expect(charges["object"]?.string == "list")
                #expect(charges.ids == [succeeded])
                #expect(charges["has_more"] == .bool(false))
                #expect(charges["url"]?.string == "/v1/charges?payment_intent=\(id)")
                #expect(charges["data"]?.array?.first?["status"]?.string == "succeeded")
                #expect(charges["data"]?.array?.first?["amount_captured"] == .number(2000))
                #expect(body["latest_charge"]?.string == succeeded)
            }
            // the earlier, failed attempt is in the charges list endpoint
            let all = try await api.get("/v1/charges", [("payment_intent", id)])
            #expect(all.json.ids == [succeeded, failedCharge])
            // and a publishable key's view of the intent has no list (it is not shown one)
            let secret = try #require(oldRead.json["client_secret"]?.string)
            let publishable = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret)],
                auth: TestHTTP.publishableAuth,
                headers: old
            )
            #expect(publishable.status == 200 && !publishable.json.has("charges"), "\(publishable.text)")
            // an intent without an attempt has an empty list
            #expect(open.json["charges"]?["data"]?.array?.isEmpty == true)
            // later versions, and a request naming none, have latest_charge alone
            #expect(newRead.status == 200 && !newRead.json.has("charges"))
            #expect(unversioned.status == 200 && !unversioned.json.has("charges"))
            // an event's snapshot holds the intent alone: no list of charges as they stood then
            let event = try #require(oldEvents.json["data"]?.array?.first)
            #expect(event["data"]?["object"]?["id"]?.string == id)
            #expect(event["data"]?["object"]?.has("charges") == false)
            // and `charges` is no expansion a client may ask for, in any version
            #expect(expandCharges.status == 400)
            // but that era's fee code expands its charges' balance transactions: null here, on retrieve and list
            let fees = "charges.data.balance_transaction"
            let oldFees = try await api.get("/v1/payment_intents/\(id)", [("expand[]", fees)], headers: old)
            #expect(oldFees.status == 200, "\(oldFees.text)")
            #expect(oldFees.json["charges"]?.ids == [succeeded])
            #expect(oldFees.json["charges"]?["data"]?.array?.first?["balance_transaction"]?.isNull == true)
            let oldListFees = try await api.get(
                "/v1/payment_intents",
                [("limit", "1"), ("expand[]", "data." + fees)],
                headers: old
            )
            #expect(oldListFees.status == 200, "\(oldListFees.text)")
            // a later version has no such list to expand
            let newFees = try await api.get("/v1/payment_intents/\(id)", [("expand[]", fees)], headers: new)
            #expect(newFees.status == 400, "\(newFees.text)")
        }
    }

    @Test("A 402 decline carries card_error, code, decline_code, the intent object and the payment method")
    func declineBody() async throws {
        try await withWire { api in
            // Given a card with insufficient funds
            let card = try await api.card("4000000000009995")
            // When
            let response = try await api.createIntent([("payment_method", card), ("confirm", "true")])
            // Then
            #expect(response.status == 402)
            let error = response.error
            #expect(error["type"]?.string == "card_error")
            #expect(error["code"]?.string == "card_declined")
            #expect(error["decline_code"]?.string == "insufficient_funds")
            #expect(error["message"]?.string?.isEmpty == false)
            #expect(error["doc_url"]?.string?.hasPrefix("https://stripe.com/docs/error-codes/") == true)
            #expect(error["charge"]?.string?.hasPrefix("ch_") == true)
            let intent = try #require(error["payment_intent"])
            #expect(intent["object"]?.string == "payment_intent")
            #expect(intent["status"]?.string == "requires_payment_method")
            #expect(intent["last_payment_error"]?["decline_code"]?.string == "insufficient_funds")
            #expect(intent["last_payment_error"]?["payment_method"]?["id"]?.string == card)
            #expect(error["payment_method"]?["object"]?.string == "payment_method")
            #expect(error["payment_method"]?["id"]?.string == card)
            // And the intent reads back the same way
            let id = try #require(intent["id"]?.string)
            let retrieved = try await api.get("/v1/payment_intents/\(id)")
            #expect(retrieved.json["status"]?.string == "requires_payment_method")
            #expect(retrieved.json["payment_method"]?.isNull == true)
        }
    }

    /// Stripe: "It will be cleared if the PaymentIntent is later updated for any reason." Found by a model-based
    /// probe: a canceled intent's kept its decline through an update of its description.
    @Test("An update clears last_payment_error, an open intent's and a canceled one's")
    func updateClearsLastPaymentError() async throws {
        try await withWire { api in
            for cancelFirst in [false, true] {
                let declined = try await api.createIntent([
                    ("payment_method", "pm_card_visa_chargeDeclined"), ("confirm", "true"),
                ])
                #expect(declined.status == 402, "\(declined.text)")
                let id = try #require(declined.error["payment_intent"]?["id"]?.string)
                if cancelFirst {
                    let canceled = try await api.post("/v1/payment_intents/\(id)/cancel", [])
                    #expect(canceled.json["status"]?.string == "canceled", "\(canceled.text)")
                    #expect(canceled.json["last_payment_error"]?["code"]?.string == "card_declined")
                }
                let updated = try await api.post("/v1/payment_intents/\(id)", [("description", "order 7")])
                #expect(updated.status == 200, "\(updated.text)")
                #expect(updated.json["last_payment_error"]?.isNull == true, "\(updated.text)")
                let read = try await api.get("/v1/payment_intents/\(id)")
                #expect(read.json["last_payment_error"]?.isNull == true, "\(read.text)")
                // And the update records no event: it cancels nothing and fails nothing (a second
                // `payment_intent.canceled` was recorded for a canceled intent's update, a probe)
                let events = try await api.get("/v1/events", [("limit", "100")])
                let types =
                    events.json["data"]?.array?.filter { $0["data"]?["object"]?["id"]?.string == id }
                    .compactMap { $0["type"]?.string } ?? []
                #expect(types.filter { $0 == "payment_intent.canceled" }.count == (cancelFirst ? 1 : 0), "\(types)")
                #expect(types.filter { $0 == "payment_intent.payment_failed" }.count == 1, "\(types)")
            }
        }
    }

    @Test("Off-session with a card that always needs authentication is a 402 authentication_required")
    func offSessionAuthenticationRequired() async throws {
        try await withWire { api in
            let response = try await api.createIntent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"), ("off_session", "true"),
            ])
            #expect(response.status == 402)
            #expect(response.error["code"]?.string == "authentication_required")
            #expect(response.error["payment_intent"]?["status"]?.string == "requires_payment_method")
        }
    }

    @Test(
        "error_on_requires_action fails the attempt as a failed charge, counted by report_declines",
        arguments: [true, false]
    )
    func errorOnRequiresAction(onCreate: Bool) async throws {
        try await withWire { api in
            // Given a card that asks for 3-D Secure, on a new intent or on one already created
            let form = [("payment_method", "pm_card_authenticationRequired"), ("error_on_requires_action", "true")]
            let response: WireResponse
            if onCreate {
                response = try await api.createIntent(form + [("confirm", "true")])
            } else {
                let id = try #require(try await api.intent()["id"]?.string)
                response = try await api.post("/v1/payment_intents/\(id)/confirm", form)
            }
            // When it is confirmed with error_on_requires_action, then the attempt fails with a charge, as Stripe's
            // failed attempts do
            #expect(response.status == 402, "\(response.text)")
            #expect(response.error["type"]?.string == "card_error")
            #expect(response.error["code"]?.string == "payment_intent_action_required")
            let charge = try #require(response.error["charge"]?.string)
            let intent = try #require(response.error["payment_intent"])
            #expect(intent["status"]?.string == "requires_payment_method")
            #expect(intent["latest_charge"]?.string == charge)
            #expect(intent["next_action"]?.isNull == true)
            #expect(intent["last_payment_error"]?["charge"]?.string == charge)
            let stored = try await api.get("/v1/charges/\(charge)")
            #expect(stored.json["status"]?.string == "failed")
            #expect(stored.json["failure_code"]?.string == "payment_intent_action_required")
            #expect(stored.json["captured"]?.bool == false && stored.json["amount_captured"]?.int == 0)
            #expect(try api.environment.network.approvedCount() == 0)
            // And report_declines counts it under its code
            let report = try await api.environment.database.report("declines")
            #expect(report.rows.map { $0[1] } == [.text("payment_intent_action_required")])
            #expect(report.rows.first?[2] == .integer(1))
            // And the events say the charge failed, then the payment
            let events = try await api.get("/v1/events", [("limit", "2")])
            #expect(
                events.json["data"]?.array?.compactMap { $0["type"]?.string } == [
                    "payment_intent.payment_failed", "charge.failed",
                ]
            )
        }
    }

    @Test("use_stripe_sdk and mandate_data, which Stripe.js sends, are accepted on create and confirm")
    func stripeJSParameters() async throws {
        try await withWire { api in
            let sdk = [("use_stripe_sdk", "true"), ("mandate_data[customer_acceptance][type]", "online")]
            let created = try await api.createIntent(sdk + [("payment_method", "pm_card_visa"), ("confirm", "true")])
            #expect(created.status == 200, "\(created.text)")
            #expect(created.json["status"]?.string == "succeeded")
            let id = try #require(try await api.intent([("payment_method", "pm_card_visa")])["id"]?.string)
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm", sdk)
            #expect(confirmed.status == 200 && confirmed.json["status"]?.string == "succeeded", "\(confirmed.text)")
            // But of their types: a boolean and a hash (`use_stripe_sdk=maybe` passed: a probe); nothing made
            let before = try await api.listCount("/v1/payment_intents")
            for (field, value) in [("use_stripe_sdk", "maybe"), ("mandate_data", "online")] {
                let refused = try await api.createIntent([("payment_method", "pm_card_visa"), (field, value)])
                #expect(refused.status == 400 && refused.error["param"]?.string == field, "\(refused.text)")
            }
            #expect(try await api.listCount("/v1/payment_intents") == before)
            // And Stripe's inline card (payment_method_data), not built, says the way round
            let inline = try await api.createIntent([
                ("payment_method_data[type]", "card"), ("payment_method_data[billing_details][name]", "J"),
            ])
            #expect(inline.error["code"]?.string == "parameter_unknown", "\(inline.text)")
            #expect(inline.error["message"]?.string?.contains("create a PaymentMethod") == true, "\(inline.text)")
        }
    }

    @Test("capture_method=manual then capture")
    func manualCapture() async throws {
        try await withWire { api in
            let held = try await api.intent([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("capture_method", "manual"),
            ])
            #expect(held["status"]?.string == "requires_capture")
            #expect(held["amount_capturable"]?.int == 2_000)
            let id = try #require(held["id"]?.string)
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1500")])
            #expect(captured.status == 200)
            #expect(captured.json["status"]?.string == "succeeded")
            #expect(captured.json["amount_received"]?.int == 1_500)
        }
    }

    @Test("Customers: create, retrieve, update, list")
    func customers() async throws {
        try await withWire { api in
            // When
            let created = try await api.post(
                "/v1/customers",
                [("email", "jenny@example.com"), ("name", "Jenny Rosen"), ("metadata[tier]", "gold")]
            )
            let id = try #require(created.json["id"]?.string)
            let retrieved = try await api.get("/v1/customers/\(id)")
            let updated = try await api.post("/v1/customers/\(id)", [("name", "Jenny R."), ("metadata[tier]", "")])
            let other = try #require(try await api.post("/v1/customers", []).json["id"]?.string)
            let list = try await api.get("/v1/customers", [("limit", "1")])
            let byEmail = try await api.get("/v1/customers", [("email", "jenny@example.com")])
            // Then
            #expect(created.status == 200)
            #expect(id.hasPrefix("cus_"))
            #expect(created.json["object"]?.string == "customer")
            #expect(created.json["metadata"]?["tier"]?.string == "gold")
            #expect(retrieved.json == created.json)
            #expect(updated.json["name"]?.string == "Jenny R.")
            #expect(updated.json["email"]?.string == "jenny@example.com")
            #expect(updated.json["metadata"]?.has("tier") == false)
            #expect(list.json["url"]?.string == "/v1/customers")
            #expect(list.json.ids == [other])
            #expect(list.json["has_more"]?.bool == true)
            #expect(byEmail.json.ids == [id])
        }
    }
}
