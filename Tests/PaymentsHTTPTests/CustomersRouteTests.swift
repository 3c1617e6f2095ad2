import Foundation
import TestSupport
import Testing

/// `/v1/customers` through the real router: create, retrieve, update, list, delete, and the default card rules.
@Suite("Customers routes")
struct CustomersRouteTests {
    // MARK: - Create and retrieve

    @Test("create stores every field, and retrieve shows the same customer")
    func createAndRetrieve() async throws {
        try await withWire { api in
            // When a customer is created with every field this service takes
            let created = try await api.post(
                "/v1/customers",
                [
                    ("email", "ada@example.com"), ("name", "Ada Lovelace"), ("phone", "+15555550100"),
                    ("description", "Engine customer"), ("metadata[order]", "42"), ("metadata[tier]", "gold"),
                ]
            )

            // Then it echoes them in Stripe's shape
            #expect(created.status == 200)
            let customer = created.json
            let id = try #require(customer["id"]?.string)
            #expect(id.hasPrefix("cus_"))
            #expect(customer["object"]?.string == "customer")
            #expect(customer["email"]?.string == "ada@example.com")
            #expect(customer["name"]?.string == "Ada Lovelace")
            #expect(customer["phone"]?.string == "+15555550100")
            #expect(customer["description"]?.string == "Engine customer")
            #expect(customer["metadata"] == .object(["order": .string("42"), "tier": .string("gold")]))
            #expect(customer["invoice_settings"]?["default_payment_method"]?.isNull == true)
            #expect(customer["deleted"] == nil)

            // And retrieving it gives the same object
            let retrieved = try await api.get("/v1/customers/\(id)")
            #expect(retrieved.status == 200)
            #expect(retrieved.json == customer)
        }
    }

    @Test("create with a default card attached to another customer is refused")
    func createWithOthersCardAsDefault() async throws {
        try await withWire { api in
            // Given a card saved by another customer
            let other = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: other)

            // When a new customer names it as its default
            let response = try await api.post("/v1/customers", [("invoice_settings[default_payment_method]", card)])

            // Then the request is refused and the card stays with its owner
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "invoice_settings[default_payment_method]")
            #expect(try await api.owner(of: card) == other)
        }
    }

    @Test("create with an unknown default card is a 400 resource_missing")
    func createWithUnknownDefault() async throws {
        try await withWire { api in
            // When a customer names a card that does not exist as its default
            let response = try await api.post(
                "/v1/customers",
                [("invoice_settings[default_payment_method]", "pm_doesNotExist")]
            )

            // Then
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "invoice_settings[default_payment_method]")
        }
    }

    @Test("a default card named on create ends up attached to that customer, or is refused")
    func createWithUnattachedDefault() async throws {
        try await withWire { api in
            // Given a card attached to nobody
            let card = try await api.card("4242424242424242")

            // When a new customer names it as its default
            let response = try await api.post("/v1/customers", [("invoice_settings[default_payment_method]", card)])

            // Then Stripe's refusal: a default card must be one the customer already has
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "invoice_settings[default_payment_method]")
        }
    }

    @Test("create with payment_method attaches it, may make it the default, and a refused card creates no customer")
    func createWithPaymentMethod() async throws {
        try await withWire { api in
            // Given a card attached to nobody
            let card = try await api.card("4242424242424242")

            // When a new customer is created with it, as its default (Stripe's own "save a card" code does so)
            let response = try await api.post(
                "/v1/customers",
                [
                    ("email", "c@example.com"), ("payment_method", card),
                    ("invoice_settings[default_payment_method]", card),
                ]
            )

            // Then the card is the customer's, and its default (it was a 400 parameter_unknown)
            #expect(response.status == 200, "\(response.text)")
            let customer = try #require(response.json["id"]?.string)
            #expect(response.json["invoice_settings"]?["default_payment_method"]?.string == card)
            #expect(try await api.get("/v1/payment_methods/\(card)").json["customer"]?.string == customer)

            // And a card refused at attach, or one that does not exist, is refused with no customer made
            let declined = try await api.card("4000000000009995")
            let refused = try await api.post("/v1/customers", [("payment_method", declined)])
            #expect(refused.status == 402, "\(refused.text)")
            #expect(refused.error["decline_code"]?.string == "insufficient_funds")
            let missing = try await api.post("/v1/customers", [("payment_method", "pm_nope")])
            #expect(missing.status == 400 && missing.error["param"]?.string == "payment_method", "\(missing.text)")
            #expect(try await api.listCount("/v1/customers") == 1)
            #expect(try await api.get("/v1/payment_methods/\(declined)").json["customer"] == .null)
        }
    }

    @Test("create with a test id as payment_method and as the default makes the card it attaches the default")
    func createWithTestIDAsDefault() async throws {
        try await withWire { api in
            // When a customer is created as Stripe's docs show it, naming the test id twice
            let response = try await api.post(
                "/v1/customers",
                [("payment_method", "pm_card_visa"), ("invoice_settings[default_payment_method]", "pm_card_visa")]
            )

            // Then the new card made from the test id is attached, and it is the default
            #expect(response.status == 200, "\(response.text)")
            let customer = try #require(response.json["id"]?.string)
            let cards = try await api.get("/v1/customers/\(customer)/payment_methods")
            #expect(cards.json.ids.count == 1)
            let card = try #require(cards.json.ids.first)
            #expect(card != "pm_card_visa")
            #expect(response.json["invoice_settings"]?["default_payment_method"]?.string == card)
            // and only customer.created records it, with no update after
            let events = try await api.get("/v1/events", [("type", "customer.updated")])
            #expect(events.json.ids.isEmpty, "\(events.text)")
        }
    }
    // MARK: - Update

    @Test("update unsets fields with an empty string and deletes metadata keys with an empty value")
    func updateUnsetsAndDeletesKeys() async throws {
        try await withWire { api in
            // Given a customer with every field set
            let id = try await api.createCustomer([
                ("email", "ada@example.com"), ("name", "Ada"), ("phone", "+15555550100"), ("description", "first"),
                ("metadata[a]", "1"), ("metadata[b]", "2"),
            ])

            // When email and name are unset, one metadata key deleted and one added
            let updated = try await api.post(
                "/v1/customers/\(id)",
                [("email", ""), ("name", ""), ("metadata[a]", ""), ("metadata[c]", "3"), ("description", "second")]
            )

            // Then only those change
            #expect(updated.status == 200)
            #expect(updated.json["email"]?.isNull == true)
            #expect(updated.json["name"]?.isNull == true)
            #expect(updated.json["phone"]?.string == "+15555550100")
            #expect(updated.json["description"]?.string == "second")
            #expect(updated.json["metadata"] == .object(["b": .string("2"), "c": .string("3")]))
            #expect(try await api.get("/v1/customers/\(id)").json == updated.json)

            // When all metadata is cleared with `metadata=`
            let cleared = try await api.post("/v1/customers/\(id)", [("metadata", "")])

            // Then it is empty
            #expect(cleared.status == 200)
            #expect(cleared.json["metadata"] == .object([:]))
        }
    }

    @Test("metadata holds at most 50 keys across updates, for customers and intents; a refused update changes nothing")
    func metadataKeyLimitAcrossUpdates() async throws {
        try await withWire { api in
            // Given a customer and an intent with 50 metadata keys each
            let full = (1...50).map { ("metadata[k\($0)]", "v") }
            let customer = try await api.createCustomer(full)
            let created = try await api.post("/v1/payment_intents", [("amount", "1000"), ("currency", "usd")] + full)
            let intent = try #require(created.json["id"]?.string)

            for path in ["/v1/customers/\(customer)", "/v1/payment_intents/\(intent)"] {
                let before = try await api.get(path).json

                // When an update adds a 51st key
                let refused = try await api.post(path, [("metadata[extra]", "v")])
                // Then it is refused on metadata, and the object is unchanged
                #expect(refused.status == 400, "\(path): \(refused.text)")
                #expect(refused.error["param"]?.string == "metadata")
                #expect(try await api.get(path).json == before)

                // When one key is deleted as another is added
                let swapped = try await api.post(path, [("metadata[k1]", ""), ("metadata[extra]", "v")])
                // Then the object still has 50
                #expect(swapped.status == 200, "\(path): \(swapped.text)")
                #expect(swapped.json["metadata"]?["extra"]?.string == "v")
                #expect(swapped.json["metadata"]?["k1"] == nil)
            }
        }
    }

    @Test("the default card must be one attached to that customer")
    func defaultCardMustBeAttached() async throws {
        try await withWire { api in
            // Given a customer with a saved card, another customer's card and a card attached to nobody
            let customer = try await api.createCustomer()
            let own = try await api.savedCard("4242424242424242", customer: customer)
            let other = try await api.createCustomer()
            let othersCard = try await api.savedCard("5555555555554444", customer: other)
            let loose = try await api.card("4000056655665556")

            // When the customer's own card is made the default
            let ok = try await api.post(
                "/v1/customers/\(customer)",
                [("invoice_settings[default_payment_method]", own)]
            )

            // Then it is
            #expect(ok.status == 200)
            #expect(ok.json["invoice_settings"]?["default_payment_method"]?.string == own)

            // When another customer's card, or an unattached one, is named
            for card in [othersCard, loose] {
                let refused = try await api.post(
                    "/v1/customers/\(customer)",
                    [("invoice_settings[default_payment_method]", card)]
                )

                // Then it is refused and the default is unchanged
                #expect(refused.status == 400)
                #expect(refused.error["code"]?.string == "resource_missing")
                #expect(refused.error["param"]?.string == "invoice_settings[default_payment_method]")
            }
            let after = try await api.get("/v1/customers/\(customer)")
            #expect(after.json["invoice_settings"]?["default_payment_method"]?.string == own)

            // When the default is unset with an empty value
            let unset = try await api.post(
                "/v1/customers/\(customer)",
                [("invoice_settings[default_payment_method]", "")]
            )

            // Then it is null
            #expect(unset.status == 200)
            #expect(unset.json["invoice_settings"]?["default_payment_method"]?.isNull == true)

            // And unsetting the whole hash, as a form's empty value or JSON's null, unsets it too (both answered 200
            // and kept the card)
            for asJSON in [false, true] {
                let set = try await api.post(
                    "/v1/customers/\(customer)",
                    [("invoice_settings[default_payment_method]", own)]
                )
                #expect(set.json["invoice_settings"]?["default_payment_method"]?.string == own)
                let cleared =
                    asJSON
                    ? try await api.postJSON("/v1/customers/\(customer)", #"{"invoice_settings": null}"#)
                    : try await api.post("/v1/customers/\(customer)", [("invoice_settings", "")])
                #expect(cleared.status == 200, "\(cleared.text)")
                #expect(cleared.json["invoice_settings"]?["default_payment_method"]?.isNull == true)
                let read = try await api.get("/v1/customers/\(customer)")
                #expect(read.json["invoice_settings"]?["default_payment_method"]?.isNull == true, "\(read.text)")
            }
        }
    }

    // MARK: - List

    @Test("list is newest first, pages with limit and starting_after, and filters by exact email")
    func listPagesAndFilters() async throws {
        try await withWire { api in
            // Given three customers, two sharing an email
            let first = try await api.createCustomer([("email", "shared@example.com")])
            let second = try await api.createCustomer([("email", "other@example.com")])
            let third = try await api.createCustomer([("email", "shared@example.com")])

            // When listed
            let all = try await api.get("/v1/customers")

            // Then newest first, in a list object
            #expect(all.status == 200)
            #expect(all.json["object"]?.string == "list")
            #expect(all.json["url"]?.string == "/v1/customers")
            #expect(all.json.ids == [third, second, first])
            #expect(all.json["has_more"]?.bool == false)

            // When paged two at a time
            let page1 = try await api.get("/v1/customers", [("limit", "2")])
            let page2 = try await api.get("/v1/customers", [("limit", "2"), ("starting_after", second)])

            // Then the pages follow on
            #expect(page1.json.ids == [third, second])
            #expect(page1.json["has_more"]?.bool == true)
            #expect(page2.json.ids == [first])
            #expect(page2.json["has_more"]?.bool == false)

            // When filtered by email
            let shared = try await api.get("/v1/customers", [("email", "shared@example.com")])
            let nobody = try await api.get("/v1/customers", [("email", "SHARED@example.com")])

            // Then only exact matches come back
            #expect(shared.json.ids == [third, first])
            #expect(nobody.json.ids == [])
        }
    }

    // MARK: - Delete

    @Test("delete answers Stripe's stub, and the deleted customer can be read but not changed")
    func deleteCustomer() async throws {
        try await withWire { api in
            // Given a customer
            let id = try await api.createCustomer([("email", "gone@example.com")])

            // When deleted
            let deleted = try await api.delete("/v1/customers/\(id)")

            // Then the answer is exactly {id, object, deleted}
            #expect(deleted.status == 200)
            #expect(
                deleted.json == .object(["id": .string(id), "object": .string("customer"), "deleted": .bool(true)])
            )

            // And retrieving it gives the same stub
            let retrieved = try await api.get("/v1/customers/\(id)")
            #expect(retrieved.status == 200)
            #expect(retrieved.json == deleted.json)

            // And it is gone from lists
            #expect(try await api.get("/v1/customers").json.ids == [])

            // And updating or deleting it again is a 404
            let update = try await api.post("/v1/customers/\(id)", [("name", "Back")])
            let again = try await api.delete("/v1/customers/\(id)")
            for response in [update, again] {
                #expect(response.status == 404)
                #expect(response.error["code"]?.string == "resource_missing")
            }
        }
    }

    @Test("deleting a customer detaches its cards for good")
    func deleteDetachesCards() async throws {
        try await withWire { api in
            // Given a customer with two saved cards, one its default
            let customer = try await api.createCustomer()
            let first = try await api.savedCard("4242424242424242", customer: customer)
            let second = try await api.savedCard("5555555555554444", customer: customer)
            let setDefault = try await api.post(
                "/v1/customers/\(customer)",
                [("invoice_settings[default_payment_method]", first)]
            )
            try #require(setDefault.status == 200)

            // When the customer is deleted
            let deleted = try await api.delete("/v1/customers/\(customer)")
            try #require(deleted.status == 200)

            // Then both cards are attached to nobody
            #expect(try await api.owner(of: first) == nil)
            #expect(try await api.owner(of: second) == nil)

            // And neither can pay, nor be attached again
            let another = try await api.createCustomer()
            for card in [first, second] {
                let payment = try await api.payment([("payment_method", card), ("confirm", "true")])
                #expect(payment.status == 400)
                #expect(payment.error["code"]?.string == "payment_method_unexpected_state")
                let attach = try await api.attach(card, to: another)
                #expect(attach.status == 400)
                #expect(attach.error["code"]?.string == "payment_method_unexpected_state")
            }
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    // MARK: - Unknown ids

    /// A request on an unknown customer.
    struct UnknownCustomerCall: Sendable, CustomTestStringConvertible {
        let method: String
        let path: String
        var testDescription: String { "\(method) \(path)" }
    }

    @Test(
        "an unknown customer id is a 404 resource_missing",
        arguments: [
            UnknownCustomerCall(method: "GET", path: "/v1/customers/cus_missing"),
            UnknownCustomerCall(method: "POST", path: "/v1/customers/cus_missing"),
            UnknownCustomerCall(method: "DELETE", path: "/v1/customers/cus_missing"),
            UnknownCustomerCall(method: "GET", path: "/v1/customers/cus_missing/payment_methods"),
        ]
    )
    func unknownCustomer(_ call: UnknownCustomerCall) async throws {
        try await withWire { api in
            // When
            let response: WireResponse
            switch call.method {
            case "GET": response = try await api.get(call.path)
            case "POST": response = try await api.post(call.path, [("name", "Nobody")])
            default: response = try await api.delete(call.path)
            }

            // Then
            #expect(response.status == 404)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["code"]?.string == "resource_missing")
        }
    }

    @Test("an intent or setup intent whose customer was deleted cannot be confirmed; nothing is charged or saved")
    func confirmForDeletedCustomer() async throws {
        try await withWire { api in
            // Given a payment and a setup for a customer, then the customer deleted
            let customer = try await api.createCustomer()
            let intent = try #require(
                try await api.intent([("customer", customer), ("setup_future_usage", "off_session")])["id"]?.string
            )
            let setup = try #require(try await api.setup([("customer", customer)])["id"]?.string)
            try #require(try await api.delete("/v1/customers/\(customer)").status == 200)

            // When each is confirmed with a card
            let paid = try await api.post("/v1/payment_intents/\(intent)/confirm", [("payment_method", "pm_card_visa")])
            let saved = try await api.post("/v1/setup_intents/\(setup)/confirm", [("payment_method", "pm_card_visa")])

            // Then both are refused on customer, naming it
            for response in [paid, saved] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "resource_missing")
                #expect(response.error["param"]?.string == "customer")
                #expect(response.error["message"]?.string?.contains(customer) == true)
            }
            // And neither moved: no charge, no card kept
            let after = try await api.retrieveIntent(intent)
            #expect(after["status"]?.string == "requires_payment_method")
            #expect(after["latest_charge"]?.isNull == true)
            #expect(try await api.retrieveSetup(setup)["status"]?.string == "requires_payment_method")
            #expect(try await api.listCount("/v1/charges") == 0)
        }
    }

    @Test(
        "an email that is not an address is refused on customers, receipts and cards, and changes nothing",
        arguments: [
            "not-an-email", "a@b", "@example.com", "a@example..com", "a b@example.com", "a@@example.com",
            "<a@b.co>", "a@-b.co", "a@b-.co", "a,b@example.com", "a@exa_mple.com", ".a@example.com",
            "a.@example.com", "a..b@example.com", "a@b.c", "a@example.c0m",
            "a@" + String(repeating: "d", count: 250) + ".com", "a@" + String(repeating: "d", count: 64) + ".com",
        ]
    )
    func invalidEmail(_ email: String) async throws {
        try await withWire { api in
            let customer = try await api.createCustomer([("email", "ok@example.com")])
            let open = try #require(try await api.intent()["id"]?.string)
            let responses = [
                try await api.post("/v1/customers", [("email", email)]),
                try await api.post("/v1/customers/\(customer)", [("email", email)]),
                try await api.createIntent([("receipt_email", email)]),
                try await api.post("/v1/payment_intents/\(open)", [("receipt_email", email)]),
                try await api.post(
                    "/v1/payment_methods",
                    [
                        ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                        ("card[exp_year]", "2030"), ("billing_details[email]", email),
                    ]
                ),
            ]
            for response in responses {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "email_invalid")
            }
            #expect(responses.last?.error["param"]?.string == "billing_details[email]")
            #expect(try await api.listCount("/v1/customers") == 1)
            #expect(try await api.get("/v1/customers/\(customer)").json["email"]?.string == "ok@example.com")
            #expect(try await api.listCount("/v1/payment_intents") == 1)
            // While an empty value still unsets it
            #expect(try await api.post("/v1/customers/\(customer)", [("email", "")]).json["email"]?.isNull == true)
        }
    }

    @Test(
        "an unusual but valid email is taken, on a customer and on a card",
        arguments: [
            "jenny+tag@mail.example.co.uk", "josé@exämple.fr", "o'brien@example.com", "a@x-y.example",
            "a.b@xn--bcher-kva.xn--p1ai",
        ]
    )
    func unusualEmail(_ email: String) async throws {
        try await withWire { api in
            let customer = try await api.post("/v1/customers", [("email", email)])
            #expect(customer.json["email"]?.string == email, "\(customer.text)")
            let card = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"), ("billing_details[email]", email),
                ]
            )
            #expect(card.json["billing_details"]?["email"]?.string == email, "\(card.text)")
        }
    }

    @Test(
        "a customer's fields Stripe expands that are always null here (no sources, no test clocks) expand to null",
        arguments: ["default_source", "test_clock"]
    )
    func alwaysNullFieldsExpandToNull(field: String) async throws {
        try await withWire { api in
            // When a customer is created, read, updated and listed with the field expanded
            let created = try await api.post("/v1/customers", [("name", "Jenny"), ("expand[]", field)])
            let id = try #require(created.json["id"]?.string, "\(created.text)")
            let read = try await api.get("/v1/customers/\(id)", [("expand[]", field)])
            let updated = try await api.post(
                "/v1/customers/\(id)",
                [("email", "jenny@example.com"), ("expand[]", field)]
            )
            let listed = try await api.get("/v1/customers", [("expand[]", "data." + field)])

            // Then each answers 200 with the field there and null, as Stripe expands a null field
            for response in [created, read, updated, listed] { #expect(response.status == 200, "\(response.text)") }
            for object in [created.json, read.json, updated.json, listed.json["data"]?[0] ?? .null] {
                #expect(object.at(field) == WireJSON.null, "\(object)")
            }
            #expect(updated.json["email"]?.string == "jenny@example.com")

            // And a path below it, and `sources`, which a customer here does not show, are still the 400
            let below = try await api.get("/v1/customers/\(id)", [("expand[]", field + ".customer")])
            let sources = try await api.get("/v1/customers/\(id)", [("expand[]", "sources")])
            #expect(below.refusesExpanding(field + ".customer"), "\(below.text)")
            #expect(sources.refusesExpanding("sources"), "\(sources.text)")
        }
    }

    @Test("A customer expands its default card, and a card its customer, as Stripe's do; on lists with data.")
    func expansions() async throws {
        try await withWire { api in
            // Given a customer whose default card is a saved 4242, and a customer with none
            let card = try await api.card("4242424242424242")
            let created = try await api.post(
                "/v1/customers",
                [("payment_method", card), ("invoice_settings[default_payment_method]", card)]
            )
            let customer = try #require(created.json["id"]?.string, "\(created.text)")
            let plain = try #require(try await api.post("/v1/customers", []).json["id"]?.string)
            let defaultCard = "invoice_settings.default_payment_method"

            // When the customer is read, updated and listed with its default card expanded
            let read = try await api.get("/v1/customers/\(customer)", [("expand[]", defaultCard)])
            let updated = try await api.post(
                "/v1/customers/\(customer)",
                [("name", "Jenny"), ("expand[]", defaultCard)]
            )
            let listed = try await api.get("/v1/customers", [("expand[]", "data." + defaultCard)])
            let none = try await api.get("/v1/customers/\(plain)", [("expand[]", defaultCard)])
            // Then the card is there in full, where its id was
            for answer in [read.json, updated.json] {
                let expanded = answer["invoice_settings"]?["default_payment_method"]
                #expect(expanded?["id"]?.string == card && expanded?["object"]?.string == "payment_method", "\(answer)")
                #expect(expanded?["card"]?["last4"]?.string == "4242")
            }
            let items = try #require(listed.json["data"]?.array)
            let item = try #require(items.first { $0["id"]?.string == customer })
            #expect(item["invoice_settings"]?["default_payment_method"]?["id"]?.string == card)
            // And a customer without one shows null
            #expect(none.status == 200 && none.json["invoice_settings"]?["default_payment_method"]?.isNull == true)

            // When the card is read, and listed as the customer's, with its customer expanded
            let pm = try await api.get("/v1/payment_methods/\(card)", [("expand[]", "customer")])
            let cards = try await api.get("/v1/customers/\(customer)/payment_methods", [("expand[]", "data.customer")])
            let byCustomer = try await api.get(
                "/v1/payment_methods",
                [("customer", customer), ("expand[]", "data.customer")]
            )
            // Then the customer is there in full
            #expect(
                pm.json["customer"]?["id"]?.string == customer && pm.json["customer"]?["object"]?.string == "customer"
            )
            #expect(cards.json["data"]?[0]?["customer"]?["id"]?.string == customer, "\(cards.text)")
            #expect(byCustomer.json["data"]?[0]?["customer"]?["id"]?.string == customer, "\(byCustomer.text)")
            // And the card's own fields are untouched, and a bare field on a list is still refused
            #expect(pm.json["card"]?["last4"]?.string == "4242")
            let bare = try await api.get("/v1/customers", [("expand[]", defaultCard)])
            #expect(bare.status == 400 && bare.error["param"]?.string == "expand")
        }
    }
}
