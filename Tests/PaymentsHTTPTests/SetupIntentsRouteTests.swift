import Foundation
import HTTPTypes
import TestSupport
import Testing

/// `/v1/setup_intents` through the real router: each endpoint, the wire shape, lists, old API versions, bad input
/// and the publishable key. The test cards' behaviour at setup is in `SetupIntentCardsRouteTests`.
@Suite("SetupIntents routes and wire format")
struct SetupIntentsRouteTests {
    // MARK: - Create and retrieve

    @Test("create without a payment method is requires_payment_method, with Stripe's shape and defaults")
    func createBare() async throws {
        try await withWire { api in
            // When a setup intent is created with nothing but metadata and a description
            let response = try await api.createSetup([("metadata[order]", "42"), ("description", "Renewals")])

            // Then it has Stripe's shape: every key present, usage off_session by default
            #expect(response.status == 200)
            let setup = response.json
            let id = try #require(setup["id"]?.string)
            #expect(id.wholeMatch(of: /seti_[A-Za-z0-9]{24}/) != nil)
            #expect(setup["object"]?.string == "setup_intent")
            #expect(setup["status"]?.string == "requires_payment_method")
            #expect(setup["usage"]?.string == "off_session")
            #expect(setup["client_secret"]?.string?.hasPrefix(id + "_secret_") == true)
            #expect(setup["metadata"]?["order"]?.string == "42")
            #expect(setup["description"]?.string == "Renewals")
            #expect(setup["payment_method_types"]?.array == [.string("card")])
            #expect(setup["livemode"]?.bool == false)
            #expect(setup["created"]?.int == api.environment.clock.now)
            for empty in [
                "customer", "payment_method", "last_setup_error", "latest_attempt", "next_action",
                "cancellation_reason",
                "application", "mandate", "single_use_mandate", "on_behalf_of", "flow_directions",
            ] {
                #expect(setup.has(empty) && setup[empty]?.isNull == true, "\(empty)")
            }

            // And it reads back the same
            #expect(try await api.retrieveSetup(id) == setup)
        }
    }

    @Test("create with a customer, a payment method and usage=on_session is requires_confirmation")
    func createWithPaymentMethod() async throws {
        try await withWire { api in
            // Given a customer and a card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")

            // When
            let setup = try await api.setup([
                ("customer", customer), ("payment_method", card), ("usage", "on_session"),
            ])

            // Then nothing is set up yet
            #expect(setup["status"]?.string == "requires_confirmation")
            #expect(setup["customer"]?.string == customer)
            #expect(setup["payment_method"]?.string == card)
            #expect(setup["usage"]?.string == "on_session")
            #expect(try await api.owner(of: card) == nil)
        }
    }

    @Test("retrieve expands payment_method and customer; an unknown id is a 404 resource_missing")
    func retrieveExpandAndMissing() async throws {
        try await withWire { api in
            // Given a set-up card
            let customer = try await api.createCustomer()
            let setup = try await api.setup([
                ("customer", customer), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ])
            let id = try #require(setup["id"]?.string)

            // When
            let expanded = try await api.get(
                "/v1/setup_intents/\(id)",
                [("expand[]", "payment_method"), ("expand[]", "customer")]
            )
            let missing = try await api.get("/v1/setup_intents/seti_doesnotexist")
            let badExpand = try await api.get("/v1/setup_intents/\(id)", [("expand[]", "latest_charge")])

            // Then
            #expect(expanded.json["payment_method"]?["object"]?.string == "payment_method")
            #expect(expanded.json["payment_method"]?["card"]?["last4"]?.string == "4242")
            #expect(expanded.json["customer"]?["id"]?.string == customer)
            #expect(missing.status == 404)
            #expect(missing.error["code"]?.string == "resource_missing")
            #expect(missing.error["type"]?.string == "invalid_request_error")
            #expect(badExpand.status == 400)
            #expect(badExpand.error["param"]?.string == "expand")
        }
    }

    @Test(
        "a setup intent's fields Stripe expands that are always null here (no mandates, no Connect) expand to null",
        arguments: ["application", "mandate", "on_behalf_of", "single_use_mandate"]
    )
    func alwaysNullFieldsExpandToNull(field: String) async throws {
        try await withWire { api in
            // When a setup intent is created, read, updated, confirmed and listed with the field expanded
            let created = try await api.createSetup([("expand[]", field)])
            let id = try #require(created.json["id"]?.string, "\(created.text)")
            let read = try await api.get("/v1/setup_intents/\(id)", [("expand[]", field)])
            let updated = try await api.post("/v1/setup_intents/\(id)", [("metadata[a]", "1"), ("expand[]", field)])
            let confirmed = try await api.post(
                "/v1/setup_intents/\(id)/confirm",
                [("payment_method", "pm_card_visa"), ("expand[]", field)]
            )
            let listed = try await api.get("/v1/setup_intents", [("expand[]", "data." + field)])

            // Then each answers 200 with the field there and null, as Stripe expands a null field
            for response in [created, read, updated, confirmed, listed] {
                #expect(response.status == 200, "\(response.text)")
            }
            for object in [created.json, read.json, updated.json, confirmed.json, listed.json["data"]?[0] ?? .null] {
                #expect(object.at(field) == WireJSON.null, "\(object)")
            }
            #expect(confirmed.json["status"]?.string == "succeeded", "\(confirmed.text)")

            // And a path below it, and `latest_attempt` (a SetupAttempt, not served here), are still the 400
            let below = try await api.get("/v1/setup_intents/\(id)", [("expand[]", field + ".customer")])
            let attempt = try await api.get("/v1/setup_intents/\(id)", [("expand[]", "latest_attempt")])
            let attempts = try await api.get("/v1/setup_intents", [("expand[]", "data.latest_attempt")])
            #expect(below.refusesExpanding(field + ".customer"), "\(below.text)")
            #expect(attempt.refusesExpanding("latest_attempt"), "\(attempt.text)")
            #expect(attempts.refusesExpanding("data.latest_attempt"), "\(attempts.text)")
            #expect(confirmed.json["latest_attempt"]?.string?.hasPrefix("setatt_") == true)
        }
    }

    // MARK: - Update

    @Test("update changes metadata and description; a new payment method needs a new confirm")
    func update() async throws {
        try await withWire { api in
            // Given a setup intent waiting for a payment method
            let setup = try await api.setup([("metadata[a]", "1"), ("metadata[b]", "2")])
            let id = try #require(setup["id"]?.string)
            let card = try await api.card("4242424242424242")

            // When metadata, description and the payment method change
            let updated = try await api.post(
                "/v1/setup_intents/\(id)",
                [("metadata[a]", ""), ("metadata[c]", "3"), ("description", "Card on file"), ("payment_method", card)]
            )

            // Then
            #expect(updated.status == 200)
            #expect(updated.json["metadata"] == .object(["b": .string("2"), "c": .string("3")]))
            #expect(updated.json["description"]?.string == "Card on file")
            #expect(updated.json["payment_method"]?.string == card)
            #expect(updated.json["status"]?.string == "requires_confirmation")
            #expect(try await api.retrieveSetup(id) == updated.json)
        }
    }

    @Test("a succeeded setup intent takes new metadata but no new payment method or customer")
    func updateSucceeded() async throws {
        try await withWire { api in
            // Given a succeeded setup
            let setup = try await api.setup([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let id = try #require(setup["id"]?.string)
            try #require(setup["status"]?.string == "succeeded")
            let customer = try await api.createCustomer()

            // When
            let metadata = try await api.post("/v1/setup_intents/\(id)", [("metadata[note]", "kept")])
            let card = try await api.post("/v1/setup_intents/\(id)", [("payment_method", "pm_card_mastercard")])
            let owner = try await api.post("/v1/setup_intents/\(id)", [("customer", customer)])

            // Then
            #expect(metadata.status == 200)
            #expect(metadata.json["metadata"]?["note"]?.string == "kept")
            for refused in [card, owner] {
                #expect(refused.status == 400)
                #expect(refused.error["code"]?.string == "setup_intent_unexpected_state")
                #expect(refused.error["setup_intent"]?["status"]?.string == "succeeded")
            }
            let after = try await api.retrieveSetup(id)
            #expect(after["customer"]?.isNull == true)
            #expect(after["payment_method"] == setup["payment_method"])
        }
    }

    // MARK: - Cancel

    @Test("cancel an open setup intent with a reason; a second cancel and a confirm are refused")
    func cancel() async throws {
        try await withWire { api in
            // Given a setup intent with a card, not confirmed
            let setup = try await api.setup([("payment_method", "pm_card_visa")])
            let id = try #require(setup["id"]?.string)

            // When it is canceled
            let canceled = try await api.post("/v1/setup_intents/\(id)/cancel", [("cancellation_reason", "abandoned")])

            // Then
            #expect(canceled.status == 200)
            #expect(canceled.json["status"]?.string == "canceled")
            #expect(canceled.json["cancellation_reason"]?.string == "abandoned")

            // And nothing more can happen to it
            let again = try await api.post("/v1/setup_intents/\(id)/cancel")
            let confirm = try await api.post("/v1/setup_intents/\(id)/confirm")
            for response in [again, confirm] {
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "setup_intent_unexpected_state")
                #expect(response.error["setup_intent"]?["id"]?.string == id)
            }
            let reason = try await api.post("/v1/setup_intents/\(id)/cancel", [("cancellation_reason", "fraudulent")])
            #expect(reason.status == 400)
            #expect(reason.error["param"]?.string == "cancellation_reason")
        }
    }

    @Test("a succeeded setup intent cannot be canceled or confirmed again")
    func succeededIsFinal() async throws {
        try await withWire { api in
            // Given a succeeded setup
            let setup = try await api.setup([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let id = try #require(setup["id"]?.string)

            // When
            let cancel = try await api.post("/v1/setup_intents/\(id)/cancel")
            let confirm = try await api.post("/v1/setup_intents/\(id)/confirm")

            // Then
            #expect(cancel.status == 400)
            #expect(cancel.error["code"]?.string == "setup_intent_unexpected_state")
            #expect(confirm.status == 400)
            #expect(confirm.error["code"]?.string == "setup_intent_unexpected_state")
            #expect(confirm.error["message"]?.string?.contains("already succeeded") == true)
            #expect(try await api.retrieveSetup(id)["status"]?.string == "succeeded")
        }
    }

    // MARK: - List

    @Test("list is newest first, pages both ways, and filters by customer, payment_method and created")
    func list() async throws {
        try await withWire { api in
            // Given three setup intents, a second apart, two of them for one customer, one with a given card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")
            let a = try #require(try await api.setup([("customer", customer)])["id"]?.string)
            api.environment.clock.advance(by: 1)
            let b = try #require(try await api.setup([("payment_method", card)])["id"]?.string)
            api.environment.clock.advance(by: 1)
            let c = try #require(try await api.setup([("customer", customer)])["id"]?.string)
            let middle = api.environment.clock.now - 1

            // When
            let all = try await api.get("/v1/setup_intents")
            let page1 = try await api.get("/v1/setup_intents", [("limit", "2")])
            let page2 = try await api.get("/v1/setup_intents", [("limit", "2"), ("starting_after", b)])
            let before = try await api.get("/v1/setup_intents", [("ending_before", a)])
            let mine = try await api.get("/v1/setup_intents", [("customer", customer)])
            let withCard = try await api.get("/v1/setup_intents", [("payment_method", card)])
            let created = try await api.get("/v1/setup_intents", [("created[lte]", "\(middle)")])
            let exact = try await api.get("/v1/setup_intents", [("created", "\(middle)")])

            // Then
            #expect(all.status == 200)
            #expect(all.json["object"]?.string == "list")
            #expect(all.json["url"]?.string == "/v1/setup_intents")
            #expect(all.json.ids == [c, b, a])
            #expect(page1.json.ids == [c, b])
            #expect(page1.json["has_more"]?.bool == true)
            #expect(page2.json.ids == [a])
            #expect(page2.json["has_more"]?.bool == false)
            #expect(before.json.ids == [c, b])
            #expect(mine.json.ids == [c, a])
            #expect(withCard.json.ids == [b])
            #expect(created.json.ids == [b, a])
            #expect(exact.json.ids == [b])
        }
    }

    @Test("list expands data.payment_method; bad paging and an unknown cursor are 400s")
    func listExpandAndBadPaging() async throws {
        try await withWire { api in
            // Given
            _ = try await api.setup([("payment_method", "pm_card_visa")])

            // When
            let expanded = try await api.get("/v1/setup_intents", [("expand[]", "data.payment_method")])
            let bare = try await api.get("/v1/setup_intents", [("expand[]", "payment_method")])
            let both = try await api.get("/v1/setup_intents", [("starting_after", "x"), ("ending_before", "y")])
            let unknown = try await api.get("/v1/setup_intents", [("starting_after", "seti_doesnotexist")])
            let limit = try await api.get("/v1/setup_intents", [("limit", "101")])

            // Then
            #expect(expanded.json["data"]?[0]?["payment_method"]?["object"]?.string == "payment_method")
            #expect(bare.status == 400)
            #expect(both.error["code"]?.string == "parameters_exclusive")
            #expect(unknown.status == 400)
            #expect(unknown.error["code"]?.string == "resource_missing")
            #expect(unknown.error["param"]?.string == "starting_after")
            #expect(limit.status == 400)
            #expect(limit.error["param"]?.string == "limit")
        }
    }

    // MARK: - API versions

    @Test("Stripe-Version before 2019-02-11 renders requires_source and requires_source_action")
    func legacyStatusNames() async throws {
        try await withWire { api in
            // Given a setup waiting for a payment method and one waiting for 3-D Secure
            let open = try #require(try await api.setup()["id"]?.string)
            let pending = try await api.setup([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
            ])
            let pendingID = try #require(pending["id"]?.string)
            let old: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2018-05-21"]
            let new: HTTPFields = [HTTPField.Name("Stripe-Version")!: "2026-06-24.dahlia"]

            // When
            let oldOpen = try await api.get("/v1/setup_intents/\(open)", headers: old)
            let oldPending = try await api.get("/v1/setup_intents/\(pendingID)", headers: old)
            let oldCreate = try await api.post("/v1/setup_intents", [], headers: old)
            let newPending = try await api.get("/v1/setup_intents/\(pendingID)", headers: new)

            // Then
            #expect(oldOpen.json["status"]?.string == "requires_source")
            #expect(oldPending.json["status"]?.string == "requires_source_action")
            #expect(oldCreate.json["status"]?.string == "requires_source")
            #expect(newPending.json["status"]?.string == "requires_action")
            #expect(newPending.json["next_action"]?["type"]?.string == "redirect_to_url")
        }
    }

    // MARK: - Bad input

    /// One bad request and the error it must get.
    struct BadCase: Sendable, CustomTestStringConvertible {
        var body: String
        var param: String?
        var code: String?
        var testDescription: String { body }
    }

    @Test(
        "A bad create is a Stripe-style 400 that creates nothing",
        arguments: [
            BadCase(body: "usage=sometimes", param: "usage", code: "parameter_invalid_string"),
            BadCase(body: "confirm=maybe", param: "confirm", code: "parameter_invalid_boolean"),
            BadCase(body: "foo=bar", param: "foo", code: "parameter_unknown"),
            BadCase(body: "customer=cus_doesnotexist", param: "customer", code: "resource_missing"),
            BadCase(body: "payment_method=pm_doesnotexist", param: "payment_method", code: "resource_missing"),
            BadCase(body: "return_url=https%3A%2F%2Fshop.example", param: "return_url", code: nil),
            BadCase(body: "payment_method_types[0]=sepa_debit", param: "payment_method_types", code: nil),
            BadCase(body: "confirm=true", param: "payment_method", code: "setup_intent_unexpected_state"),
            BadCase(body: "customer=", param: "customer", code: "parameter_invalid_empty"),
            BadCase(body: "metadata[a]=1&metadata=x", param: "metadata", code: nil),
        ]
    )
    func badCreate(_ test: BadCase) async throws {
        try await withWire { api in
            // When
            let response = try await api.send(.post, "/v1/setup_intents", body: test.body)

            // Then
            #expect(response.status == 400, "\(response.text)")
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["message"]?.string?.isEmpty == false)
            if let param = test.param { #expect(response.error["param"]?.string == param) }
            if let code = test.code { #expect(response.error["code"]?.string == code) }
            // And nothing was created
            #expect(try await api.listCount("/v1/setup_intents") == 0)
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("A card of another customer, or one that belongs to a customer the setup does not name, is refused")
    func paymentMethodOfAnotherCustomer() async throws {
        try await withWire { api in
            // Given a card saved by one customer
            let owner = try await api.createCustomer()
            let other = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: owner)

            // When another customer's setup, or one without a customer, uses it
            let foreign = try await api.createSetup([
                ("customer", other), ("payment_method", card), ("confirm", "true"),
            ])
            let anonymous = try await api.createSetup([("payment_method", card)])

            // Then both are refused and the card stays with its owner
            for response in [foreign, anonymous] {
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "payment_method_customer_mismatch")
            }
            #expect(try await api.owner(of: card) == owner)
            #expect(try await api.listCount("/v1/setup_intents") == 0)
        }
    }

    @Test("An update or confirm with bad input is a 400 that changes nothing")
    func badUpdateAndConfirm() async throws {
        try await withWire { api in
            // Given an open setup intent
            let setup = try await api.setup([("metadata[a]", "1")])
            let id = try #require(setup["id"]?.string)

            // When
            let usage = try await api.post("/v1/setup_intents/\(id)", [("usage", "on_session")])
            let customer = try await api.post("/v1/setup_intents/\(id)", [("customer", "cus_doesnotexist")])
            let card = try await api.post("/v1/setup_intents/\(id)/confirm", [("payment_method", "pm_doesnotexist")])
            let missing = try await api.post("/v1/setup_intents/seti_doesnotexist/confirm")

            // Then
            #expect(usage.status == 400)
            #expect(usage.error["code"]?.string == "parameter_unknown")
            #expect(customer.status == 400)
            #expect(customer.error["param"]?.string == "customer")
            #expect(card.status == 400)
            #expect(card.error["param"]?.string == "payment_method")
            #expect(missing.status == 404)
            #expect(try await api.retrieveSetup(id) == setup)
        }
    }

    // MARK: - Publishable key

    @Test("A publishable key retrieves and confirms a setup intent only with its client_secret, redacted")
    func publishableKey() async throws {
        try await withWire { api in
            // Given a setup intent for a customer, with metadata and a card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")
            let setup = try await api.setup([
                ("customer", customer), ("payment_method", card), ("metadata[order]", "42"),
            ])
            let id = try #require(setup["id"]?.string)
            let secret = try #require(setup["client_secret"]?.string)
            let pk = WireClient.publishable

            // When the publishable key reads it without, with a wrong, and with the right client secret
            let without = try await api.get("/v1/setup_intents/\(id)", auth: pk)
            let wrong = try await api.get("/v1/setup_intents/\(id)", [("client_secret", id + "_secret_x")], auth: pk)
            let read = try await api.get("/v1/setup_intents/\(id)", [("client_secret", secret)], auth: pk)

            // Then only the right one reads it, without metadata or customer
            #expect(without.status == 401)
            #expect(wrong.status == 400)
            #expect(wrong.error["code"]?.string == "setup_intent_invalid_parameter")
            #expect(read.status == 200)
            #expect(read.json["id"]?.string == id)
            #expect(read.json["client_secret"]?.string == secret)
            #expect(read.json["usage"]?.string == "off_session")
            for hidden in ["metadata", "customer", "latest_attempt"] {
                #expect(read.json.has(hidden) == false, "\(hidden) shown to a publishable key")
            }
            #expect(!read.text.contains(customer))

            // When it confirms without, then with the client secret
            let confirmWithout = try await api.post("/v1/setup_intents/\(id)/confirm", auth: pk)
            let confirmed = try await api.post(
                "/v1/setup_intents/\(id)/confirm",
                [("client_secret", secret)],
                auth: pk
            )

            // Then only the second sets the card up
            #expect(confirmWithout.status == 401)
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(confirmed.json.has("customer") == false)
            #expect(try await api.owner(of: card) == customer)

            // And everything else needs the secret key
            for response in [
                try await api.post("/v1/setup_intents", [], auth: pk),
                try await api.get("/v1/setup_intents", auth: pk),
                try await api.post("/v1/setup_intents/\(id)", [("client_secret", secret)], auth: pk),
                try await api.post("/v1/setup_intents/\(id)/cancel", [("client_secret", secret)], auth: pk),
            ] {
                #expect(response.status == 401)
                #expect(response.error["code"]?.string == "secret_key_required")
            }
        }
    }

    // MARK: - Idempotency

    @Test("An Idempotency-Key replays a create and a confirm; other parameters are an idempotency_error")
    func idempotency() async throws {
        try await withWire { api in
            // Given a key
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "setup-1"]
            let form = [("payment_method", "pm_card_visa"), ("confirm", "true")]

            // When the same create is sent twice, then with other parameters
            let first = try await api.post("/v1/setup_intents", form, headers: key)
            let again = try await api.post("/v1/setup_intents", form, headers: key)
            let other = try await api.post("/v1/setup_intents", [("payment_method", "pm_card_visa")], headers: key)

            // Then one setup intent was made and answered twice
            #expect(first.status == 200)
            #expect(again.status == 200)
            #expect(again.text == first.text)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(other.status == 400)
            #expect(other.error["type"]?.string == "idempotency_error")
            #expect(try await api.listCount("/v1/setup_intents") == 1)

            // And a decline is saved too: its replay is the same 402
            let declineKey: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "setup-2"]
            let decline = [("payment_method", "pm_card_visa_chargeDeclinedInsufficientFunds"), ("confirm", "true")]
            let declined = try await api.post("/v1/setup_intents", decline, headers: declineKey)
            let replayed = try await api.post("/v1/setup_intents", decline, headers: declineKey)
            #expect(declined.status == 402)
            #expect(replayed.status == 402)
            #expect(replayed.text == declined.text)
            #expect(replayed.header("Idempotent-Replayed") == "true")
            #expect(try await api.listCount("/v1/setup_intents") == 2)
        }
    }
}
