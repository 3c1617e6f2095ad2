import Foundation
import TestSupport
import Testing

/// Saved cards through the real router: attach and detach, listing a customer's cards, saving a card with
/// `setup_future_usage`, and charging saved cards with `off_session=true`.
@Suite("Saved cards routes")
struct SavedCardsRouteTests {
    // MARK: - Attach

    @Test("attach sets the card's customer")
    func attachSetsCustomer() async throws {
        try await withWire { api in
            // Given a customer and a card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")

            // When the card is attached
            let response = try await api.attach(card, to: customer)

            // Then it belongs to the customer
            #expect(response.status == 200)
            #expect(response.json["id"]?.string == card)
            #expect(response.json["customer"]?.string == customer)
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("attaching a card that is already attached is a 400, to the same or another customer")
    func attachTwice() async throws {
        try await withWire { api in
            // Given a card saved by a customer
            let customer = try await api.createCustomer()
            let other = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)

            // When it is attached again
            for target in [customer, other] {
                let response = try await api.attach(card, to: target)

                // Then it is refused
                #expect(response.status == 400)
                #expect(response.error["type"]?.string == "invalid_request_error")
                #expect(response.error["code"]?.string == "payment_method_unexpected_state")
            }

            // And the card stays with its first customer
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("attaching to an unknown customer is a 400 resource_missing on customer")
    func attachToUnknownCustomer() async throws {
        try await withWire { api in
            // Given a card
            let card = try await api.card("4242424242424242")

            // When it is attached to a customer that does not exist
            let response = try await api.attach(card, to: "cus_missing")

            // Then
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "customer")
            #expect(try await api.owner(of: card) == nil)
        }
    }

    @Test("attaching to a deleted customer is a 400 resource_missing on customer")
    func attachToDeletedCustomer() async throws {
        try await withWire { api in
            // Given a deleted customer and a card
            let customer = try await api.createCustomer()
            try #require(try await api.delete("/v1/customers/\(customer)").status == 200)
            let card = try await api.card("4242424242424242")

            // When the card is attached to it
            let response = try await api.attach(card, to: customer)

            // Then
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "customer")
            #expect(try await api.owner(of: card) == nil)
        }
    }

    /// A decline test card and the card error Stripe answers when it is attached.
    struct AttachDecline: Sendable, CustomTestStringConvertible {
        let number: String
        let code: String
        let declineCode: String
        var testDescription: String { "\(number) → \(code)/\(declineCode)" }
    }

    @Test(
        "decline test cards fail to attach with their card error",
        arguments: [
            AttachDecline(number: "4000000000000002", code: "card_declined", declineCode: "generic_decline"),
            AttachDecline(number: "4000000000009995", code: "card_declined", declineCode: "insufficient_funds"),
            AttachDecline(number: "4000000000009987", code: "card_declined", declineCode: "lost_card"),
            AttachDecline(number: "4000000000009979", code: "card_declined", declineCode: "stolen_card"),
            AttachDecline(number: "4000000000000069", code: "expired_card", declineCode: "expired_card"),
            AttachDecline(number: "4000000000000127", code: "incorrect_cvc", declineCode: "incorrect_cvc"),
            AttachDecline(number: "4000000000000119", code: "processing_error", declineCode: "processing_error"),
        ]
    )
    func declineCardsFailToAttach(_ row: AttachDecline) async throws {
        try await withWire { api in
            // Given a customer and a decline test card (with a CVC)
            let customer = try await api.createCustomer()
            let card = try await api.card(row.number)

            // When the card is attached
            let response = try await api.attach(card, to: customer)

            // Then it is a 402 card error with the card's decline
            #expect(response.status == 402)
            #expect(response.error["type"]?.string == "card_error")
            #expect(response.error["code"]?.string == row.code)
            #expect(response.error["decline_code"]?.string == row.declineCode)

            // And the card is not attached
            #expect(try await api.owner(of: card) == nil)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [])
        }
    }

    @Test("4000000000000127 without a CVC attaches, as its charges approve: the CVC check is skipped")
    func incorrectCVCCardWithoutCVC() async throws {
        try await withWire { api in
            // Given a customer and the incorrect-CVC test card collected without a CVC
            let customer = try await api.createCustomer()
            let card = try await api.card("4000000000000127", cvc: nil)

            // When the card is attached
            let response = try await api.attach(card, to: customer)

            // Then it is attached, as Stripe skips the CVC check when no CVC was given
            #expect(response.status == 200)
            #expect(response.json["customer"]?.string == customer)
        }
    }

    @Test("4000000000000341 attaches, and then every charge of it fails")
    func chargeCustomerFailAttachesThenDeclines() async throws {
        try await withWire { api in
            // Given a customer
            let customer = try await api.createCustomer()
            let card = try await api.card("4000000000000341")

            // When the card is attached
            let attached = try await api.attach(card, to: customer)

            // Then it is
            #expect(attached.status == 200)
            #expect(attached.json["customer"]?.string == customer)

            // When it is charged on-session and off-session
            for offSession in [false, true] {
                var form = [("customer", customer), ("payment_method", card), ("confirm", "true")]
                if offSession { form.append(("off_session", "true")) }
                let payment = try await api.payment(form)

                // Then each charge is declined
                #expect(payment.status == 402)
                #expect(payment.error["code"]?.string == "card_declined")
                #expect(payment.error["decline_code"]?.string == "generic_decline")
                #expect(payment.error["payment_intent"]?["status"]?.string == "requires_payment_method")
            }
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("an off-session charge of a saved card shows no CVC check: its CVC is not sent again, nor kept")
    func offSessionChargeSendsNoCVC() async throws {
        try await withWire { api in
            // Given a saved card whose CVC check fails, collected with its CVC
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4000000000000101", customer: customer)

            // When it is charged on-session, then off-session
            var checks: [String] = []
            for offSession in [false, true] {
                var form = [("customer", customer), ("payment_method", card), ("confirm", "true")]
                if offSession { form.append(("off_session", "true")) }
                let payment = try await api.payment(form)
                #expect(payment.status == 200, "\(payment.text)")
                let chargeID = try #require(payment.json["latest_charge"]?.string)
                let charge = try await api.get("/v1/charges/\(chargeID)")
                let check = charge.json["payment_method_details"]?["card"]?["checks"]?["cvc_check"]
                checks.append(check?.string ?? (check?.isNull == true ? "null" : "missing"))
            }

            // Then the on-session charge shows the CVC's check, and the off-session one none (it showed "fail" on
            // every recharge, as if the CVC had been sent again)
            #expect(checks == ["fail", "null"])
        }
    }

    // MARK: - Detach

    @Test("detach clears the customer, and the card can never be used or attached again")
    func detachRetiresCard() async throws {
        try await withWire { api in
            // Given a customer's default card
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)
            let setDefault = try await api.post(
                "/v1/customers/\(customer)",
                [("invoice_settings[default_payment_method]", card)]
            )
            try #require(setDefault.status == 200)

            // When it is detached
            let detached = try await api.post("/v1/payment_methods/\(card)/detach")

            // Then it belongs to nobody, is no longer listed, and is no longer the default
            #expect(detached.status == 200)
            #expect(detached.json["customer"]?.isNull == true)
            #expect(try await api.owner(of: card) == nil)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [])
            let after = try await api.get("/v1/customers/\(customer)")
            #expect(after.json["invoice_settings"]?["default_payment_method"]?.isNull == true)

            // When it is used for a payment, with or without the customer
            let withCustomer = try await api.payment([
                ("customer", customer), ("payment_method", card), ("confirm", "true"),
            ])
            let withoutCustomer = try await api.payment([("payment_method", card), ("confirm", "true")])

            // Then both are refused and nothing is charged
            for response in [withCustomer, withoutCustomer] {
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "payment_method_unexpected_state")
            }
            #expect(try api.environment.network.approvedCount() == 0)

            // And it cannot be attached again
            let reattach = try await api.attach(card, to: customer)
            #expect(reattach.status == 400)
            #expect(reattach.error["code"]?.string == "payment_method_unexpected_state")
        }
    }

    @Test("confirming an existing intent with a detached card is a 400")
    func confirmWithDetachedCard() async throws {
        try await withWire { api in
            // Given an intent for a customer whose card was detached after the intent was created
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)
            let created = try await api.payment([("customer", customer), ("payment_method", card)])
            let intent = try #require(created.json["id"]?.string)
            try #require(created.json["status"]?.string == "requires_confirmation")
            try #require(try await api.post("/v1/payment_methods/\(card)/detach").status == 200)

            // When the intent is confirmed
            let confirmed = try await api.post("/v1/payment_intents/\(intent)/confirm")

            // Then it is refused and nothing is charged
            #expect(confirmed.status == 400)
            #expect(confirmed.error["code"]?.string == "payment_method_unexpected_state")
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("detaching a card attached to nobody is a 400")
    func detachUnattached() async throws {
        try await withWire { api in
            // Given a card attached to nobody
            let card = try await api.card("4242424242424242")

            // When it is detached
            let response = try await api.post("/v1/payment_methods/\(card)/detach")

            // Then
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "payment_method_unexpected_state")
        }
    }

    @Test("updating a card attached to nobody is a 400, as Stripe; attached, it updates")
    func updateUnattached() async throws {
        try await withWire { api in
            // Given a card attached to nobody
            let card = try await api.card("4242424242424242")
            // When it is updated, Stripe's refusal ("A PaymentMethod must be attached to a customer to be updated")
            let refused = try await api.post("/v1/payment_methods/\(card)", [("metadata[k]", "v")])
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.error["message"]?.string?.contains("save this PaymentMethod to a customer") == true)
            #expect(try await api.get("/v1/payment_methods/\(card)").json["metadata"]?["k"] == nil)
            // and once attached, the same update goes through
            let customer = try #require(try await api.post("/v1/customers").json["id"]?.string)
            _ = try await api.post("/v1/payment_methods/\(card)/attach", [("customer", customer)])
            let updated = try await api.post("/v1/payment_methods/\(card)", [("metadata[k]", "v")])
            #expect(updated.status == 200 && updated.json["metadata"]?["k"]?.string == "v", "\(updated.text)")
        }
    }

    @Test("an update merges billing details: what it names is set or (empty) unset, what it leaves out is kept")
    func updateMergesBillingDetails() async throws {
        try await withWire { api in
            // Given a saved card with a name and an address
            let customer = try await api.createCustomer()
            let created = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"), ("billing_details[name]", "Jenny Rosen"),
                    ("billing_details[address][line1]", "1 Main St"),
                    ("billing_details[address][postal_code]", "94107"),
                ]
            )
            let card = try #require(created.json["id"]?.string)
            try #require(try await api.attach(card, to: customer).status == 200)

            // When an update names only the email, then only the city
            let email = try await api.post("/v1/payment_methods/\(card)", [("billing_details[email]", "j@example.com")])
            let city = try await api.post("/v1/payment_methods/\(card)", [("billing_details[address][city]", "SF")])

            // Then each keeps every field it left out, as Stripe's update does
            #expect(email.status == 200 && city.status == 200, "\(email.text) \(city.text)")
            let details = try #require(try await api.get("/v1/payment_methods/\(card)").json["billing_details"])
            #expect(details["name"]?.string == "Jenny Rosen")
            #expect(details["email"]?.string == "j@example.com")
            #expect(details["address"]?["line1"]?.string == "1 Main St")
            #expect(details["address"]?["postal_code"]?.string == "94107")
            #expect(details["address"]?["city"]?.string == "SF")

            // When a field is sent empty, it alone is unset
            let unset = try await api.post("/v1/payment_methods/\(card)", [("billing_details[name]", "")])
            #expect(unset.json["billing_details"]?["name"]?.isNull == true, "\(unset.text)")
            #expect(unset.json["billing_details"]?["email"]?.string == "j@example.com")

            // And `billing_details[address]=` unsets the address, `billing_details=` everything
            let noAddress = try await api.post("/v1/payment_methods/\(card)", [("billing_details[address]", "")])
            #expect(noAddress.json["billing_details"]?["address"]?["line1"]?.isNull == true, "\(noAddress.text)")
            #expect(noAddress.json["billing_details"]?["email"]?.string == "j@example.com")
            let cleared = try await api.post("/v1/payment_methods/\(card)", [("billing_details", "")])
            #expect(cleared.status == 200, "\(cleared.text)")
            #expect(cleared.json["billing_details"]?["email"]?.isNull == true)
        }
    }

    // MARK: - Listing a customer's cards

    @Test("another of Stripe's types lists nothing (200), a type Stripe lacks is a 400; one card reads by customer")
    func otherTypesAndOneCard() async throws {
        try await withWire { api in
            // Given a customer with a card, and another customer's card
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)
            let other = try await api.createCustomer()
            let othersCard = try await api.savedCard("5555555555554444", customer: other)

            // When both lists ask for SEPA debits, then for a type Stripe has not
            let lists = [
                ("/v1/customers/\(customer)/payment_methods", [(String, String)]()),
                ("/v1/payment_methods", [("customer", customer)]),
            ]
            for (path, query) in lists {
                let sepa = try await api.get(path, query + [("type", "sepa_debit")])
                // Then the first is an empty list, as Stripe answers a customer without any
                #expect(sepa.status == 200, "\(path): \(sepa.text)")
                #expect(sepa.json["object"]?.string == "list" && sepa.json.ids.isEmpty)
                let bogus = try await api.get(path, query + [("type", "bogus")])
                #expect(bogus.status == 400 && bogus.error["param"]?.string == "type", "\(bogus.text)")
            }
            // and an unknown customer is still a 404 whatever the type
            let nobody = try await api.get("/v1/customers/cus_nobody/payment_methods", [("type", "sepa_debit")])
            #expect(nobody.status == 404, "\(nobody.text)")

            // When one card is read through its customer (Customer.retrieve_payment_method)
            let own = try await api.get("/v1/customers/\(customer)/payment_methods/\(card)")
            let others = try await api.get("/v1/customers/\(customer)/payment_methods/\(othersCard)")
            let unknown = try await api.get("/v1/customers/cus_nobody/payment_methods/\(card)")

            // Then the customer's own is the card; another's card and an unknown customer are 404s
            #expect(own.status == 200 && own.json["id"]?.string == card, "\(own.text)")
            #expect(own.json["customer"]?.string == customer)
            #expect(others.status == 404 && others.error["code"]?.string == "resource_missing", "\(others.text)")
            #expect(unknown.status == 404, "\(unknown.text)")
        }
    }

    @Test("both list endpoints show only the customer's attached cards, newest first, with paging")
    func listCustomersCards() async throws {
        try await withWire { api in
            // Given a customer with three saved cards, another customer's card and a loose card
            let customer = try await api.createCustomer()
            let a = try await api.savedCard("4242424242424242", customer: customer)
            let b = try await api.savedCard("5555555555554444", customer: customer)
            let c = try await api.savedCard("378282246310005", customer: customer)
            let other = try await api.createCustomer()
            _ = try await api.savedCard("6011111111111117", customer: other)
            _ = try await api.card("3056930009020004")

            // When listed both ways
            let nested = try await api.get("/v1/customers/\(customer)/payment_methods")
            let flat = try await api.get("/v1/payment_methods", [("customer", customer), ("type", "card")])

            // Then both show the three cards, newest first
            #expect(nested.status == 200)
            #expect(nested.json["object"]?.string == "list")
            #expect(nested.json["url"]?.string == "/v1/customers/\(customer)/payment_methods")
            #expect(nested.json.ids == [c, b, a])
            #expect(nested.json["has_more"]?.bool == false)
            #expect(flat.status == 200)
            #expect(flat.json["url"]?.string == "/v1/payment_methods")
            #expect(flat.json.ids == [c, b, a])
            for item in nested.json["data"]?.array ?? [] {
                #expect(item["customer"]?.string == customer)
                #expect(item["type"]?.string == "card")
            }

            // When paged two at a time
            let page1 = try await api.get("/v1/customers/\(customer)/payment_methods", [("limit", "2")])
            let page2 = try await api.get(
                "/v1/payment_methods",
                [("customer", customer), ("type", "card"), ("limit", "2"), ("starting_after", b)]
            )

            // Then the pages follow on
            #expect(page1.json.ids == [c, b])
            #expect(page1.json["has_more"]?.bool == true)
            #expect(page2.json.ids == [a])
            #expect(page2.json["has_more"]?.bool == false)
        }
    }

    // MARK: - setup_future_usage

    @Test(
        "a card without 3-D Secure is saved right after the payment is authorized",
        arguments: [("automatic", "succeeded"), ("manual", "requires_capture")]
    )
    func setupFutureUsageWithoutAuthentication(captureMethod: String, status: String) async throws {
        try await withWire { api in
            // Given a customer and a new card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")

            // When paying with setup_future_usage=off_session
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"), ("capture_method", captureMethod),
            ])

            // Then the payment is authorized and the card saved to the customer
            #expect(payment.status == 200)
            #expect(payment.json["status"]?.string == status)
            #expect(payment.json["setup_future_usage"]?.string == "off_session")
            #expect(try await api.owner(of: card) == customer)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [card])
        }
    }

    @Test("with automatic confirmation, a 3-D Secure card is saved only once the challenge is completed")
    func setupFutureUsageAfterChallengeAutomatic() async throws {
        try await withWire { api in
            // Given a customer and a card that needs authentication
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")

            // When paying with setup_future_usage=off_session
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"),
            ])

            // Then it waits for the customer, and the card is not saved yet
            #expect(payment.status == 200)
            #expect(payment.json["status"]?.string == "requires_action")
            #expect(try await api.owner(of: card) == nil)

            // When the customer completes the challenge
            let answer = try await api.answerChallenge(of: payment.json, outcome: "complete")

            // Then the payment succeeded and the card is saved
            #expect(answer.status == 200)
            let id = try #require(payment.json["id"]?.string)
            #expect(try await api.retrieveIntent(id)["status"]?.string == "succeeded")
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("with manual confirmation, a 3-D Secure card is saved only after the server's second confirm")
    func setupFutureUsageAfterChallengeManual() async throws {
        try await withWire { api in
            // Given a customer and a card that needs authentication
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")

            // When the server pays with setup_future_usage=off_session and manual confirmation
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"), ("confirmation_method", "manual"),
            ])
            let id = try #require(payment.json["id"]?.string)

            // Then it waits for the customer, and the card is not saved yet
            #expect(payment.json["status"]?.string == "requires_action")
            #expect(try await api.owner(of: card) == nil)

            // When the customer completes the challenge
            let answer = try await api.answerChallenge(of: payment.json, outcome: "complete")

            // Then the intent waits for the server, and the card is still not saved
            #expect(answer.status == 200)
            #expect(try await api.retrieveIntent(id)["status"]?.string == "requires_confirmation")
            #expect(try await api.owner(of: card) == nil)

            // When the server confirms again
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm")

            // Then the payment succeeded and the card is saved
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("a declined payment does not save the card")
    func setupFutureUsageDeclined() async throws {
        try await withWire { api in
            // Given a customer and a card with insufficient funds
            let customer = try await api.createCustomer()
            let card = try await api.card("4000000000009995")

            // When paying with setup_future_usage=off_session
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"),
            ])

            // Then the payment is declined and the card not saved
            #expect(payment.status == 402)
            #expect(payment.error["decline_code"]?.string == "insufficient_funds")
            #expect(try await api.owner(of: card) == nil)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [])
        }
    }

    @Test("a failed challenge does not save the card")
    func setupFutureUsageChallengeFailed() async throws {
        try await withWire { api in
            // Given a payment waiting for 3-D Secure with setup_future_usage=off_session
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"),
            ])
            let id = try #require(payment.json["id"]?.string)
            try #require(payment.json["status"]?.string == "requires_action")

            // When the customer fails the challenge
            let answer = try await api.answerChallenge(of: payment.json, outcome: "fail")

            // Then the payment failed and the card is not saved
            #expect(answer.status == 200)
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "requires_payment_method")
            #expect(intent["last_payment_error"]?["code"]?.string == "payment_intent_authentication_failure")
            #expect(try await api.owner(of: card) == nil)
        }
    }

    @Test("a card is not saved to a customer deleted while the payment waited for 3-D Secure")
    func setupFutureUsageCustomerDeletedDuringChallenge() async throws {
        try await withWire { api in
            // Given a payment with setup_future_usage=off_session waiting for 3-D Secure, whose customer is deleted
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                ("confirm", "true"),
            ])
            try #require(payment.json["status"]?.string == "requires_action")
            try #require(try await api.delete("/v1/customers/\(customer)").status == 200)

            // When the customer completes the challenge
            _ = try await api.answerChallenge(of: payment.json, outcome: "complete")

            // Then the card is not attached to the deleted customer
            let owner = try await api.owner(of: card)
            #expect(owner != customer)
        }
    }

    // MARK: - off_session

    /// A test card charged off-session, how it was saved, and what Stripe answers.
    struct OffSessionCase: Sendable, CustomTestStringConvertible {
        let number: String
        /// Saved with an authenticated `setup_future_usage=off_session` payment, rather than only attached.
        let setUp: Bool
        /// nil when the charge succeeds.
        let code: String?
        let declineCode: String?
        var testDescription: String {
            "\(number) \(setUp ? "set up" : "attached") → \(code.map { "\($0)/\(declineCode ?? "-")" } ?? "succeeded")"
        }
    }

    @Test(
        "off_session=true with confirm=true charges each test card as Stripe does",
        arguments: [
            OffSessionCase(number: "4000002500003155", setUp: true, code: nil, declineCode: nil),
            OffSessionCase(
                number: "4000002500003155",
                setUp: false,
                code: "authentication_required",
                declineCode: "authentication_required"
            ),
            OffSessionCase(
                number: "4000002760003184",
                setUp: false,
                code: "authentication_required",
                declineCode: "authentication_required"
            ),
            OffSessionCase(
                number: "4000002760003184",
                setUp: true,
                code: "authentication_required",
                declineCode: "authentication_required"
            ),
            OffSessionCase(number: "4000003800000446", setUp: false, code: nil, declineCode: nil),
            OffSessionCase(
                number: "4000008260003178",
                setUp: false,
                code: "card_declined",
                declineCode: "insufficient_funds"
            ),
            OffSessionCase(number: "4242424242424242", setUp: false, code: nil, declineCode: nil),
        ]
    )
    func offSessionCharge(_ row: OffSessionCase) async throws {
        try await withWire { api in
            // Given the card saved to a customer, by an authenticated payment or by attaching it
            let customer = try await api.createCustomer()
            let card: String
            if row.setUp {
                card = try await api.card(row.number)
                let setup = try await api.payment([
                    ("customer", customer), ("payment_method", card), ("setup_future_usage", "off_session"),
                    ("confirm", "true"),
                ])
                try #require(setup.json["status"]?.string == "requires_action")
                try #require(try await api.answerChallenge(of: setup.json, outcome: "complete").status == 200)
                let setupID = try #require(setup.json["id"]?.string)
                try #require(try await api.retrieveIntent(setupID)["status"]?.string == "succeeded")
                try #require(try await api.owner(of: card) == customer)
            } else {
                card = try await api.savedCard(row.number, customer: customer)
            }
            let approvedBefore = try api.environment.network.approvedCount()

            // When it is charged off-session
            let payment = try await api.payment([
                ("customer", customer), ("payment_method", card), ("off_session", "true"), ("confirm", "true"),
                ("amount", "2500"),
            ])

            // Then the outcome is the card's
            if let code = row.code {
                #expect(payment.status == 402)
                #expect(payment.error["type"]?.string == "card_error")
                #expect(payment.error["code"]?.string == code)
                #expect(payment.error["decline_code"]?.string == row.declineCode)
                let embedded = try #require(payment.error["payment_intent"])
                #expect(embedded["status"]?.string == "requires_payment_method")
                let id = try #require(embedded["id"]?.string)
                let stored = try await api.retrieveIntent(id)
                #expect(stored["status"]?.string == "requires_payment_method")
                #expect(stored["last_payment_error"]?["code"]?.string == code)
                #expect(stored["last_payment_error"]?["payment_method"]?["id"]?.string == card)
                #expect(try api.environment.network.approvedCount() == approvedBefore)
            } else {
                #expect(payment.status == 200)
                #expect(payment.json["status"]?.string == "succeeded")
                #expect(payment.json["amount_received"]?.int == 2500)
                #expect(payment.json["next_action"]?.isNull == true)
                #expect(try api.environment.network.approvedCount() == approvedBefore + 1)
            }
        }
    }

    @Test("off_session=true on the confirm endpoint declines a card that always needs authentication")
    func offSessionOnConfirmEndpoint() async throws {
        try await withWire { api in
            // Given an intent for a customer's saved card that always needs authentication
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4000002760003184", customer: customer)
            let created = try await api.payment([("customer", customer), ("payment_method", card)])
            let id = try #require(created.json["id"]?.string)

            // When the server confirms it off-session
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm", [("off_session", "true")])

            // Then it is declined authentication_required, with the intent back to requires_payment_method
            #expect(confirmed.status == 402)
            #expect(confirmed.error["code"]?.string == "authentication_required")
            #expect(confirmed.error["payment_intent"]?["id"]?.string == id)
            #expect(confirmed.error["payment_intent"]?["status"]?.string == "requires_payment_method")
            #expect(confirmed.error["payment_intent"]?["next_action"]?.isNull == true)
        }
    }

    @Test("off_session without confirm=true is a 400")
    func offSessionWithoutConfirm() async throws {
        try await withWire { api in
            // Given a saved card
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)

            // When an intent is created off_session but not confirmed
            let response = try await api.payment([
                ("customer", customer), ("payment_method", card), ("off_session", "true"),
            ])

            // Then it is refused, naming off_session, and nothing is created
            #expect(response.status == 400)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["param"]?.string == "off_session")
            #expect(try await api.get("/v1/payment_intents").json.ids == [])
        }
    }

    @Test("off_session=true with setup_future_usage on the intent is refused, as Stripe, and charges and saves nothing")
    func offSessionWithSetupFutureUsage() async throws {
        try await withWire { api in
            // Given a customer with a saved card
            let customer = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: customer)

            // When an off-session payment also asks to set the card up, on create
            let created = try await api.payment([
                ("customer", customer), ("payment_method", card), ("off_session", "true"), ("confirm", "true"),
                ("setup_future_usage", "off_session"),
            ])
            // Then it is refused naming off_session, and no intent is made
            #expect(created.status == 400, "\(created.text)")
            #expect(created.error["code"]?.string == "parameters_exclusive")
            #expect(created.error["param"]?.string == "off_session")
            #expect(try await api.get("/v1/payment_intents").json.ids == [])

            // And on the confirm of an intent that holds setup_future_usage, with a new card: refused, the card
            // neither charged nor saved to the customer
            let pending = try await api.payment([("customer", customer), ("setup_future_usage", "off_session")])
            let id = try #require(pending.json["id"]?.string)
            let confirmed = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("payment_method", "pm_card_mastercard"), ("off_session", "true")]
            )
            #expect(confirmed.status == 400 && confirmed.error["param"]?.string == "off_session", "\(confirmed.text)")
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "requires_payment_method" && intent["latest_charge"]?.isNull == true)
            let saved = try await api.get("/v1/customers/\(customer)/payment_methods")
            #expect(saved.json.ids == [card])

            // And unsetting setup_future_usage in the same confirm charges off-session
            let unset = try await api.post(
                "/v1/payment_intents/\(id)/confirm",
                [("payment_method", card), ("off_session", "true"), ("setup_future_usage", "")]
            )
            #expect(unset.status == 200 && unset.json["status"]?.string == "succeeded", "\(unset.text)")
        }
    }
}
