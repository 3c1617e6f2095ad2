import Foundation
import PaymentsCore
import TestSupport
import Testing

/// `GET /v1/charges` and `GET /v1/charges/:id` through the real router: Stripe's charge shape for each kind of
/// attempt, the list's filters and paging, expansion, and the errors.
@Suite("Charge routes")
struct ChargesRouteTests {
    // MARK: - Fixtures

    /// Creates and confirms an intent of 1000 usd with `paymentMethod` plus `form`; returns the answer.
    static func pay(_ api: WireClient, _ paymentMethod: String, _ form: [(String, String)] = []) async throws
        -> WireResponse
    {
        try await api.payment([("payment_method", paymentMethod), ("confirm", "true")] + form)
    }

    /// The `latest_charge` id of an intent answer (or of the intent inside a 402's error).
    static func chargeID(of response: WireResponse) throws -> String {
        let intent = response.status == 402 ? response.error["payment_intent"] : response.json
        return try #require(intent?["latest_charge"]?.string, "no latest_charge: \(response.text)")
    }

    /// `GET /v1/charges/:id`, which must answer 200.
    static func charge(_ api: WireClient, _ id: String, _ query: [(String, String)] = []) async throws -> WireJSON {
        let response = try await api.get("/v1/charges/\(id)", query)
        try #require(response.status == 200, "retrieve \(id): \(response.text)")
        return response.json
    }

    // MARK: - Retrieve: the shape of each kind of charge

    @Test("a charge copies its intent's receipt email and statement descriptors, in its events too")
    func receiptAndDescriptors() async throws {
        try await withWire { api in
            // Given a payment whose intent names a receipt email and statement descriptors, and one that does not
            let paid = try await Self.pay(
                api,
                "pm_card_visa",
                [
                    ("receipt_email", "buyer@example.com"), ("statement_descriptor", "SHOPNAME"),
                    ("statement_descriptor_suffix", "ORDER 42"),
                ]
            )
            let plain = try await Self.pay(api, "pm_card_visa")

            // When their charges are retrieved, and the first one's charge.succeeded event
            let charge = try await Self.charge(api, try Self.chargeID(of: paid))
            let other = try await Self.charge(api, try Self.chargeID(of: plain))
            let events = try await api.get("/v1/events", [("type", "charge.succeeded")]).json
            let event = try #require(
                events["data"]?.array?.first { $0["data"]?["object"]?["id"] == charge["id"] },
                "\(events)"
            )

            // Then the first charge holds what its intent held, as Stripe copies them (it showed null); the other
            // holds nulls
            for object in [charge, event["data"]?["object"] ?? .null] {
                #expect(object["receipt_email"]?.string == "buyer@example.com", "\(object)")
                #expect(object["statement_descriptor"]?.string == "SHOPNAME")
                #expect(object["statement_descriptor_suffix"]?.string == "ORDER 42")
            }
            for field in ["receipt_email", "statement_descriptor", "statement_descriptor_suffix"] {
                #expect(other[field]?.isNull == true, "\(field): \(other)")
            }
        }
    }

    @Test("a succeeded charge has Stripe's shape: amounts, card, checks, outcome, refunds, copied metadata")
    func succeeded() async throws {
        try await withWire { api in
            // Given a payment with a card that has a CVC, and an intent with a description and metadata
            let card = try await api.card("4242424242424242")
            let paid = try await Self.pay(
                api,
                card,
                [("description", "Order 42"), ("metadata[order]", "42"), ("amount", "1099")]
            )
            let id = try Self.chargeID(of: paid)

            // When its charge is retrieved
            let charge = try await Self.charge(api, id)

            // Then it is the captured charge of that payment, as Stripe shows one
            #expect(charge["id"]?.string == id)
            #expect(id.wholeMatch(of: /ch_[A-Za-z0-9]{24}/) != nil)
            #expect(charge["object"]?.string == "charge")
            #expect(charge["amount"]?.int == 1099)
            #expect(charge["amount_captured"]?.int == 1099)
            #expect(charge["amount_refunded"]?.int == 0)
            #expect(charge["captured"]?.bool == true)
            #expect(charge["paid"]?.bool == true)
            #expect(charge["refunded"]?.bool == false)
            #expect(charge["status"]?.string == "succeeded")
            #expect(charge["currency"]?.string == "usd")
            #expect(charge["created"]?.int == api.environment.clock.now)
            #expect(charge["customer"]?.isNull == true)
            #expect(charge["payment_intent"]?.string == paid.json["id"]?.string)
            #expect(charge["payment_method"]?.string == card)
            #expect(charge["description"]?.string == "Order 42")
            #expect(charge["metadata"] == .object(["order": .string("42")]))
            #expect(charge["livemode"]?.bool == false)
            #expect(charge["balance_transaction"]?.isNull == true)
            #expect(charge["failure_code"]?.isNull == true)
            #expect(charge["failure_message"]?.isNull == true)
            #expect(charge["disputed"]?.bool == false)
            #expect(charge["billing_details"]?["name"]?.isNull == true)
            #expect(
                charge["outcome"]
                    == .object([
                        "network_status": .string("approved_by_network"), "reason": .null,
                        "risk_level": .string("normal"), "seller_message": .string("Payment complete."),
                        "type": .string("authorized"),
                    ])
            )
            let details = try #require(charge["payment_method_details"])
            #expect(details["type"]?.string == "card")
            let paidCard = try #require(details["card"])
            let method = try await api.get("/v1/payment_methods/\(card)").json["card"]
            #expect(paidCard["brand"]?.string == "visa")
            #expect(paidCard["last4"]?.string == "4242")
            #expect(paidCard["exp_month"]?.int == 12)
            #expect(paidCard["exp_year"]?.int == 2030)
            #expect(paidCard["funding"]?.string == "credit")
            #expect(paidCard["country"]?.string == "US")
            #expect(paidCard["network"]?.string == "visa")
            #expect(paidCard["fingerprint"]?.string == method?["fingerprint"]?.string)
            #expect(paidCard["fingerprint"]?.string?.isEmpty == false)
            #expect(
                paidCard["checks"]
                    == .object([
                        "cvc_check": .string("pass"), "address_line1_check": .null, "address_postal_code_check": .null,
                    ])
            )
            #expect(paidCard["three_d_secure"]?.isNull == true)
            #expect(
                charge["refunds"]
                    == .object([
                        "object": .string("list"), "data": .array([]), "has_more": .bool(false),
                        "url": .string("/v1/charges/\(id)/refunds"),
                    ])
            )

            // And the intent's expanded latest_charge is the same object
            let intentID = try #require(paid.json["id"]?.string)
            #expect(try await api.retrieveIntent(intentID, expandCharge: true)["latest_charge"] == charge)
        }
    }

    @Test(
        "the outcome and checks are as Stripe sets them for each test card",
        arguments: [
            ("pm_card_visa", "approved_by_network", nil, "normal", "authorized", "pass"),
            (
                "pm_card_riskLevelElevated", "approved_by_network", "elevated_risk_level", "elevated", "manual_review",
                "pass"
            ),
            ("pm_card_cvcCheckFail", "approved_by_network", nil, "normal", "authorized", "fail"),
            (
                "pm_card_chargeDeclinedInsufficientFunds", "declined_by_network", "insufficient_funds", "normal",
                "issuer_declined", "pass"
            ),
            ("pm_card_chargeDeclined", "declined_by_network", "generic_decline", "normal", "issuer_declined", "pass"),
            ("pm_card_radarBlock", "not_sent_to_network", "highest_risk_level", "highest", "blocked", "pass"),
        ] as [(String, String, String?, String, String, String)]
    )
    func outcome(
        card: String,
        networkStatus: String,
        reason: String?,
        risk: String,
        type: String,
        cvcCheck: String
    ) async throws {
        try await withWire { api in
            // Given a payment with the card (a magic id: its payment method is made with a CVC)
            let paid = try await Self.pay(api, card)
            let charge = try await Self.charge(api, try Self.chargeID(of: paid))

            // Then the outcome says what the network and Radar decided, and the checks what the issuer answered
            let outcome = try #require(charge["outcome"])
            #expect(outcome["network_status"]?.string == networkStatus)
            #expect(outcome["reason"] == reason.map { WireJSON.string($0) } ?? .null)
            #expect(outcome["risk_level"]?.string == risk)
            #expect(outcome["type"]?.string == type)
            #expect(outcome["seller_message"]?.string?.isEmpty == false)
            #expect(charge["payment_method_details"]?["card"]?["checks"]?["cvc_check"]?.string == cvcCheck)
        }
    }

    @Test("the checks show the issuer's answer to each datum the card carried, null for one it did not")
    func checks() async throws {
        try await withWire { api in
            // Given cards with and without a CVC, and one with a billing address whose checks fail
            let withCVC = try await api.card("4000000000000101", cvc: "123")
            let withoutCVC = try await api.card("4242424242424242", cvc: nil)
            let address = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4000000000000010"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"), ("billing_details[address][line1]", "1 Main St"),
                    ("billing_details[address][postal_code]", "94107"), ("billing_details[name]", "Jenny Rosen"),
                ]
            )
            let withAddress = try #require(address.json["id"]?.string)

            for (card, expected) in [
                (withCVC, ["cvc_check": "fail"]), (withoutCVC, [:]),
                (withAddress, ["address_line1_check": "fail", "address_postal_code_check": "fail"]),
            ] as [(String, [String: String])] {
                // When it pays
                let charge = try await Self.charge(api, try Self.chargeID(of: try await Self.pay(api, card)))

                // Then each check is the issuer's answer, or null
                let checks = try #require(charge["payment_method_details"]?["card"]?["checks"])
                for key in ["cvc_check", "address_line1_check", "address_postal_code_check"] {
                    #expect(checks[key] == expected[key].map { WireJSON.string($0) } ?? .null, "\(card) \(key)")
                }
                if card == withAddress {
                    #expect(charge["billing_details"]?["name"]?.string == "Jenny Rosen")
                    #expect(charge["billing_details"]?["address"]?["postal_code"]?.string == "94107")
                }
            }
        }
    }

    @Test("a declined charge is failed, unpaid and uncaptured, with the decline's code, message and outcome")
    func declined() async throws {
        try await withWire { api in
            // Given a payment declined for insufficient funds
            let declined = try await Self.pay(api, "pm_card_chargeDeclinedInsufficientFunds")
            try #require(declined.status == 402)
            let id = try Self.chargeID(of: declined)
            #expect(declined.error["charge"]?.string == id)

            // When its charge is retrieved
            let charge = try await Self.charge(api, id)

            // Then it failed, as Stripe shows a declined charge
            #expect(charge["status"]?.string == "failed")
            #expect(charge["paid"]?.bool == false)
            #expect(charge["captured"]?.bool == false)
            #expect(charge["amount"]?.int == 1000)
            #expect(charge["amount_captured"]?.int == 0)
            #expect(charge["amount_refunded"]?.int == 0)
            #expect(charge["refunded"]?.bool == false)
            #expect(charge["failure_code"]?.string == "card_declined")
            #expect(charge["failure_message"]?.string == "Your card has insufficient funds.")
            #expect(charge["outcome"]?["network_status"]?.string == "declined_by_network")
            #expect(charge["outcome"]?["type"]?.string == "issuer_declined")
            #expect(charge["outcome"]?["reason"]?.string == "insufficient_funds")
            #expect(
                charge["outcome"]?["seller_message"]?.string
                    == "The bank returned the decline code `insufficient_funds`."
            )
            #expect(charge["payment_method_details"]?["card"]?["last4"]?.string == "9995")
        }
    }

    @Test("a pending charge (the network has not answered yet) is unpaid, uncaptured and has no outcome yet")
    func pending() async throws {
        try await withWire { api in
            // Given an attempt recorded before the network answered (as a crash between the two leaves it)
            let created = try await api.payment([("payment_method", "pm_card_visa")])
            let intent = try await api.environment.intents.retrieve(try #require(created.json["id"]?.string))
            let attempt = Charge.attempt(
                id: "ch_pendingroutetest000000001",
                for: intent,
                paymentMethod: intent.paymentMethod,
                at: api.environment.clock.now
            )
            try await api.environment.database.write { tx in try tx.insert(attempt) }

            // When it is retrieved
            let charge = try await Self.charge(api, attempt.id)

            // Then it is pending, as Stripe shows a charge in flight
            #expect(charge["status"]?.string == "pending")
            #expect(charge["paid"]?.bool == false)
            #expect(charge["captured"]?.bool == false)
            #expect(charge["amount_captured"]?.int == 0)
            #expect(charge["outcome"]?.isNull == true)
            #expect(charge["failure_code"]?.isNull == true)
            #expect(charge["payment_method_details"]?["card"]?["last4"]?.string == "4242")
        }
    }

    @Test("a 3-D Secure charge shows the authentication; a failed challenge leaves a failed, unsent charge")
    func threeDSecure() async throws {
        try await withWire { api in
            // Given a payment that needed 3-D Secure and was authenticated
            let challenged = try await Self.pay(api, "pm_card_authenticationRequired")
            try #require(challenged.json["status"]?.string == "requires_action")
            try #require(try await api.answerChallenge(of: challenged.json, outcome: "complete").status == 200)
            let intentID = try #require(challenged.json["id"]?.string)
            let paid = try await api.retrieveIntent(intentID)
            try #require(paid["status"]?.string == "succeeded")

            // When its charge is retrieved
            let charge = try await Self.charge(api, try #require(paid["latest_charge"]?.string))

            // Then the charge says 3-D Secure authenticated it, through a challenge
            #expect(charge["status"]?.string == "succeeded")
            #expect(
                charge["payment_method_details"]?["card"]?["three_d_secure"]
                    == .object([
                        "authentication_flow": .string("challenge"), "result": .string("authenticated"),
                        "result_reason": .null, "version": .string("2.2.0"),
                    ])
            )

            // And a challenge failed leaves a failed charge that never reached the network
            let failing = try await Self.pay(api, "pm_card_authenticationRequired")
            try #require(try await api.answerChallenge(of: failing.json, outcome: "fail").status == 200)
            let failedIntent = try await api.retrieveIntent(try #require(failing.json["id"]?.string))
            let failed = try await Self.charge(api, try #require(failedIntent["latest_charge"]?.string))
            #expect(failed["status"]?.string == "failed")
            #expect(failed["failure_code"]?.string == "payment_intent_authentication_failure")
            #expect(failed["outcome"]?["network_status"]?.string == "not_sent_to_network")
            #expect(failed["payment_method_details"]?["card"]?["three_d_secure"]?["result"]?.string == "failed")
        }
    }

    @Test("an authorization is paid but uncaptured; a partial capture shows the released rest as refunded")
    func partialCapture() async throws {
        try await withWire { api in
            // Given an authorization of 1000
            let held = try await Self.pay(api, "pm_card_visa", [("capture_method", "manual")])
            try #require(held.json["status"]?.string == "requires_capture")
            let id = try Self.chargeID(of: held)
            let intentID = try #require(held.json["id"]?.string)

            // Then it is paid (authorized) but not captured
            let authorized = try await Self.charge(api, id)
            #expect(authorized["paid"]?.bool == true)
            #expect(authorized["captured"]?.bool == false)
            #expect(authorized["amount_captured"]?.int == 0)
            #expect(authorized["amount_refunded"]?.int == 0)
            #expect(authorized["refunded"]?.bool == false)

            // When 600 are captured
            try #require(
                try await api.post("/v1/payment_intents/\(intentID)/capture", [("amount_to_capture", "600")]).status
                    == 200
            )

            // Then the charge captured 600 and shows the 400 released as refunded, not refunded in full
            let captured = try await Self.charge(api, id)
            #expect(captured["amount"]?.int == 1000)
            #expect(captured["amount_captured"]?.int == 600)
            #expect(captured["amount_refunded"]?.int == 400)
            #expect(captured["captured"]?.bool == true)
            #expect(captured["refunded"]?.bool == false)
            #expect(captured["status"]?.string == "succeeded")

            // When the 600 are refunded, then everything is given back
            let refund = try await api.post("/v1/refunds", [("payment_intent", intentID)])
            #expect(refund.json["amount"]?.int == 600)
            let refunded = try await Self.charge(api, id)
            #expect(refunded["amount_refunded"]?.int == 1000)
            #expect(refunded["refunded"]?.bool == true)
            #expect(refunded["refunds"]?.ids == [try #require(refund.json["id"]?.string)])
        }
    }

    @Test("a charge's refunds are listed on it, newest first, and at /v1/charges/:id/refunds")
    func refunds() async throws {
        try await withWire { api in
            // Given a paid charge refunded twice
            let paid = try await Self.pay(api, "pm_card_visa")
            let id = try Self.chargeID(of: paid)
            let intentID = try #require(paid.json["id"]?.string)
            var refunds: [String] = []
            for amount in ["300", "200"] {
                let refund = try await api.post("/v1/refunds", [("charge", id), ("amount", amount)])
                refunds.append(try #require(refund.json["id"]?.string, "\(refund.text)"))
            }

            // When the charge and its refunds list are read
            let charge = try await Self.charge(api, id)
            let list = try await api.get("/v1/charges/\(id)/refunds", [("limit", "1")])

            // Then both show the refunds, newest first
            #expect(charge["amount_refunded"]?.int == 500)
            #expect(charge["refunds"]?.ids == refunds.reversed())
            #expect(charge["refunds"]?["data"]?[0]?["payment_intent"]?.string == intentID)
            #expect(list.status == 200)
            #expect(list.json.ids == [refunds[1]])
            #expect(list.json["has_more"]?.bool == true)
            #expect(list.json["url"]?.string == "/v1/charges/\(id)/refunds")
            #expect(try await api.get("/v1/charges/ch_missing/refunds").status == 404)

            // And one refund is read under its charge (the library's Charge.retrieve_refund; a 404 before), but not
            // under another charge
            let one = try await api.get("/v1/charges/\(id)/refunds/\(refunds[0])")
            #expect(one.status == 200, "\(one.text)")
            #expect(one.json["id"]?.string == refunds[0])
            #expect(one.json["amount"]?.int == 300)
            let other = try Self.chargeID(of: try await Self.pay(api, "pm_card_visa"))
            let elsewhere = try await api.get("/v1/charges/\(other)/refunds/\(refunds[0])")
            #expect(elsewhere.status == 404, "\(elsewhere.text)")
            #expect(elsewhere.error["code"]?.string == "resource_missing")

            // And both expand as /v1/refunds does (they refused every expansion); a nested one is still refused
            let expanded = try await api.get(
                "/v1/charges/\(id)/refunds",
                [("expand[]", "data.charge"), ("expand[]", "data.payment_intent")]
            )
            #expect(expanded.status == 200, "\(expanded.text)")
            #expect(expanded.json["data"]?[0]?["charge"]?["id"]?.string == id, "\(expanded.text)")
            #expect(expanded.json["data"]?[0]?["payment_intent"]?["id"]?.string == intentID, "\(expanded.text)")
            let oneExpanded = try await api.get("/v1/charges/\(id)/refunds/\(refunds[0])", [("expand[]", "charge")])
            #expect(oneExpanded.json["charge"]?["object"]?.string == "charge", "\(oneExpanded.text)")
            let unknown = try await api.get("/v1/charges/\(id)/refunds", [("expand[]", "data.customer")])
            #expect(unknown.status == 400, "\(unknown.text)")
        }
    }

    @Test(
        "POST /v1/charges/:id/refunds refunds the charge as POST /v1/refunds does; the oldest /refund says where to go"
    )
    func refundUnderTheCharge() async throws {
        try await withWire { api in
            // Given a paid charge
            let paid = try await Self.pay(api, "pm_card_visa")
            let id = try Self.chargeID(of: paid)
            // When older clients' charge.refunds.create() refunds part of it (a 404 "Unrecognized request URL" before)
            let refund = try await api.post("/v1/charges/\(id)/refunds", [("amount", "400"), ("metadata[o]", "7")])
            // Then it is a refund of that charge, which shows it
            #expect(refund.status == 200, "\(refund.text)")
            #expect(refund.json["object"]?.string == "refund" && refund.json["charge"]?.string == id)
            #expect(refund.json["amount"]?.int == 400 && refund.json["metadata"]?["o"]?.string == "7")
            #expect(try await Self.charge(api, id)["amount_refunded"]?.int == 400)
            // And the charge is the path's alone: another in the body is refused, and an unknown one is the URL's 404
            let named = try await api.post("/v1/charges/\(id)/refunds", [("charge", id), ("amount", "1")])
            #expect(named.status == 400 && named.error["code"]?.string == "parameter_unknown", "\(named.text)")
            let missing = try await api.post("/v1/charges/ch_missing/refunds", [("amount", "1")])
            #expect(missing.status == 404, "the URL's object: \(missing.text)")
            #expect(missing.error["code"]?.string == "resource_missing", "\(missing.text)")
            #expect(missing.error["param"]?.string != "charge", "\(missing.text)")
            // And the rest refunds with no amount
            let rest = try await api.post("/v1/charges/\(id)/refunds")
            #expect(rest.status == 200 && rest.json["amount"]?.int == 600, "\(rest.text)")
            #expect(try await Self.charge(api, id)["amount_refunded"]?.int == 1000)
        }
    }

    // MARK: - Errors

    @Test("an unknown charge is a 404 resource_missing")
    func unknown() async throws {
        try await withWire { api in
            let response = try await api.get("/v1/charges/ch_doesnotexist")
            #expect(response.status == 404)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "id")
            #expect(response.error["message"]?.string == "No such charge: 'ch_doesnotexist'")
        }
    }

    @Test(
        "charges need the secret key: a publishable one gets 401 secret_key_required",
        arguments: ["/v1/charges", "/v1/charges/CHARGE", "/v1/charges/CHARGE/refunds"]
    )
    func secretKeyRequired(_ path: String) async throws {
        try await withWire { api in
            // Given a charge
            let id = try Self.chargeID(of: try await Self.pay(api, "pm_card_visa"))

            // When it is read with the publishable key, or with none
            let publishable = try await api.get(
                path.replacingOccurrences(of: "CHARGE", with: id),
                auth: WireClient.publishable
            )
            let none = try await api.get(path.replacingOccurrences(of: "CHARGE", with: id), auth: nil)

            // Then it is refused as the other secret-only endpoints refuse it
            #expect(publishable.status == 401)
            #expect(publishable.error["type"]?.string == "invalid_request_error")
            #expect(publishable.error["code"]?.string == "secret_key_required")
            #expect(none.status == 401)
            #expect(publishable.json["object"] == nil && publishable.json["data"] == nil)
        }
    }

    @Test(
        "bad list parameters are 400s naming the parameter",
        arguments: [
            ([("limit", "0")], "limit"), ([("limit", "101")], "limit"), ([("created[gte]", "soon")], "created[gte]"),
            ([("starting_after", "ch_missing")], "starting_after"), ([("status", "succeeded")], "status"),
            ([("expand[]", "data.payment_method")], "expand"), ([("expand[]", "payment_intent")], "expand"),
            ([("starting_after", "ch_a"), ("ending_before", "ch_b")], "ending_before"),
        ] as [([(String, String)], String)]
    )
    func badList(_ query: [(String, String)], param: String) async throws {
        try await withWire { api in
            let response = try await api.get("/v1/charges", query)
            #expect(response.status == 400)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["param"]?.string == param)
        }
    }

    // MARK: - List

    @Test("the list is newest first, filtered by customer, payment_intent and created, paged both ways")
    func list() async throws {
        try await withWire { api in
            // Given a customer's intent declined then paid (two charges), a second payment of the customer, and a
            // payment without a customer, ten seconds apart
            let clock = api.environment.clock
            let start = clock.now
            let customer = try await api.createCustomer()
            let declined = try await Self.pay(
                api,
                "pm_card_chargeDeclinedInsufficientFunds",
                [("customer", customer)]
            )
            let intentID = try #require(declined.error["payment_intent"]?["id"]?.string)
            let first = try Self.chargeID(of: declined)
            clock.advance(by: 10)
            let retried = try await api.post(
                "/v1/payment_intents/\(intentID)/confirm",
                [("payment_method", "pm_card_visa")]
            )
            let second = try Self.chargeID(of: retried)
            clock.advance(by: 10)
            let third = try Self.chargeID(of: try await Self.pay(api, "pm_card_visa", [("customer", customer)]))
            clock.advance(by: 10)
            let fourth = try Self.chargeID(of: try await Self.pay(api, "pm_card_visa"))

            // When listed in every way
            let all = try await api.get("/v1/charges")
            let byCustomer = try await api.get("/v1/charges", [("customer", customer)])
            let byIntent = try await api.get("/v1/charges", [("payment_intent", intentID)])
            let since = try await api.get("/v1/charges", [("created[gte]", "\(start + 10)")])
            let between = try await api.get(
                "/v1/charges",
                [("created[gt]", "\(start)"), ("created[lt]", "\(start + 30)")]
            )
            let exact = try await api.get("/v1/charges", [("created", "\(start + 20)")])
            let upTo = try await api.get("/v1/charges", [("created[lte]", "\(start + 10)"), ("customer", customer)])
            let page1 = try await api.get("/v1/charges", [("limit", "2")])
            let page2 = try await api.get("/v1/charges", [("limit", "2"), ("starting_after", third)])
            let back = try await api.get("/v1/charges", [("limit", "2"), ("ending_before", second)])

            // Then each is Stripe's list object, newest first
            #expect(all.status == 200)
            #expect(all.json["object"]?.string == "list")
            #expect(all.json["url"]?.string == "/v1/charges")
            #expect(all.json["has_more"]?.bool == false)
            #expect(all.json.ids == [fourth, third, second, first])
            #expect(all.json["data"]?[3]?["status"]?.string == "failed")
            #expect(byCustomer.json.ids == [third, second, first])
            #expect(byIntent.json.ids == [second, first])
            #expect(since.json.ids == [fourth, third, second])
            #expect(between.json.ids == [third, second])
            #expect(exact.json.ids == [third])
            #expect(upTo.json.ids == [second, first])
            #expect(page1.json.ids == [fourth, third])
            #expect(page1.json["has_more"]?.bool == true)
            #expect(page2.json.ids == [second, first])
            #expect(page2.json["has_more"]?.bool == false)
            #expect(back.json.ids == [fourth, third])
            #expect(back.json["has_more"]?.bool == false)
            #expect(try await api.get("/v1/charges", [("customer", "cus_nobody")]).json.ids == [])
        }
    }

    // MARK: - Expand

    @Test("expand[] shows the intent and the customer; in lists, data.payment_intent and data.customer")
    func expand() async throws {
        try await withWire { api in
            // Given a customer's payment
            let customer = try await api.createCustomer([("email", "jenny@example.com")])
            let paid = try await Self.pay(api, "pm_card_visa", [("customer", customer)])
            let id = try Self.chargeID(of: paid)
            let intentID = try #require(paid.json["id"]?.string)

            // When the charge is read expanded, as Stripe's SDKs send it and as curl does
            let indexed = try await Self.charge(api, id, [("expand[0]", "payment_intent"), ("expand[1]", "customer")])
            let brackets = try await Self.charge(api, id, [("expand[]", "payment_intent")])
            let plain = try await Self.charge(api, id)
            let listed = try await api.get(
                "/v1/charges",
                [("expand[]", "data.payment_intent"), ("expand[]", "data.customer")]
            )

            // Then the intent and the customer are objects; unexpanded they are ids
            #expect(indexed["payment_intent"]?["object"]?.string == "payment_intent")
            #expect(indexed["payment_intent"]?["id"]?.string == intentID)
            #expect(indexed["payment_intent"]?["latest_charge"]?.string == id)
            #expect(indexed["payment_intent"] == (try await api.get("/v1/payment_intents/\(intentID)")).json)
            #expect(indexed["customer"]?["object"]?.string == "customer")
            #expect(indexed["customer"]?["email"]?.string == "jenny@example.com")
            #expect(brackets["payment_intent"]?["id"]?.string == intentID)
            #expect(brackets["customer"]?.string == customer)
            #expect(plain["payment_intent"]?.string == intentID)
            #expect(plain["customer"]?.string == customer)
            #expect(listed.status == 200)
            #expect(listed.json["data"]?[0]?["payment_intent"]?["id"]?.string == intentID)
            #expect(listed.json["data"]?[0]?["customer"]?["id"]?.string == customer)

            // And a field that cannot be expanded is a 400
            let bad = try await api.get("/v1/charges/\(id)", [("expand[]", "payment_method")])
            #expect(bad.status == 400)
            #expect(bad.error["param"]?.string == "expand")
        }
    }

    @Test("an authorization to capture later shows capture_before: 7 days after it, when the sweeper releases it")
    func captureBefore() async throws {
        try await withWire { api in
            // Given an authorization and a sale
            let authorized = try await Self.pay(api, "pm_card_visa", [("capture_method", "manual")])
            let sold = try await Self.pay(api, "pm_card_visa")
            let authorization = try await Self.charge(api, try Self.chargeID(of: authorized))
            let sale = try await Self.charge(api, try Self.chargeID(of: sold))

            // Then the authorization's card details say until when it can be captured; the sale's say nothing
            let created = try #require(authorization["created"]?.int)
            let card = authorization["payment_method_details"]?["card"]
            #expect(card?["capture_before"]?.int == created + 7 * 24 * 3600, "\(authorization)")
            #expect(sale["payment_method_details"]?["card"]?.has("capture_before") == false, "\(sale)")

            // And the authorization is captured one second before it, while another made with it is refused at it
            let deadline = try #require(card?["capture_before"]?.int)
            let other = try await Self.pay(api, "pm_card_visa", [("capture_method", "manual")])
            let (first, second) = (try #require(authorized.json["id"]?.string), try #require(other.json["id"]?.string))
            api.environment.clock.advance(by: deadline - 1 - created)
            let captured = try await api.post("/v1/payment_intents/\(first)/capture")
            #expect(captured.status == 200, "\(captured.text)")
            api.environment.clock.advance(by: 1)
            let refused = try await api.post("/v1/payment_intents/\(second)/capture")
            #expect(refused.status == 400, "\(refused.text)")
        }
    }

    /// How many `charge.updated` events are recorded.
    static func chargeUpdates(_ api: WireClient) async throws -> Int {
        try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?.array?.count ?? -1
    }

    @Test(
        "a charge's description and metadata are updated (charge.updated), its money never; bad updates change nothing"
    )
    func update() async throws {
        try await withWire { api in
            // Given a payment's charge
            let paid = try await Self.pay(api, "pm_card_visa", [("description", "order 42")])
            let id = try Self.chargeID(of: paid)
            let before = try await api.get("/v1/charges/\(id)").json

            // When its description is changed and a metadata key added (found missing: a 404 that read like a wrong
            // base URL, where Stripe's libraries call Charge.modify)
            let updated = try await api.post(
                "/v1/charges/\(id)",
                [("description", "order 42, gift"), ("metadata[ticket]", "T-9"), ("expand[]", "payment_intent")]
            )

            // Then the charge shows them, its amounts unchanged, and one charge.updated names the earlier values
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json["description"]?.string == "order 42, gift")
            #expect(updated.json["metadata"]?["ticket"]?.string == "T-9")
            #expect(updated.json["payment_intent"]?["object"]?.string == "payment_intent", "expanded")
            let after = try await api.get("/v1/charges/\(id)").json
            for field in ["amount", "amount_captured", "amount_refunded", "status", "captured", "paid", "refunded"] {
                #expect(after[field] == before[field], "\(field)")
            }
            let events = try #require(try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?.array)
            try #require(events.count == 1, "\(events)")
            #expect(events[0]["data"]?["object"]?["description"]?.string == "order 42, gift")
            let previous = try #require(events[0]["data"]?["previous_attributes"], "\(events[0])")
            #expect(previous["description"]?.string == "order 42")
            #expect(previous.has("metadata") && !previous.has("amount"))

            // And an update that changes nothing records none; an empty description unsets it
            #expect(try await api.post("/v1/charges/\(id)", [("metadata[ticket]", "T-9")]).status == 200)
            let unset = try await api.post("/v1/charges/\(id)", [("description", "")])
            #expect(unset.json["description"] == WireJSON.null, "\(unset.text)")
            #expect(try await Self.chargeUpdates(api) == 2)

            // And money fields, an unknown charge or a publishable key are refused, changing nothing
            let amount = try await api.post("/v1/charges/\(id)", [("amount", "1")])
            #expect(amount.status == 400 && amount.error["param"]?.string == "amount", "\(amount.text)")
            let missing = try await api.post("/v1/charges/ch_missing", [("description", "x")])
            #expect(missing.status == 404 && missing.error["code"]?.string == "resource_missing", "\(missing.text)")
            let publishable = try await api.post(
                "/v1/charges/\(id)",
                [("description", "x")],
                auth: TestHTTP.publishableAuth
            )
            #expect(publishable.status == 401, "\(publishable.text)")
            #expect(try await api.get("/v1/charges/\(id)").json["amount"] == before["amount"])
            #expect(try await Self.chargeUpdates(api) == 2)
        }
    }

    @Test("charge.updated of a refunded charge names only what the update changed, not its refunds")
    func updateOfRefundedCharge() async throws {
        try await withWire { api in
            // Given a charge partly refunded
            let paid = try await Self.pay(api, "pm_card_visa")
            let id = try Self.chargeID(of: paid)
            let refund = try await api.post("/v1/refunds", [("charge", id), ("amount", "300")])
            let refundID = try #require(refund.json["id"]?.string, "\(refund.text)")
            // When its metadata is changed
            #expect(try await api.post("/v1/charges/\(id)", [("metadata[order]", "42")]).status == 200)
            // Then the event's charge lists the refund, and previous_attributes holds the metadata alone (it held
            // `refunds: {data: []}` too, as if the refunds had changed, and the charge had had none)
            let events = try #require(try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?.array)
            try #require(events.count == 1, "\(events)")
            #expect(events[0]["data"]?["object"]?["refunds"]?.ids == [refundID])
            let previous = try #require(events[0]["data"]?["previous_attributes"]?.object, "\(events[0])")
            #expect(Set(previous.keys) == ["metadata"], "\(previous)")
        }
    }

    @Test("a charge's receipt_email and shipping are updated and unset (charge.updated names the earlier values)")
    func updateReceiptEmailAndShipping() async throws {
        try await withWire { api in
            // Given a payment whose intent named a receipt email and no shipping
            let paid = try await Self.pay(api, "pm_card_visa", [("receipt_email", "buyer@example.com")])
            let id = try Self.chargeID(of: paid)
            let intentID = try #require(paid.json["id"]?.string)
            let intentBefore = try await api.get("/v1/payment_intents/\(intentID)").json

            // When the charge's receipt email is changed and shipping given (found refused: a 400, where Stripe's
            // Charge.modify takes both)
            let updated = try await api.post(
                "/v1/charges/\(id)",
                [("receipt_email", "gift@example.com")] + ShippingRouteTests.shippingForm
            )

            // Then the charge shows them, and a retrieve afterwards shows the same charge
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json["receipt_email"]?.string == "gift@example.com")
            #expect(updated.json["shipping"] == ShippingRouteTests.shippingObject, "\(updated.text)")
            #expect(try await Self.charge(api, id) == updated.json)

            // And one charge.updated names exactly their earlier values
            let first = try #require(try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?[0])
            #expect(first["data"]?["object"]?["shipping"] == ShippingRouteTests.shippingObject)
            let previous = try #require(first["data"]?["previous_attributes"]?.object, "\(first)")
            #expect(Set(previous.keys) == ["receipt_email", "shipping"], "\(previous)")
            #expect(previous["receipt_email"]?.string == "buyer@example.com")
            #expect(previous["shipping"]?.isNull == true)

            // And the intent keeps its own: the charge's are its copies
            let intentAfter = try await api.get("/v1/payment_intents/\(intentID)").json
            #expect(intentAfter["receipt_email"]?.string == "buyer@example.com")
            #expect(intentAfter["shipping"]?.isNull == true)
            #expect(intentAfter == intentBefore)

            // When the same values are sent again: nothing changes, and no event is recorded
            let same = try await api.post(
                "/v1/charges/\(id)",
                [("receipt_email", "gift@example.com")] + ShippingRouteTests.shippingForm
            )
            #expect(same.status == 200 && same.json == updated.json, "\(same.text)")
            #expect(try await Self.chargeUpdates(api) == 1)

            // When a new shipping is sent (a tracking number comes later): it replaces the old one whole, and the
            // event names only the fields that differ
            let tracked = try await api.post(
                "/v1/charges/\(id)",
                [
                    ("shipping[name]", "Jenny Rosen"), ("shipping[address][line1]", "510 Townsend St"),
                    ("shipping[tracking_number]", "1Z000"),
                ]
            )
            #expect(tracked.status == 200, "\(tracked.text)")
            let shipping = tracked.json["shipping"]
            #expect(shipping?["tracking_number"]?.string == "1Z000")
            #expect(shipping?["carrier"]?.isNull == true && shipping?["address"]?["city"]?.isNull == true)
            #expect(tracked.json["receipt_email"]?.string == "gift@example.com")
            let second = try #require(try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?[0])
            let changed = try #require(second["data"]?["previous_attributes"]?.object, "\(second)")
            #expect(Set(changed.keys) == ["shipping"], "\(changed)")
            #expect(changed["shipping"]?["tracking_number"]?.string == "1Z999", "\(changed)")
            #expect(changed["shipping"]?["carrier"]?.string == "UPS", "\(changed)")

            // When both are unset with empty values
            let unset = try await api.post("/v1/charges/\(id)", [("receipt_email", ""), ("shipping", "")])

            // Then both are null, on retrieve too, and the event shows them whole as they were
            #expect(unset.status == 200, "\(unset.text)")
            #expect(unset.json["receipt_email"]?.isNull == true && unset.json["shipping"]?.isNull == true)
            #expect(try await Self.charge(api, id) == unset.json)
            let third = try #require(try await api.get("/v1/events", [("type", "charge.updated")]).json["data"]?[0])
            let earlier = try #require(third["data"]?["previous_attributes"]?.object, "\(third)")
            #expect(Set(earlier.keys) == ["receipt_email", "shipping"], "\(earlier)")
            #expect(earlier["receipt_email"]?.string == "gift@example.com")
            #expect(earlier["shipping"] == tracked.json["shipping"])
            #expect(try await Self.chargeUpdates(api) == 3)
        }
    }

    @Test("a JSON body's receipt_email and shipping object update a charge, and an empty shipping unsets it")
    func updateShippingJSON() async throws {
        try await withWire { api in
            let id = try Self.chargeID(of: try await Self.pay(api, "pm_card_visa"))
            let updated = try await api.postJSON(
                "/v1/charges/\(id)",
                #"""
                {"receipt_email": "gift@example.com", "shipping": {"name": "Jenny Rosen", "phone": "+15555550100",
                 "carrier": "UPS", "tracking_number": "1Z999", "address": {"line1": "510 Townsend St",
                 "line2": null, "city": "San Francisco", "postal_code": "94103", "country": "US"}}}
                """#
            )
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json["receipt_email"]?.string == "gift@example.com")
            #expect(updated.json["shipping"] == ShippingRouteTests.shippingObject, "\(updated.text)")
            let unset = try await api.postJSON("/v1/charges/\(id)", #"{"shipping": ""}"#)
            #expect(unset.status == 200, "\(unset.text)")
            #expect(unset.json["shipping"]?.isNull == true)
            #expect(unset.json["receipt_email"]?.string == "gift@example.com")
            #expect(try await Self.charge(api, id)["shipping"]?.isNull == true)
        }
    }

    /// One bad charge update and the error it must get.
    struct BadUpdate: Sendable, CustomTestStringConvertible {
        var form: [(String, String)]
        var code: String
        var param: String

        var testDescription: String { "\(param): \(code)" }
    }

    /// Bad receipt emails, and the bad shipping hashes a PaymentIntent refuses.
    static let badUpdates: [BadUpdate] =
        [
            BadUpdate(form: [("receipt_email", "not-an-email")], code: "email_invalid", param: "receipt_email"),
            BadUpdate(form: [("receipt_email", "a b@example.com")], code: "email_invalid", param: "receipt_email"),
            BadUpdate(
                form: [("receipt_email", String(repeating: "a", count: 800) + "@example.com")],
                code: "parameter_invalid_string_too_long",
                param: "receipt_email"
            ),
        ]
        + ShippingRouteTests.badShippings.map { BadUpdate(form: $0.form, code: $0.code, param: $0.param) }

    @Test("a bad receipt_email or shipping is a 400 naming the parameter; nothing changes", arguments: badUpdates)
    func badUpdate(_ bad: BadUpdate) async throws {
        try await withWire { api in
            // Given a charge with a receipt email and shipping (copied from its intent)
            let paid = try await Self.pay(
                api,
                "pm_card_visa",
                [("receipt_email", "buyer@example.com")] + ShippingRouteTests.shippingForm
            )
            let id = try Self.chargeID(of: paid)
            let before = try await Self.charge(api, id)
            #expect(before["shipping"] == ShippingRouteTests.shippingObject, "\(before)")

            // When it is updated with the bad value beside a good description
            let response = try await api.post("/v1/charges/\(id)", [("description", "changed")] + bad.form)

            // Then it is refused with Stripe's error naming the parameter, and the charge is as it was, with no event
            #expect(response.status == 400, "\(response.text)")
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["code"]?.string == bad.code, "\(response.text)")
            #expect(response.error["param"]?.string == bad.param, "\(response.text)")
            #expect(try await Self.charge(api, id) == before)
            #expect(try await Self.chargeUpdates(api) == 0)
        }
    }

    @Test("a refund of a charge that moved no money says why: declined, or an authorization to cancel instead")
    func refundOfUnpaidChargeSaysWhy() async throws {
        try await withWire { api in
            // Given a declined attempt and an authorization not captured
            let declined = try await Self.pay(api, "pm_card_chargeDeclinedInsufficientFunds")
            let authorized = try await Self.pay(api, "pm_card_visa", [("capture_method", "manual")])
            let (failed, held) = (try Self.chargeID(of: declined), try Self.chargeID(of: authorized))

            // When each is refunded by its charge
            let refusedFailed = try await api.post("/v1/refunds", [("charge", failed)])
            let refusedHeld = try await api.post("/v1/refunds", [("charge", held)])

            // Then each is refused as not refundable, saying why, and no refund exists
            for refused in [refusedFailed, refusedHeld] {
                #expect(refused.status == 400, "\(refused.text)")
                #expect(refused.error["code"]?.string == "charge_not_refundable", "\(refused.text)")
                #expect(refused.error["param"]?.string == "charge", "\(refused.text)")
            }
            let failedMessage = refusedFailed.error["message"]?.string ?? ""
            #expect(failedMessage.contains("failed (card_declined): no money moved"), "\(failedMessage)")
            #expect(!failedMessage.contains("captured"), "\(failedMessage)")
            #expect(refusedHeld.error["message"]?.string?.contains("cancel its PaymentIntent") == true)
            #expect(try await api.listCount("/v1/refunds") == 0)

            // And once its intent is canceled (the authorization released, shown refunded), it has been refunded: the
            // message told the merchant to cancel an intent already canceled
            let intent = try #require(authorized.json["id"]?.string)
            #expect(try await api.post("/v1/payment_intents/\(intent)/cancel").status == 200)
            let refusedReleased = try await api.post("/v1/refunds", [("charge", held)])
            #expect(refusedReleased.status == 400, "\(refusedReleased.text)")
            #expect(refusedReleased.error["code"]?.string == "charge_already_refunded", "\(refusedReleased.text)")
            #expect(refusedReleased.error["message"]?.string == "Charge \(held) has already been refunded.")
            #expect(try await api.listCount("/v1/refunds") == 0)
        }
    }

    @Test(
        "a charge's fields Stripe expands that are always null here expand to null, on the intent's latest charge too",
        arguments: [
            "application", "application_fee", "failure_balance_transaction", "invoice", "on_behalf_of", "review",
            "source_transfer",
        ]
    )
    func alwaysNullFieldsExpandToNull(field: String) async throws {
        try await withWire { api in
            // Given a paid intent and its charge, the field null
            let paid = try await Self.pay(api, "pm_card_visa")
            let id = try Self.chargeID(of: paid)
            let intentID = try #require(paid.json["id"]?.string)
            #expect(try await Self.charge(api, id).at(field) == WireJSON.null)

            // When the charge is read, updated and listed with the field expanded, and the intent with its latest
            // charge's
            let read = try await api.get("/v1/charges/\(id)", [("expand[]", field)])
            let updated = try await api.post("/v1/charges/\(id)", [("metadata[order]", "7"), ("expand[]", field)])
            let listed = try await api.get("/v1/charges", [("expand[]", "data." + field)])
            let intent = try await api.get("/v1/payment_intents/\(intentID)", [("expand[]", "latest_charge." + field)])
            let intents = try await api.get("/v1/payment_intents", [("expand[]", "data.latest_charge." + field)])

            // Then each answers 200 with the field there and null, the intent's latest charge expanded to hold it
            for response in [read, updated, listed, intent, intents] {
                #expect(response.status == 200, "\(response.text)")
            }
            for object in [read.json, updated.json, listed.json["data"]?[0] ?? .null] {
                #expect(object.at(field) == WireJSON.null, "\(object)")
            }
            #expect(intent.json.at("latest_charge.id")?.string == id, "\(intent.text)")
            #expect(intent.json.at("latest_charge." + field) == WireJSON.null)
            #expect(intents.json["data"]?[0]?.at("latest_charge." + field) == WireJSON.null, "\(intents.text)")

            // And a path below it is still the 400, and so is `transfer`, which a charge here does not show at all
            let below = try await api.get("/v1/charges/\(id)", [("expand[]", field + ".charge")])
            let transfer = try await api.get("/v1/charges/\(id)", [("expand[]", "transfer")])
            #expect(below.refusesExpanding(field + ".charge"), "\(below.text)")
            #expect(transfer.refusesExpanding("transfer"), "\(transfer.text)")
            #expect(read.json.has("transfer") == false)
        }
    }

    @Test("balance transactions expand to null, as Stripe's docs read fees, and expanding one expands its charge")
    func balanceTransactionsExpandToNull() async throws {
        try await withWire { api in
            // Given a paid intent and its refund
            let paid = try await Self.pay(api, "pm_card_visa")
            let id = try Self.chargeID(of: paid)
            let intentID = try #require(paid.json["id"]?.string)
            let refund = try await api.post("/v1/refunds", [("charge", id), ("amount", "100")])
            let refundID = try #require(refund.json["id"]?.string, "\(refund.text)")

            // When each is read with its balance transaction expanded, as Stripe's docs read a payment's fees
            let intent = try await api.get(
                "/v1/payment_intents/\(intentID)",
                [("expand[]", "latest_charge.balance_transaction")]
            )
            let charge = try await api.get("/v1/charges/\(id)", [("expand[]", "balance_transaction")])
            let charges = try await api.get("/v1/charges", [("expand[]", "data.balance_transaction")])
            let refunded = try await api.get("/v1/refunds/\(refundID)", [("expand[]", "balance_transaction")])
            let refunds = try await api.get("/v1/refunds", [("expand[]", "data.balance_transaction")])

            // Then each answers 200 with the balance transaction null (there are none here), the intent's latest
            // charge expanded to hold it
            for response in [intent, charge, charges, refunded, refunds] {
                #expect(response.status == 200, "\(response.text)")
            }
            #expect(intent.json["latest_charge"]?["id"]?.string == id, "\(intent.text)")
            #expect(intent.json["latest_charge"]?["balance_transaction"]?.isNull == true)
            #expect(charge.json["balance_transaction"]?.isNull == true)
            #expect(charges.json["data"]?[0]?["balance_transaction"]?.isNull == true)
            #expect(refunded.json["balance_transaction"]?.isNull == true)
            #expect(refunds.json["data"]?[0]?["balance_transaction"]?.isNull == true)

            // And other fields of the charge still cannot be expanded through the intent
            let bad = try await api.get("/v1/payment_intents/\(intentID)", [("expand[]", "latest_charge.outcome")])
            #expect(bad.status == 400 && bad.error["param"]?.string == "expand", "\(bad.text)")
        }
    }
}
