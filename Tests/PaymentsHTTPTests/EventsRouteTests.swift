import Foundation
import HTTPTypes
import TestSupport
import Testing

/// `GET /v1/events` and `GET /v1/events/:id` through the real router: Stripe's event shape, filters and paging.
@Suite("Event routes")
struct EventsRouteTests {
    @Test("A payment's events, newest first, in Stripe's shape with the object as it was")
    func shape() async throws {
        try await withWire { api in
            // Given a payment that succeeded
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            try #require(paid.status == 200)
            let intent = try #require(paid.json["id"]?.string)
            // When the events are listed
            let list = try await api.get("/v1/events")
            #expect(list.status == 200)
            #expect(list.json["object"]?.string == "list" && list.json["url"]?.string == "/v1/events")
            let events = try #require(list.json["data"]?.array)
            // Then the newest is payment_intent.succeeded, carrying the intent as the retrieve shows it
            #expect(
                events.compactMap { $0["type"]?.string }.prefix(3) == [
                    "payment_intent.succeeded", "charge.succeeded", "payment_intent.created",
                ]
            )
            let newest = events[0]
            #expect(newest["object"]?.string == "event")
            #expect(newest["id"]?.string?.hasPrefix("evt_") == true)
            #expect(newest["livemode"]?.bool == false && newest["pending_webhooks"]?.int == 0)
            let object = try #require(newest["data"]?["object"])
            #expect(object["object"]?.string == "payment_intent")
            #expect(object["id"]?.string == intent)
            #expect(object["status"]?.string == "succeeded")
            // And the created event shows the intent as it was when created
            let created = try #require(events.first { $0["type"]?.string == "payment_intent.created" })
            #expect(created["data"]?["object"]?["status"]?.string != "succeeded")
            // And the charge's event shows its card, as the charge endpoint does
            let charge = try #require(events.first { $0["type"]?.string == "charge.succeeded" })
            #expect(charge["data"]?["object"]?["object"]?.string == "charge")
            #expect(charge["data"]?["object"]?["payment_method_details"]?["card"]?["last4"]?.string == "4242")
            // And one event is retrieved by id
            let id = try #require(newest["id"]?.string)
            let one = try await api.get("/v1/events/\(id)")
            #expect(one.status == 200 && one.json["type"]?.string == "payment_intent.succeeded")
        }
    }

    @Test("An update's event shows the fields it changed as they were, and names the request that made it")
    func previousAttributesAndRequest() async throws {
        try await withWire { api in
            // Given a customer, updated with an Idempotency-Key: its name changed and a metadata key added
            let created = try await api.post("/v1/customers", [("name", "Jenny"), ("email", "j@example.com")])
            let id = try #require(created.json["id"]?.string)
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = "rename-42"
            let updated = try await api.post(
                "/v1/customers/\(id)",
                [("name", "Jenny Rosen"), ("metadata[vip]", "yes")],
                headers: headers
            )
            try #require(updated.status == 200, "\(updated.text)")
            // When the events are listed
            let events = try #require(try await api.get("/v1/events").json["data"]?.array)
            let update = try #require(events.first { $0["type"]?.string == "customer.updated" })
            // Then the update shows the changed fields' earlier values, and only those
            let previous = try #require(update["data"]?["previous_attributes"], "\(update)")
            #expect(previous["name"]?.string == "Jenny")
            #expect(previous["metadata"]?["vip"] == nil && previous.has("metadata"))
            #expect(!previous.has("email") && !previous.has("id"))
            #expect(update["data"]?["object"]?["name"]?.string == "Jenny Rosen")
            // And it names the request: its Request-Id and its Idempotency-Key
            #expect(update["request"]?["id"]?.string == updated.header("Request-Id"))
            #expect(update["request"]?["idempotency_key"]?.string == "rename-42")
            // And the creation, without a key, names its request and no previous attributes
            let creation = try #require(events.first { $0["type"]?.string == "customer.created" })
            #expect(creation["request"]?["id"]?.string == created.header("Request-Id"))
            #expect(creation["request"]?["idempotency_key"] == WireJSON.null)
            #expect(creation["data"]?.has("previous_attributes") == false)
        }
    }

    @Test("An update of a nested field shows only that field as it was, as Stripe's: not the whole earlier object")
    func previousAttributesNested() async throws {
        try await withWire { api in
            // Given a saved card whose expiry year and billing city change, and its customer's default card set
            let card = try await api.card("4242424242424242")
            let year = try #require(try await api.get("/v1/payment_methods/\(card)").json["card"]?["exp_year"]?.int)
            let customer = try #require(try await api.post("/v1/customers").json["id"]?.string)
            _ = try await api.post("/v1/payment_methods/\(card)/attach", [("customer", customer)])
            let changed = try await api.post(
                "/v1/payment_methods/\(card)",
                [("card[exp_year]", "\(year + 1)"), ("billing_details[address][city]", "Paris")]
            )
            try #require(changed.status == 200, "\(changed.text)")
            let set = try await api.post(
                "/v1/customers/\(customer)",
                [("invoice_settings[default_payment_method]", card)]
            )
            try #require(set.status == 200, "\(set.text)")

            // When the events are listed
            let events = try #require(try await api.get("/v1/events").json["data"]?.array)
            let methodUpdate = try #require(events.first { $0["type"]?.string == "payment_method.updated" })
            let customerUpdate = try #require(events.first { $0["type"]?.string == "customer.updated" })

            // Then each shows only the nested fields that changed, with their earlier values
            let method = try #require(methodUpdate["data"]?["previous_attributes"], "\(methodUpdate)")
            #expect(method["card"]?["exp_year"]?.int == year, "\(method)")
            #expect(method["card"]?.object?.count == 1, "\(method)")
            #expect(method["billing_details"]?["address"]?["city"] == WireJSON.null, "\(method)")
            #expect(method["billing_details"]?["address"]?.object?.count == 1, "\(method)")
            #expect(method["billing_details"]?.object?.count == 1, "\(method)")
            let settings = customerUpdate["data"]?["previous_attributes"]?["invoice_settings"]
            #expect(settings?["default_payment_method"] == WireJSON.null, "\(customerUpdate)")
            #expect(settings?.object?.count == 1, "\(customerUpdate)")
        }
    }

    @Test("Deleting a customer names the DELETE request in customer.deleted and its cards' payment_method.detached")
    func deleteNamesItsRequest() async throws {
        try await withWire { api in
            // Given a customer with a saved card
            let customer = try await api.createCustomer()
            _ = try await api.savedCard("4242424242424242", customer: customer)

            // When the customer is deleted
            let deleted = try await api.delete("/v1/customers/\(customer)")
            try #require(deleted.status == 200, "\(deleted.text)")
            let requestID = try #require(deleted.header("Request-Id"))

            // Then both events it recorded name that request, without an Idempotency-Key (a DELETE has none)
            for type in ["customer.deleted", "payment_method.detached"] {
                let events = try await api.get("/v1/events", [("type", type)])
                let event = try #require(events.json["data"]?[0], "\(type): \(events.text)")
                #expect(event["request"]?["id"]?.string == requestID, "\(type): \(event)")
                #expect(event["request"]?["idempotency_key"] == WireJSON.null, "\(type)")
            }
        }
    }

    @Test("charge.refunded lists the charge's refunds, newest first, the one just made included, as GET did then")
    func chargeRefundedListsRefunds() async throws {
        try await withWire { api in
            // Given a payment of 10.00
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            try #require(paid.status == 200, "\(paid.text)")
            let intent = try #require(paid.json["id"]?.string)
            let charge = try #require(paid.json["latest_charge"]?.string)

            // When it is refunded twice, 3.00 and then 2.00
            var refunds: [String] = []
            for amount in ["300", "200"] {
                let refund = try await api.post("/v1/refunds", [("payment_intent", intent), ("amount", amount)])
                try #require(refund.status == 200, "\(refund.text)")
                refunds.append(try #require(refund.json["id"]?.string))
            }

            // Then each charge.refunded lists the refunds made so far, newest first, with its amount_refunded
            let events = try #require(
                try await api.get("/v1/events", [("type", "charge.refunded")]).json["data"]?.array
            )
            try #require(events.count == 2)
            let (second, first) = (
                try #require(events[0]["data"]?["object"]), try #require(events[1]["data"]?["object"])
            )
            #expect(first["amount_refunded"]?.int == 300)
            #expect(first["refunds"]?["data"]?.array?.compactMap { $0["id"]?.string } == [refunds[0]])
            #expect(first["refunds"]?["data"]?[0]?["amount"]?.int == 300)
            #expect(second["amount_refunded"]?.int == 500)
            #expect(second["refunds"]?["data"]?.array?.compactMap { $0["id"]?.string } == refunds.reversed())
            #expect(second["refunds"]?["has_more"]?.bool == false)
            #expect(second["refunds"]?["url"]?.string == "/v1/charges/\(charge)/refunds")
            // And the charge's own endpoint lists the same refunds
            let retrieved = try await api.get("/v1/charges/\(charge)")
            #expect(retrieved.json["refunds"]?["data"]?.array?.compactMap { $0["id"]?.string } == refunds.reversed())
        }
    }

    @Test("type, types[], created and paging; unknown ids and a publishable key are refused")
    func filters() async throws {
        try await withWire { api in
            for card in ["pm_card_visa", "pm_card_chargeDeclinedInsufficientFunds"] {
                _ = try await api.payment([("payment_method", card), ("confirm", "true")])
            }
            let failed = try await api.get("/v1/events", [("type", "payment_intent.payment_failed")])
            #expect(failed.json["data"]?.array?.count == 1)
            let two = try await api.get(
                "/v1/events",
                [("types[]", "charge.succeeded"), ("types[]", "charge.failed")]
            )
            #expect(
                two.json["data"]?.array?.compactMap { $0["type"]?.string }.sorted() == [
                    "charge.failed", "charge.succeeded",
                ]
            )
            let future = try await api.get("/v1/events", [("created[gt]", "4102444800")])
            #expect(future.json["data"]?.array?.count == 0)
            let page = try await api.get("/v1/events", [("limit", "2")])
            #expect(page.json["has_more"]?.bool == true && page.json["data"]?.array?.count == 2)
            let last = try #require(page.json["data"]?[1]?["id"]?.string)
            let next = try await api.get("/v1/events", [("limit", "100"), ("starting_after", last)])
            #expect(next.json["data"]?.array?.count == 4)
            // Refusals
            let missing = try await api.get("/v1/events/evt_missing")
            #expect(missing.status == 404 && missing.error["code"]?.string == "resource_missing")
            let both = try await api.get("/v1/events", [("type", "a"), ("types[]", "b")])
            #expect(both.status == 400 && both.error["code"]?.string == "parameters_exclusive")
            // An empty type names no type: refused, rather than listing every event (`types=`) or none
            for empty in [
                [("types[]", "")], [("types", "")], [("type", "")], [("types[]", "charge.failed"), ("types[]", "")],
            ] {
                let refused = try await api.get("/v1/events", empty)
                #expect(refused.status == 400 && refused.error["code"]?.string == "parameter_invalid_empty", "\(empty)")
            }
            // A group of events with Stripe's `*` wildcard
            let group = try await api.get("/v1/events", [("type", "payment_intent.*"), ("limit", "100")])
            let groupTypes = Set(group.json["data"]?.array?.compactMap { $0["type"]?.string } ?? [])
            #expect(
                groupTypes == ["payment_intent.created", "payment_intent.succeeded", "payment_intent.payment_failed"]
            )
            let badPattern = try await api.get("/v1/events", [("type", "payment_intent.%*")])
            #expect(badPattern.status == 400 && badPattern.error["param"]?.string == "type")
            let publishable = try await api.get("/v1/events", auth: WireClient.publishable)
            #expect(publishable.status == 401 || publishable.status == 403)
            // Stripe's `delivery_success`: no webhooks are sent, so every event counts as delivered
            let all = try await api.get("/v1/events", [("limit", "100")])
            let delivered = try await api.get("/v1/events", [("limit", "100"), ("delivery_success", "true")])
            #expect(delivered.status == 200 && delivered.json["data"] == all.json["data"])
            let undelivered = try await api.get("/v1/events", [("delivery_success", "false")])
            #expect(undelivered.status == 200 && undelivered.json["data"]?.array?.count == 0)
            #expect(undelivered.json["has_more"]?.bool == false)
            let notBoolean = try await api.get("/v1/events", [("delivery_success", "maybe")])
            #expect(notBoolean.status == 400 && notBoolean.error["param"]?.string == "delivery_success")
            let badCursor = try await api.get(
                "/v1/events",
                [("delivery_success", "false"), ("starting_after", "evt_x")]
            )
            #expect(badCursor.status != 200)
        }
    }

    @Test("customer.deleted shows the customer as it was, in the customer's full shape, not the deleted stub")
    func customerDeletedEvent() async throws {
        try await withWire { api in
            // Given a customer with a default card, deleted
            let id = try await api.createCustomer([("email", "gone@example.com"), ("metadata[plan]", "gold")])
            let card = try await api.savedCard("4242424242424242", customer: id)
            let defaulted = try await api.post(
                "/v1/customers/\(id)",
                [("invoice_settings[default_payment_method]", card)]
            )
            try #require(defaulted.status == 200, "\(defaulted.text)")
            try #require(try await api.delete("/v1/customers/\(id)").status == 200)

            // When its customer.deleted event is read
            let events = try await api.get("/v1/events", [("type", "customer.deleted")])
            let object = try #require(events.json["data"]?[0]?["data"]?["object"])

            // Then it is the customer as it was, in full
            #expect(object["id"]?.string == id)
            #expect(object["object"]?.string == "customer")
            #expect(object["email"]?.string == "gone@example.com")
            #expect(object["metadata"]?["plan"]?.string == "gold")
            #expect(object["created"]?.int != nil)
            #expect(object["livemode"]?.bool == false)
            #expect(object["deleted"] == nil)
            // With its default card: the delete detaches its cards, and the default showed null (found by a probe)
            #expect(object["invoice_settings"]?["default_payment_method"]?.string == card, "\(object)")
        }
    }

    @Test("A failed attempt's event shows the card of last_payment_error (last_setup_error) as GET does")
    func failedAttemptEventShowsItsCard() async throws {
        try await withWire { api in
            // Given a payment and a setup that a card declined
            let card = try await api.card("4000000000009995")
            let declined = try await api.createIntent([("payment_method", card), ("confirm", "true")])
            try #require(declined.status == 402)
            let intent = try #require(declined.error["payment_intent"]?["id"]?.string)
            let setup = try await api.createSetup([("payment_method", "pm_card_chargeDeclined"), ("confirm", "true")])
            try #require(setup.status == 402, "\(setup.text)")
            let setupID = try #require(setup.error["setup_intent"]?["id"]?.string)
            // When their failure events are read, in a list and by id
            let failed = try await api.get("/v1/events", [("type", "payment_intent.payment_failed")])
            let event = try #require(failed.json["data"]?[0])
            let one = try await api.get("/v1/events/\(try #require(event["id"]?.string))")
            let setupFailed = try await api.get("/v1/events", [("type", "setup_intent.setup_failed")])
            // Then each shows the error's payment method in full, as retrieving the object shows it
            let retrieved = try await api.retrieveIntent(intent)
            let shown = try #require(retrieved["last_payment_error"]?["payment_method"])
            #expect(shown["id"]?.string == card && shown["card"]?["last4"]?.string == "9995")
            #expect(event["data"]?["object"]?["last_payment_error"]?["payment_method"] == shown)
            #expect(one.json["data"]?["object"]?["last_payment_error"]?["payment_method"] == shown)
            let setupShown = try await api.retrieveSetup(setupID)["last_setup_error"]?["payment_method"]
            #expect(setupShown?["object"]?.string == "payment_method")
            #expect(
                setupFailed.json["data"]?[0]?["data"]?["object"]?["last_setup_error"]?["payment_method"] == setupShown
            )
        }
    }

    @Test("Confirming again while a challenge is open records requires_action with the new challenge")
    func newChallengeRecordsRequiresAction() async throws {
        try await withWire { api in
            // Given an intent waiting for its customer's challenge
            let first = try await api.intent([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
                ("confirmation_method", "manual"),
            ])
            let id = try #require(first["id"]?.string)
            let firstLink = try #require(first["next_action"]?["redirect_to_url"]?["url"]?.string)
            // When the server confirms it again, which issues a new challenge
            let again = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("return_url", "https://shop.example/return")]
            )
            try #require(again.status == 200 && again.json["status"]?.string == "requires_action", "\(again.text)")
            let newLink = try #require(again.json["next_action"]?["redirect_to_url"]?["url"]?.string)
            #expect(newLink != firstLink)
            // Then a second requires_action event carries the new challenge, the old one the first
            let events = try await api.get("/v1/events", [("type", "payment_intent.requires_action")])
            let objects = try #require(events.json["data"]?.array).map { $0["data"]?["object"] }
            #expect(objects.count == 2)
            #expect(objects.first??["next_action"]?["redirect_to_url"]?["url"]?.string == newLink)
            #expect(
                objects.first??["next_action"]?["redirect_to_url"]?["return_url"]?.string
                    == "https://shop.example/return"
            )
            #expect(objects.last??["next_action"]?["redirect_to_url"]?["url"]?.string == firstLink)
            // And an update that leaves the challenge as it is records none
            let update = try await api.post("/v1/payment_intents/\(id)", [("metadata[order]", "7")])
            try #require(update.status == 200)
            let after = try await api.get("/v1/events", [("type", "payment_intent.requires_action")])
            #expect(after.json["data"]?.array?.count == 2)
        }
    }

    @Test("An event's api_version is the Stripe-Version it was read with, as the client named it; null without one")
    func apiVersion() async throws {
        try await withWire { api in
            // Given a payment's events
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            try #require(paid.status == 200)
            let pinned = "2026-06-24.dahlia"
            let versioned: HTTPFields = [HTTPField.Name("Stripe-Version")!: pinned]
            // When they are read with a version, with a dated one of the old names, with one that names no date and
            // with none
            let list = try await api.get("/v1/events", headers: versioned)
            let id = try #require(list.json["data"]?[0]?["id"]?.string)
            let one = try await api.get("/v1/events/\(id)", headers: versioned)
            let legacy = try await api.get(
                "/v1/events/\(id)",
                headers: [HTTPField.Name("Stripe-Version")!: "2018-05-21"]
            )
            let undated = try await api.get("/v1/events/\(id)", headers: [HTTPField.Name("Stripe-Version")!: "latest"])
            let plain = try await api.get("/v1/events/\(id)")
            // Then each says the version it was rendered in: the client's own, which a library that checks it against
            // the version it pinned finds (Stripe's .NET library refuses an event whose api_version is not its own)
            let versions = try #require(list.json["data"]?.array).map { $0["api_version"]?.string }
            #expect(!versions.isEmpty && versions.allSatisfy { $0 == pinned })
            #expect(one.json["api_version"]?.string == pinned)
            #expect(legacy.json["api_version"]?.string == "2018-05-21")
            // And a header that names no date, or none, names no version
            #expect(undated.status == 200 && undated.json["api_version"] == WireJSON.null)
            #expect(plain.status == 200 && plain.json["api_version"] == WireJSON.null)
        }
    }
}
