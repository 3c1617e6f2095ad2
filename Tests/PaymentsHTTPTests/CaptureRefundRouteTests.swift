import Foundation
import TestSupport
import Testing

/// Manual capture, cancel and refunds through the real router.
@Suite("Capture, cancel and refund routes")
struct CaptureRefundRouteTests {
    // MARK: - Fixtures

    /// An intent of 1000 usd authorized with `capture_method=manual` (`requires_capture`).
    static func authorized(_ api: WireClient, amount: Int = 1000) async throws -> WireJSON {
        let response = try await api.payment([
            ("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true"),
            ("amount", "\(amount)"),
        ])
        try #require(response.status == 200, "authorize: \(response.text)")
        try #require(response.json["status"]?.string == "requires_capture")
        return response.json
    }

    /// An intent of `amount` usd paid at once (`succeeded`); returns its id.
    static func paid(_ api: WireClient, amount: Int = 1000) async throws -> String {
        let response = try await api.payment([
            ("payment_method", "pm_card_visa"), ("confirm", "true"), ("amount", "\(amount)"),
        ])
        try #require(response.status == 200, "pay: \(response.text)")
        try #require(response.json["status"]?.string == "succeeded")
        return try #require(response.json["id"]?.string)
    }

    /// `POST /v1/refunds` for an intent.
    static func refund(_ api: WireClient, _ intent: String, _ form: [(String, String)] = []) async throws
        -> WireResponse
    {
        try await api.post("/v1/refunds", [("payment_intent", intent)] + form)
    }

    // MARK: - Capture

    @Test("a refund expands its charge and its intent on retrieve, update and list; its creation says it does not")
    func refundExpansions() async throws {
        try await withWire { api in
            // Given a refund of a payment
            let intent = try await Self.paid(api)
            let created = try await Self.refund(api, intent, [("amount", "300")])
            #expect(created.status == 200, "\(created.text)")
            let id = try #require(created.json["id"]?.string)
            let charge = try #require(created.json["charge"]?.string)

            // When it is read with its charge and intent expanded (Stripe's schema: `anyOf[string, Charge]`)
            let expand = [("expand[]", "charge"), ("expand[]", "payment_intent")]
            let retrieved = try await api.get("/v1/refunds/\(id)", expand)
            let updated = try await api.post("/v1/refunds/\(id)", expand + [("metadata[order]", "7")])
            let listed = try await api.get("/v1/refunds", [("expand[]", "data.charge"), ("limit", "1")])
            // Then each shows the objects, which name their own related objects by id
            for (name, refund) in [("retrieve", retrieved.json), ("update", updated.json)] {
                #expect(refund["charge"]?["object"]?.string == "charge", "\(name): \(refund)")
                #expect(refund["charge"]?["id"]?.string == charge, "\(name)")
                #expect(refund["charge"]?["amount_refunded"]?.int == 300, "\(name)")
                #expect(refund["charge"]?["payment_intent"]?.string == intent, "\(name)")
                #expect(refund["payment_intent"]?["object"]?.string == "payment_intent", "\(name): \(refund)")
                #expect(refund["payment_intent"]?["id"]?.string == intent, "\(name)")
                #expect(refund["payment_intent"]?["latest_charge"]?.string == charge, "\(name)")
            }
            #expect(updated.json["metadata"]?["order"]?.string == "7")
            let item = listed.json["data"]?.array?.first
            #expect(item?["charge"]?["id"]?.string == charge, "\(listed.text)")
            #expect(item?["payment_intent"]?.string == intent, "not asked to expand: \(listed.text)")
            // And unexpanded, both are ids
            let plain = try await api.get("/v1/refunds/\(id)")
            #expect(plain.json["charge"]?.string == charge)

            // When a refund is created asking for its charge expanded
            let refused = try await Self.refund(api, intent, [("amount", "100"), ("expand[]", "charge")])
            // Then it is refused, saying to retrieve it expanded, and nothing is refunded
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.error["param"]?.string == "expand")
            #expect(refused.error["message"]?.string?.contains("retrieve the refund with expand[]=charge") == true)
            #expect(try await api.get("/v1/refunds").json.ids == [id])
        }
    }

    @Test("a manual-capture confirm holds the whole amount")
    func manualCaptureHolds() async throws {
        try await withWire { api in
            // When an intent is confirmed with capture_method=manual
            let intent = try await Self.authorized(api)

            // Then the whole amount is capturable and nothing is received
            #expect(intent["amount_capturable"]?.int == 1000)
            #expect(intent["amount_received"]?.int == 0)
            let id = try #require(intent["id"]?.string)
            let charge = try #require(try await api.retrieveIntent(id, expandCharge: true)["latest_charge"])
            #expect(charge["captured"]?.bool == false)
            #expect(charge["amount_captured"]?.int == 0)
            #expect(charge["status"]?.string == "succeeded")
        }
    }

    @Test("capturing without an amount captures all of it")
    func captureAll() async throws {
        try await withWire { api in
            // Given an authorized intent
            let id = try #require(try await Self.authorized(api)["id"]?.string)

            // When it is captured
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("expand[]", "latest_charge")])

            // Then all of it is received, and the charge says so
            #expect(captured.status == 200)
            #expect(captured.json["status"]?.string == "succeeded")
            #expect(captured.json["amount_received"]?.int == 1000)
            #expect(captured.json["amount_capturable"]?.int == 0)
            let charge = try #require(captured.json["latest_charge"])
            #expect(charge["captured"]?.bool == true)
            #expect(charge["amount_captured"]?.int == 1000)
            let chargeID = try #require(charge["id"]?.string)
            #expect(try api.environment.network.capturedAmount(attemptID: chargeID) == 1000)
        }
    }

    @Test("a partial capture receives amount_to_capture and releases the rest")
    func capturePart() async throws {
        try await withWire { api in
            // Given an authorized intent of 1000
            let id = try #require(try await Self.authorized(api)["id"]?.string)

            // When 600 are captured
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "600")])

            // Then 600 are received and nothing more can be captured
            #expect(captured.status == 200)
            #expect(captured.json["status"]?.string == "succeeded")
            #expect(captured.json["amount"]?.int == 1000)
            #expect(captured.json["amount_received"]?.int == 600)
            #expect(captured.json["amount_capturable"]?.int == 0)
            let charge = try #require(try await api.retrieveIntent(id, expandCharge: true)["latest_charge"])
            #expect(charge["captured"]?.bool == true)
            #expect(charge["amount_captured"]?.int == 600)
            let chargeID = try #require(charge["id"]?.string)
            #expect(try api.environment.network.capturedAmount(attemptID: chargeID) == 600)

            // And the charge shows the 400 released as refunded, as Stripe does, without being refunded in full
            #expect(charge["amount_refunded"]?.int == 400)
            #expect(charge["refunded"]?.bool == false)
        }
    }

    @Test("a capture whose metadata would leave more than 50 keys is refused before the network captures anything")
    func captureMetadataOverTheLimit() async throws {
        try await withWire { api in
            // Given an authorized intent holding 50 metadata keys
            let keys = (0..<50).map { ("metadata[k\($0)]", "v") }
            let created = try await api.payment(
                [("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true")] + keys
            )
            let id = try #require(created.json["id"]?.string)
            try #require(created.json["status"]?.string == "requires_capture")

            // When a capture adds a 51st key
            let refused = try await api.post("/v1/payment_intents/\(id)/capture", [("metadata[new]", "x")])

            // Then it is refused, and nothing was captured: a cancel releases the whole authorization
            #expect(refused.status == 400 && refused.error["param"]?.string == "metadata", "\(refused.text)")
            #expect(try await api.retrieveIntent(id)["status"]?.string == "requires_capture")
            let canceled = try await api.post("/v1/payment_intents/\(id)/cancel")
            #expect(canceled.status == 200, "\(canceled.text)")
            #expect(canceled.json["status"]?.string == "canceled" && canceled.json["amount_received"]?.int == 0)

            // And a capture that makes room in the same request captures, with its metadata
            let other = try #require(try await Self.authorized(api)["id"]?.string)
            let filled = try await api.post("/v1/payment_intents/\(other)", keys)
            try #require(filled.status == 200, "\(filled.text)")
            let captured = try await api.post(
                "/v1/payment_intents/\(other)/capture",
                [("metadata[k0]", ""), ("metadata[new]", "x")]
            )
            #expect(captured.status == 200 && captured.json["status"]?.string == "succeeded", "\(captured.text)")
            #expect(captured.json["metadata"]?["new"]?.string == "x" && captured.json["metadata"]?["k0"] == nil)

            // And `metadata=` on a capture unsets every key, as on an update (it was a 200 that kept them all)
            let third = try #require(try await Self.authorized(api)["id"]?.string)
            _ = try await api.post("/v1/payment_intents/\(third)", keys)
            let cleared = try await api.post("/v1/payment_intents/\(third)/capture", [("metadata", "")])
            #expect(cleared.status == 200 && cleared.json["status"]?.string == "succeeded", "\(cleared.text)")
            #expect(cleared.json["metadata"]?.object?.isEmpty == true, "\(cleared.text)")
            #expect(try await api.retrieveIntent(third)["metadata"]?.object?.isEmpty == true)
        }
    }

    @Test("capturing more than is capturable is a 400 and changes nothing")
    func captureTooMuch() async throws {
        try await withWire { api in
            // Given an authorized intent of 1000
            let id = try #require(try await Self.authorized(api)["id"]?.string)

            // When 1001 are captured
            let response = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1001")])

            // Then it is refused and the intent still waits for capture
            #expect(response.status == 400)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["param"]?.string == "amount_to_capture")
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "requires_capture")
            #expect(intent["amount_capturable"]?.int == 1000)
        }
    }

    @Test(
        "a capture with a statement descriptor Stripe refuses, or final_capture=false, is a 400 and captures nothing",
        arguments: [
            ("statement_descriptor", "A descriptor far too long"), ("statement_descriptor_suffix", "12345"),
            ("statement_descriptor_suffix", "Shop <b>"), ("final_capture", "false"), ("final_capture", "maybe"),
        ]
    )
    func captureRefusedOptions(_ name: String, _ value: String) async throws {
        try await withWire { api in
            // Given an authorized intent of 1000
            let id = try #require(try await Self.authorized(api)["id"]?.string)

            // When it is captured with the option
            let response = try await api.post(
                "/v1/payment_intents/\(id)/capture",
                [("amount_to_capture", "400"), (name, value)]
            )

            // Then it is refused naming the option, and nothing was captured or released
            #expect(response.status == 400, "\(response.text)")
            #expect(response.error["param"]?.string == name)
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "requires_capture")
            #expect(intent["amount_capturable"]?.int == 1000)
            #expect(intent["amount_received"]?.int == 0)
        }
    }

    @Test("a capture takes a valid statement descriptor suffix and final_capture=true, the suffix its charge's")
    func captureAcceptedOptions() async throws {
        try await withWire { api in
            let id = try #require(try await Self.authorized(api)["id"]?.string)
            let response = try await api.post(
                "/v1/payment_intents/\(id)/capture",
                [("statement_descriptor_suffix", "ORDER 7"), ("final_capture", "true")]
            )
            #expect(response.status == 200, "\(response.text)")
            #expect(response.json["status"]?.string == "succeeded")
            #expect(response.json["amount_received"]?.int == 1000)
            // The suffix is the charge's, as Stripe's capture sets it; the intent keeps its own (none here)
            #expect(response.json["statement_descriptor_suffix"]?.isNull == true)
            let charge = try #require(response.json["latest_charge"]?.string)
            let captured = try await api.get("/v1/charges/\(charge)").json
            #expect(captured["statement_descriptor_suffix"]?.string == "ORDER 7", "\(captured)")
            #expect(captured["statement_descriptor"]?.isNull == true)
            #expect(captured["captured"]?.bool == true)
        }
    }

    @Test("capturing less than the currency's minimum charge is a 400 amount_too_small and changes nothing")
    func captureTooLittle() async throws {
        try await withWire { api in
            // Given an authorized intent of 1000 usd (Stripe's minimum: 50)
            let id = try #require(try await Self.authorized(api)["id"]?.string)

            // When 1, then 49, are captured
            for amount in ["1", "49"] {
                let response = try await api.post(
                    "/v1/payment_intents/\(id)/capture",
                    [("amount_to_capture", amount)]
                )

                // Then each is refused as Stripe refuses a charge below the minimum
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "amount_too_small")
                #expect(response.error["param"]?.string == "amount_to_capture")
            }
            // and the whole authorization still waits, untouched at the network
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "requires_capture")
            #expect(intent["amount_capturable"]?.int == 1000)
            // And the minimum itself captures
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "50")])
            #expect(captured.status == 200 && captured.json["amount_received"]?.int == 50, "\(captured.text)")
        }
    }

    @Test("in a three-decimal currency an amount not ending in 0 is refused to create, capture and refund")
    func threeDecimalAmounts() async throws {
        try await withWire { api in
            // A payment of 1.005 BHD is refused before anything is charged
            let odd = try await api.payment([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("amount", "1005"), ("currency", "bhd"),
            ])
            #expect(odd.status == 400, "\(odd.text)")
            #expect(odd.error["code"]?.string == "invalid_charge_amount")
            #expect(odd.error["param"]?.string == "amount")
            // An authorization of 2.000 BHD: capturing 1.005 is refused, 1.010 captured
            let held = try await api.payment([
                ("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true"),
                ("amount", "2000"), ("currency", "bhd"),
            ])
            let id = try #require(held.json["id"]?.string, "\(held.text)")
            let capture = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1005")])
            #expect(capture.status == 400, "\(capture.text)")
            #expect(capture.error["param"]?.string == "amount_to_capture")
            #expect(try await api.retrieveIntent(id)["status"]?.string == "requires_capture")
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1010")])
            #expect(captured.json["amount_received"]?.int == 1010, "\(captured.text)")
            // A refund of 0.505 BHD is refused, one of 0.500 made
            let refund = try await Self.refund(api, id, [("amount", "505")])
            #expect(refund.status == 400, "\(refund.text)")
            #expect(refund.error["code"]?.string == "invalid_charge_amount")
            #expect(try await Self.refund(api, id, [("amount", "500")]).status == 200)
        }
    }

    @Test("in isk and ugx an amount not ending in 00 is refused to create, capture and refund")
    func wholeUnitsInTwoDecimalAmounts() async throws {
        try await withWire { api in
            // 10.50 ISK is not a whole krona: refused before anything is charged, naming the rule
            let odd = try await api.payment([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("amount", "1050"), ("currency", "isk"),
            ])
            #expect(odd.status == 400, "\(odd.text)")
            #expect(odd.error["code"]?.string == "invalid_charge_amount")
            #expect(odd.error["message"]?.string?.contains("multiple of 100") == true, "\(odd.text)")
            let ugx = try await api.payment([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("amount", "150"), ("currency", "ugx"),
            ])
            #expect(ugx.status == 400 && ugx.error["code"]?.string == "invalid_charge_amount", "\(ugx.text)")
            // An authorization of 20 ISK: capturing 10.25 is refused, 10 captured; refunding 0.01 refused, 1 made
            let held = try await api.payment([
                ("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true"),
                ("amount", "2000"), ("currency", "isk"),
            ])
            let id = try #require(held.json["id"]?.string, "\(held.text)")
            let capture = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1025")])
            #expect(capture.status == 400 && capture.error["param"]?.string == "amount_to_capture", "\(capture.text)")
            let captured = try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "1000")])
            #expect(captured.json["amount_received"]?.int == 1000, "\(captured.text)")
            let refund = try await Self.refund(api, id, [("amount", "1")])
            #expect(refund.status == 400 && refund.error["code"]?.string == "invalid_charge_amount", "\(refund.text)")
            #expect(try await Self.refund(api, id, [("amount", "100")]).status == 200)
        }
    }

    @Test("capturing an intent that is not requires_capture is payment_intent_unexpected_state")
    func captureWrongState() async throws {
        try await withWire { api in
            // Given a paid intent, one without a payment method and a captured one
            let succeeded = try await Self.paid(api)
            let open = try #require(try await api.payment([]).json["id"]?.string)
            let captured = try #require(try await Self.authorized(api)["id"]?.string)
            try #require(try await api.post("/v1/payment_intents/\(captured)/capture").status == 200)

            for (id, status) in [
                (succeeded, "succeeded"), (open, "requires_payment_method"), (captured, "succeeded"),
            ] {
                // When it is captured
                let response = try await api.post("/v1/payment_intents/\(id)/capture")

                // Then it is refused with the intent in its state
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "payment_intent_unexpected_state")
                #expect(response.error["payment_intent"]?["status"]?.string == status)
            }
        }
    }

    // MARK: - Cancel

    /// The status an intent is brought to before it is canceled.
    enum OpenStatus: String, Sendable, CaseIterable {
        case requiresPaymentMethod = "requires_payment_method"
        case requiresConfirmation = "requires_confirmation"
        case requiresAction = "requires_action"
        case requiresCapture = "requires_capture"
    }

    /// Creates an intent in `status`; returns its id.
    static func intent(_ api: WireClient, in status: OpenStatus) async throws -> String {
        let response: WireResponse
        switch status {
        case .requiresPaymentMethod:
            response = try await api.payment([])
        case .requiresConfirmation:
            response = try await api.payment([("payment_method", "pm_card_visa")])
        case .requiresAction:
            response = try await api.payment([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
            ])
        case .requiresCapture:
            response = try await api.payment([
                ("payment_method", "pm_card_visa"), ("capture_method", "manual"), ("confirm", "true"),
            ])
        }
        try #require(response.json["status"]?.string == status.rawValue, "\(response.text)")
        return try #require(response.json["id"]?.string)
    }

    @Test(
        "cancel from every open status, with every caller reason or none",
        arguments: OpenStatus.allCases,
        [nil, "duplicate", "fraudulent", "requested_by_customer", "abandoned"] as [String?]
    )
    func cancel(from status: OpenStatus, reason: String?) async throws {
        try await withWire { api in
            // Given an intent in the status
            let id = try await Self.intent(api, in: status)

            // When it is canceled
            let response = try await api.post(
                "/v1/payment_intents/\(id)/cancel",
                reason.map { [("cancellation_reason", $0)] } ?? []
            )

            // Then it is canceled now, with the reason
            #expect(response.status == 200)
            #expect(response.json["status"]?.string == "canceled")
            #expect(response.json["canceled_at"]?.int == api.environment.clock.now)
            #expect(response.json["cancellation_reason"] == reason.map { WireJSON.string($0) } ?? .null)
            #expect(response.json["amount_capturable"]?.int == 0)
            #expect(response.json["next_action"]?.isNull == true)
            #expect(try await api.retrieveIntent(id)["status"]?.string == "canceled")
        }
    }

    @Test("canceling releases the authorization, and a later capture is refused")
    func captureAfterCancel() async throws {
        try await withWire { api in
            // Given an authorized intent that is canceled
            let id = try await Self.intent(api, in: .requiresCapture)
            let chargeID = try #require(try await api.retrieveIntent(id)["latest_charge"]?.string)
            try #require(try await api.post("/v1/payment_intents/\(id)/cancel").status == 200)

            // When it is captured
            let response = try await api.post("/v1/payment_intents/\(id)/capture")

            // Then it is refused and nothing was captured at the network
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "payment_intent_unexpected_state")
            #expect(response.error["payment_intent"]?["status"]?.string == "canceled")
            #expect(try api.environment.network.capturedAmount(attemptID: chargeID) == 0)
        }
    }

    @Test("after a cancel in requires_action, the challenge can no longer complete the payment")
    func challengeAfterCancel() async throws {
        try await withWire { api in
            // Given a payment waiting for 3-D Secure that is canceled
            let created = try await api.payment([
                ("payment_method", "pm_card_authenticationRequired"), ("confirm", "true"),
            ])
            let id = try #require(created.json["id"]?.string)
            try #require(try await api.post("/v1/payment_intents/\(id)/cancel").status == 200)

            // When the customer completes the old challenge
            let answer = try await api.answerChallenge(of: created.json, outcome: "complete")

            // Then the link is dead, the intent stays canceled and nothing is charged
            #expect(answer.status == 404)
            #expect(try await api.retrieveIntent(id)["status"]?.string == "canceled")
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("canceling an authorization shows its charge refunded, as Stripe does")
    func cancelRefundsHeldCharge() async throws {
        try await withWire { api in
            // Given an authorized intent of 1000
            let id = try await Self.intent(api, in: .requiresCapture)

            // When it is canceled
            let canceled = try await api.post("/v1/payment_intents/\(id)/cancel", [("expand[]", "latest_charge")])

            // Then its charge was never captured and is shown fully refunded (the hold released)
            #expect(canceled.status == 200)
            let charge = try #require(canceled.json["latest_charge"])
            #expect(charge["captured"]?.bool == false)
            #expect(charge["refunded"]?.bool == true)
            #expect(charge["amount_refunded"]?.int == 1000)
        }
    }

    @Test(
        "a caller may not give a reason Stripe keeps for itself",
        arguments: ["automatic", "failed_invoice", "bogus"]
    )
    func cancelWithReservedReason(_ reason: String) async throws {
        try await withWire { api in
            // Given an open intent
            let id = try await Self.intent(api, in: .requiresPaymentMethod)

            // When it is canceled with that reason
            let response = try await api.post("/v1/payment_intents/\(id)/cancel", [("cancellation_reason", reason)])

            // Then it is refused and the intent stays open
            #expect(response.status == 400)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["param"]?.string == "cancellation_reason")
            #expect(try await api.retrieveIntent(id)["status"]?.string == "requires_payment_method")
        }
    }

    @Test("canceling a succeeded or canceled intent is payment_intent_unexpected_state")
    func cancelFinished() async throws {
        try await withWire { api in
            // Given a paid intent and a canceled one
            let succeeded = try await Self.paid(api)
            let canceled = try await Self.intent(api, in: .requiresPaymentMethod)
            try #require(try await api.post("/v1/payment_intents/\(canceled)/cancel").status == 200)

            for (id, status) in [(succeeded, "succeeded"), (canceled, "canceled")] {
                // When it is canceled
                let response = try await api.post("/v1/payment_intents/\(id)/cancel")

                // Then it is refused with Stripe's wording and the intent in its state
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "payment_intent_unexpected_state")
                let message = response.error["message"]?.string ?? ""
                #expect(message.hasPrefix("You cannot cancel this PaymentIntent because it has a status of \(status)."))
                #expect(response.error["payment_intent"]?["status"]?.string == status)
            }
        }
    }

    // MARK: - Refunds

    @Test("a refund without an amount refunds everything; the intent stays succeeded")
    func fullRefund() async throws {
        try await withWire { api in
            // Given a paid intent
            let id = try await Self.paid(api)
            let chargeID = try #require(try await api.retrieveIntent(id)["latest_charge"]?.string)

            // When it is refunded without an amount
            let response = try await Self.refund(api, id)

            // Then the refund is for the whole amount
            #expect(response.status == 200)
            let refund = response.json
            #expect(refund["id"]?.string?.hasPrefix("re_") == true)
            #expect(refund["object"]?.string == "refund")
            #expect(refund["amount"]?.int == 1000)
            #expect(refund["currency"]?.string == "usd")
            #expect(refund["status"]?.string == "succeeded")
            #expect(refund["payment_intent"]?.string == id)
            #expect(refund["charge"]?.string == chargeID)
            #expect(refund["reason"]?.isNull == true)

            // And the intent is still succeeded, its charge fully refunded
            let intent = try await api.retrieveIntent(id, expandCharge: true)
            #expect(intent["status"]?.string == "succeeded")
            #expect(intent["amount_received"]?.int == 1000)
            #expect(intent["latest_charge"]?["amount_refunded"]?.int == 1000)
            #expect(intent["latest_charge"]?["refunded"]?.bool == true)
        }
    }

    @Test("partial refunds add up to the amount received; refunded turns true only at the end")
    func partialRefunds() async throws {
        try await withWire { api in
            // Given a paid intent of 1000
            let id = try await Self.paid(api)

            for (amount, total, refunded) in [(300, 300, false), (300, 600, false), (400, 1000, true)] {
                // When part of it is refunded
                let response = try await Self.refund(api, id, [("amount", "\(amount)")])

                // Then the refunds add up
                #expect(response.status == 200)
                #expect(response.json["amount"]?.int == Int64(amount))
                let intent = try await api.retrieveIntent(id, expandCharge: true)
                #expect(intent["status"]?.string == "succeeded")
                #expect(intent["latest_charge"]?["amount_refunded"]?.int == Int64(total))
                #expect(intent["latest_charge"]?["refunded"]?.bool == refunded)
            }

            // When it is refunded once more
            let again = try await Self.refund(api, id, [("amount", "1")])
            let whole = try await Self.refund(api, id)

            // Then there is nothing left
            for response in [again, whole] {
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "charge_already_refunded")
            }
        }
    }

    @Test("refunding more than is left is a 400 amount_too_large on amount")
    func overRefund() async throws {
        try await withWire { api in
            // Given a paid intent of 1000
            let id = try await Self.paid(api)

            // When 1001 are refunded
            let tooMuch = try await Self.refund(api, id, [("amount", "1001")])

            // Then it is refused
            #expect(tooMuch.status == 400)
            #expect(tooMuch.error["code"]?.string == "amount_too_large")
            #expect(tooMuch.error["param"]?.string == "amount")

            // When 600 are refunded, then 401
            try #require(try await Self.refund(api, id, [("amount", "600")]).status == 200)
            let overLeft = try await Self.refund(api, id, [("amount", "401")])

            // Then that is refused too, and the remaining 400 can still be refunded
            #expect(overLeft.status == 400)
            #expect(overLeft.error["code"]?.string == "amount_too_large")
            #expect(overLeft.error["param"]?.string == "amount")
            let rest = try await Self.refund(api, id)
            #expect(rest.status == 200)
            #expect(rest.json["amount"]?.int == 400)
        }
    }

    @Test("a refund may name its currency (Stripe's currency): the charge's is accepted, another refused")
    func refundCurrency() async throws {
        try await withWire { api in
            // Given a paid intent of 1000 usd
            let id = try await Self.paid(api)

            // When a refund names eur, then USD
            let other = try await Self.refund(api, id, [("amount", "100"), ("currency", "eur")])
            let same = try await Self.refund(api, id, [("amount", "100"), ("currency", "USD")])

            // Then the first is refused on currency and refunds nothing; the second refunds 100 usd
            #expect(other.status == 400 && other.error["param"]?.string == "currency", "\(other.text)")
            #expect(same.status == 200 && same.json["currency"]?.string == "usd", "\(same.text)")
            let intent = try await api.retrieveIntent(id, expandCharge: true)
            #expect(intent["latest_charge"]?["amount_refunded"]?.int == 100)
        }
    }

    @Test("after a partial capture, only the captured amount can be refunded")
    func refundAfterPartialCapture() async throws {
        try await withWire { api in
            // Given 600 captured of an authorization of 1000
            let id = try #require(try await Self.authorized(api)["id"]?.string)
            try #require(
                try await api.post("/v1/payment_intents/\(id)/capture", [("amount_to_capture", "600")]).status == 200
            )

            // When 601 are refunded, then everything
            let tooMuch = try await Self.refund(api, id, [("amount", "601")])
            let all = try await Self.refund(api, id)

            // Then only the 600 received come back, and the charge counts them with the 400 released, as Stripe
            let charge = try await api.retrieveIntent(id, expandCharge: true)["latest_charge"]
            #expect(tooMuch.status == 400)
            #expect(tooMuch.error["code"]?.string == "amount_too_large")
            #expect(all.status == 200)
            #expect(all.json["amount"]?.int == 600)
            #expect(charge?["amount_captured"]?.int == 600)
            #expect(charge?["amount_refunded"]?.int == 1000)
            #expect(charge?["refunded"]?.bool == true)
        }
    }

    @Test("an uncaptured or declined intent cannot be refunded")
    func refundWithoutPayment() async throws {
        try await withWire { api in
            // Given an authorized but uncaptured intent, and a declined one
            let uncaptured = try #require(try await Self.authorized(api)["id"]?.string)
            let declined = try await api.payment([
                ("payment_method", "pm_card_chargeDeclinedInsufficientFunds"), ("confirm", "true"),
            ])
            try #require(declined.status == 402)
            let declinedID = try #require(declined.error["payment_intent"]?["id"]?.string)

            for id in [uncaptured, declinedID] {
                // When it is refunded
                let response = try await Self.refund(api, id)

                // Then it is refused
                #expect(response.status == 400)
                #expect(response.error["type"]?.string == "invalid_request_error")
            }

            // And the authorization is still there to capture
            #expect(try await api.retrieveIntent(uncaptured)["status"]?.string == "requires_capture")
            #expect(try await api.get("/v1/refunds").json.ids == [])
        }
    }

    @Test("a refund of an unknown payment intent is a 400 resource_missing on payment_intent")
    func refundUnknownIntent() async throws {
        try await withWire { api in
            // When an unknown intent is refunded
            let response = try await Self.refund(api, "pi_missing")

            // Then
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "resource_missing")
            #expect(response.error["param"]?.string == "payment_intent")
        }
    }

    @Test("a refund naming an intent and another payment's charge, or a missing one, is refused and refunds nothing")
    func refundIntentWithOtherCharge() async throws {
        try await withWire { api in
            // Given two paid intents
            let first = try await Self.paid(api, amount: 5000)
            let second = try await Self.paid(api, amount: 3000)
            let firstCharge = try #require(try await api.retrieveIntent(first)["latest_charge"]?.string)
            let secondCharge = try #require(try await api.retrieveIntent(second)["latest_charge"]?.string)

            // When a refund names the first intent and the second's charge
            let mismatched = try await Self.refund(api, first, [("charge", secondCharge), ("amount", "100")])
            // Then it is refused on charge
            #expect(mismatched.status == 400)
            #expect(mismatched.error["type"]?.string == "invalid_request_error")
            #expect(mismatched.error["param"]?.string == "charge")

            // When it names the first intent and a charge that does not exist
            let missing = try await Self.refund(api, first, [("charge", "ch_nope")])
            // Then that is a resource_missing on charge
            #expect(missing.status == 400)
            #expect(missing.error["code"]?.string == "resource_missing")
            #expect(missing.error["param"]?.string == "charge")

            // And nothing was refunded
            #expect(try await api.get("/v1/refunds").json.ids == [])

            // While the intent with its own charge is refunded as asked
            let matching = try await Self.refund(api, first, [("charge", firstCharge), ("amount", "100")])
            #expect(matching.status == 200)
            #expect(matching.json["charge"]?.string == firstCharge)
        }
    }

    @Test("a refund naming an intent and its own earlier declined charge is refused as that charge is, not as foreign")
    func refundIntentWithItsDeclinedCharge() async throws {
        try await withWire { api in
            // Given an intent declined once (card 9995), then paid with another card
            let created = try await api.payment()
            let intent = try #require(created.json["id"]?.string)
            let declinedCard = try await api.card("4000000000009995")
            let declined = try await api.post(
                "/v1/payment_intents/\(intent)/confirm",
                [("payment_method", declinedCard)]
            )
            try #require(declined.status == 402, "\(declined.text)")
            let failedCharge = try #require(declined.error["charge"]?.string, "\(declined.text)")
            let paid = try await api.post("/v1/payment_intents/\(intent)/confirm", [("payment_method", "pm_card_visa")])
            try #require(paid.json["status"]?.string == "succeeded", "\(paid.text)")

            // When a refund names the intent and its declined charge
            let refused = try await Self.refund(api, intent, [("charge", failedCharge)])

            // Then it is the declined charge's own refusal (nothing moved), not "does not belong" (a probe)
            #expect(refused.status == 400, "\(refused.text)")
            #expect(refused.error["code"]?.string == "charge_not_refundable", "\(refused.text)")
            #expect(refused.error["message"]?.string?.contains("card_declined") == true, "\(refused.text)")
            #expect(try await api.get("/v1/refunds").json.ids == [])
        }
    }

    @Test("a refund can be retrieved and its metadata updated")
    func retrieveAndUpdateRefund() async throws {
        try await withWire { api in
            // Given a refund with metadata
            let id = try await Self.paid(api)
            let created = try await Self.refund(api, id, [("metadata[ticket]", "T-1"), ("metadata[agent]", "bob")])
            try #require(created.status == 200)
            #expect(created.json["metadata"] == .object(["ticket": .string("T-1"), "agent": .string("bob")]))
            let refund = try #require(created.json["id"]?.string)

            // When it is retrieved
            let retrieved = try await api.get("/v1/refunds/\(refund)")

            // Then it is the same refund
            #expect(retrieved.status == 200)
            #expect(retrieved.json == created.json)

            // When its metadata is updated: one key removed, one added
            let updated = try await api.post(
                "/v1/refunds/\(refund)",
                [("metadata[agent]", ""), ("metadata[done]", "yes")]
            )

            // Then only the metadata changed
            #expect(updated.status == 200)
            #expect(updated.json["metadata"] == .object(["ticket": .string("T-1"), "done": .string("yes")]))
            #expect(updated.json["amount"]?.int == 1000)
            #expect(try await api.get("/v1/refunds/\(refund)").json == updated.json)

            // And anything but metadata is refused, as is an unknown refund
            let amount = try await api.post("/v1/refunds/\(refund)", [("amount", "5")])
            #expect(amount.status == 400)
            #expect(amount.error["code"]?.string == "parameter_unknown")
            let missing = try await api.get("/v1/refunds/re_missing")
            #expect(missing.status == 404)
            #expect(missing.error["code"]?.string == "resource_missing")
        }
    }

    @Test("refunds list by payment_intent and by charge, newest first, with has_more")
    func listRefunds() async throws {
        try await withWire { api in
            // Given three refunds of one intent and one of another
            let id = try await Self.paid(api)
            let chargeID = try #require(try await api.retrieveIntent(id)["latest_charge"]?.string)
            var refunds: [String] = []
            for _ in 0..<3 {
                let response = try await Self.refund(api, id, [("amount", "100")])
                refunds.append(try #require(response.json["id"]?.string))
            }
            let other = try await Self.paid(api)
            let otherRefund = try #require(try await Self.refund(api, other).json["id"]?.string)

            // When listed by intent
            let all = try await api.get("/v1/refunds", [("payment_intent", id)])
            let page1 = try await api.get("/v1/refunds", [("payment_intent", id), ("limit", "2")])
            let page2 = try await api.get(
                "/v1/refunds",
                [("payment_intent", id), ("limit", "2"), ("starting_after", refunds[1])]
            )
            let byCharge = try await api.get("/v1/refunds", [("charge", chargeID)])
            let everything = try await api.get("/v1/refunds")

            // Then newest first, paged, and only that intent's
            #expect(all.status == 200)
            #expect(all.json["object"]?.string == "list")
            #expect(all.json["url"]?.string == "/v1/refunds")
            #expect(all.json.ids == refunds.reversed())
            #expect(all.json["has_more"]?.bool == false)
            #expect(page1.json.ids == [refunds[2], refunds[1]])
            #expect(page1.json["has_more"]?.bool == true)
            #expect(page2.json.ids == [refunds[0]])
            #expect(page2.json["has_more"]?.bool == false)
            #expect(byCharge.json.ids == refunds.reversed())
            #expect(everything.json.ids == [otherRefund] + refunds.reversed())
        }
    }

    @Test("a refund of a 4000000000007726 payment starts pending, as that test card's refunds do")
    func pendingRefundCard() async throws {
        try await withWire { api in
            // Given a payment with the pending-refund test card
            let paid = try await api.payment([("payment_method", "pm_card_pendingRefund"), ("confirm", "true")])
            let id = try #require(paid.json["id"]?.string)
            try #require(paid.json["status"]?.string == "succeeded")

            // When it is refunded
            let response = try await Self.refund(api, id)

            // Then the refund is accepted but still pending (the sweeper's later pass settles it: RefundCardsTests)
            #expect(response.status == 200)
            #expect(response.json["status"]?.string == "pending")
        }
    }

    @Test("an authorization older than 7 days can no longer be captured")
    func captureAfterAuthorizationExpired() async throws {
        try await withWire { api in
            // Given an authorization 7 days old
            let id = try await Self.intent(api, in: .requiresCapture)
            api.environment.clock.advance(by: 7 * 24 * 3600)

            // When it is captured
            let response = try await api.post("/v1/payment_intents/\(id)/capture")

            // Then it is refused as expired, and nothing was captured
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "charge_expired_for_capture")
            let intent = try await api.retrieveIntent(id)
            let chargeID = try #require(intent["latest_charge"]?.string)
            #expect(try api.environment.network.capturedAmount(attemptID: chargeID) == 0)
            // and the hold is released, the intent canceled as the sweeper's pass would have done it
            #expect(intent["status"]?.string == "canceled")
            #expect(intent["cancellation_reason"]?.string == "automatic")
        }
    }

    @Test("a cancel of an authorization older than 7 days is refused on the intent the expiry left")
    func cancelAfterAuthorizationExpired() async throws {
        try await withWire { api in
            // Given an authorization 7 days old, before the sweeper's pass
            let id = try await Self.intent(api, in: .requiresCapture)
            api.environment.clock.advance(by: 7 * 24 * 3600)

            // When it is canceled
            let response = try await api.post(
                "/v1/payment_intents/\(id)/cancel",
                [("cancellation_reason", "requested_by_customer")]
            )

            // Then the answer is the one the sweeper's pass would have left: canceled automatic, this cancel refused
            #expect(response.status == 400)
            #expect(response.error["code"]?.string == "payment_intent_unexpected_state")
            let embedded = response.error["payment_intent"]
            #expect(embedded?["status"]?.string == "canceled")
            #expect(embedded?["cancellation_reason"]?.string == "automatic")
            let intent = try await api.retrieveIntent(id)
            #expect(intent["status"]?.string == "canceled")
            #expect(intent["cancellation_reason"]?.string == "automatic")
        }
    }

    @Test("a refund keeps the caller's reason", arguments: ["duplicate", "fraudulent", "requested_by_customer"])
    func refundReason(_ reason: String) async throws {
        try await withWire { api in
            // Given a paid intent
            let id = try await Self.paid(api)

            // When it is refunded with a reason
            let response = try await Self.refund(api, id, [("reason", reason)])

            // Then the refund carries it
            #expect(response.status == 200)
            #expect(response.json["reason"]?.string == reason)
        }
    }

    @Test("a refund reason outside Stripe's caller values is a 400", arguments: ["expired_uncaptured_charge", "bogus"])
    func refundInvalidReason(_ reason: String) async throws {
        try await withWire { api in
            // Given a paid intent
            let id = try await Self.paid(api)

            // When it is refunded with that reason
            let response = try await Self.refund(api, id, [("reason", reason)])

            // Then it is refused and nothing is refunded
            #expect(response.status == 400)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["param"]?.string == "reason")
            let charge = try await api.retrieveIntent(id, expandCharge: true)["latest_charge"]
            #expect(charge?["amount_refunded"]?.int == 0)
        }
    }
}
