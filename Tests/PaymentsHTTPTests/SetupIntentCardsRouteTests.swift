import Foundation
import TestSupport
import Testing

/// Stripe's test cards at setup, through the real router: 3-D Secure on the same challenge page as payments, the
/// issuer's verification, the card saved to the customer, and what the set-up card does off-session afterwards.
@Suite("SetupIntents with the test cards")
struct SetupIntentCardsRouteTests {
    // MARK: - Succeeding at once

    @Test("4242 is set up at once: attached to the customer, ready off-session, and charged off-session")
    func visaSucceedsAtOnce() async throws {
        try await withWire { api in
            // Given a customer and a card
            let customer = try await api.createCustomer()
            let card = try await api.card("4242424242424242")

            // When a setup intent is created and confirmed at once
            let setup = try await api.setup([("customer", customer), ("payment_method", card), ("confirm", "true")])

            // Then it succeeded, with an attempt, and nothing was charged
            #expect(setup["status"]?.string == "succeeded")
            #expect(setup["payment_method"]?.string == card)
            #expect(setup["latest_attempt"]?.string?.hasPrefix("setatt_") == true)
            #expect(setup["next_action"]?.isNull == true)
            #expect(try api.environment.network.approvedCount() == 0)
            #expect(try await api.listCount("/v1/payment_intents") == 0)

            // And the card is the customer's, set up for off-session use
            #expect(try await api.owner(of: card) == customer)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [card])
            let stored = try #require(try await api.storedPaymentMethod(card))
            #expect(stored.offSessionReady && stored.reusable)

            // And an off-session charge of it succeeds
            let charge = try await api.chargeOffSession(card, customer: customer)
            #expect(charge.status == 200)
            #expect(charge.json["status"]?.string == "succeeded")
        }
    }

    @Test("a setup intent created first and confirmed later, with the card given at confirm, succeeds")
    func confirmLater() async throws {
        try await withWire { api in
            // Given a setup intent for a customer, without a card
            let customer = try await api.createCustomer()
            let setup = try await api.setup([("customer", customer)])
            let id = try #require(setup["id"]?.string)
            let card = try await api.card("5555555555554444")

            // When it is confirmed with a card
            let confirmed = try await api.post("/v1/setup_intents/\(id)/confirm", [("payment_method", card)])

            // Then
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(confirmed.json["payment_method"]?.string == card)
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("without a customer the card is set up but attached to nobody; a magic test id works")
    func withoutCustomer() async throws {
        try await withWire { api in
            // When a magic test card is set up without a customer
            let setup = try await api.setup([("payment_method", "pm_card_visa"), ("confirm", "true")])

            // Then it succeeded with a new payment method that belongs to nobody yet
            #expect(setup["status"]?.string == "succeeded")
            let card = try #require(setup["payment_method"]?.string)
            #expect(card.hasPrefix("pm_") && card != "pm_card_visa")
            #expect(try await api.owner(of: card) == nil)

            // And it can be attached to a customer afterwards
            let customer = try await api.createCustomer()
            #expect(try await api.attach(card, to: customer).status == 200)
        }
    }

    @Test("usage=on_session saves the card, but 3155 then still needs authentication off-session")
    func onSessionUsage() async throws {
        try await withWire { api in
            // Given a 3155 card set up for on-session use only
            let customer = try await api.createCustomer()
            let card = try await api.setUpCard("4000002500003155", customer: customer, usage: "on_session")
            #expect(try await api.owner(of: card) == customer)
            #expect(try await api.storedPaymentMethod(card)?.offSessionReady == false)

            // When it is charged off-session
            let charge = try await api.chargeOffSession(card, customer: customer)

            // Then it declines as never set up for off-session use
            #expect(charge.status == 402)
            #expect(charge.error["code"]?.string == "authentication_required")
        }
    }

    // MARK: - 3-D Secure at setup

    @Test("3155 asks for 3-D Secure at setup; once completed, off-session charges go through without it")
    func authenticationRequiredOnSetup() async throws {
        try await withWire { api in
            // Given a customer and the card that authenticates on setup
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")

            // When the setup is confirmed
            let setup = try await api.setup([("customer", customer), ("payment_method", card), ("confirm", "true")])
            let id = try #require(setup["id"]?.string)

            // Then it waits for the customer on the challenge page, and the card is not saved yet
            #expect(setup["status"]?.string == "requires_action")
            #expect(setup["next_action"]?["type"]?.string == "redirect_to_url")
            #expect(try api.challengePath(of: setup).hasPrefix("/3ds/\(id)/"))
            #expect(try await api.owner(of: card) == nil)
            let page = try await api.get(try api.challengePath(of: setup), auth: nil)
            #expect(page.status == 200)
            #expect(page.text.contains("saved for later payments"))
            #expect(page.text.contains("setup_intent: \"\(id)\""))

            // When the customer completes the challenge
            let answer = try await api.answerChallenge(of: setup, outcome: "complete")

            // Then the setup succeeded and the card is saved, ready for off-session use
            #expect(answer.status == 200)
            #expect(answer.text.contains("data-outcome=\"complete\""))
            #expect(answer.text.contains("setup_intent: \"\(id)\""))
            let after = try await api.retrieveSetup(id)
            #expect(after["status"]?.string == "succeeded")
            #expect(after["next_action"]?.isNull == true)
            #expect(after["latest_attempt"] == setup["latest_attempt"])
            #expect(try await api.owner(of: card) == customer)
            #expect(try await api.storedPaymentMethod(card)?.offSessionReady == true)

            // And the challenge link is spent
            let reused = try await api.answerChallenge(of: setup, outcome: "complete")
            #expect(reused.status == 404)

            // And off-session charges succeed without 3-D Secure, created confirmed or confirmed later
            let charge = try await api.chargeOffSession(card, customer: customer)
            #expect(charge.status == 200)
            #expect(charge.json["status"]?.string == "succeeded")
            #expect(charge.json["next_action"]?.isNull == true)
            let created = try await api.payment([("customer", customer), ("payment_method", card)])
            let intent = try #require(created.json["id"]?.string)
            let confirmed = try await api.post("/v1/payment_intents/\(intent)/confirm", [("off_session", "true")])
            #expect(confirmed.status == 200)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(try api.environment.network.approvedCount() == 2)

            // But an on-session payment still challenges, as Stripe's 3155 does
            let onSession = try await api.payment([
                ("customer", customer), ("payment_method", card), ("confirm", "true"),
            ])
            #expect(onSession.json["status"]?.string == "requires_action")
        }
    }

    @Test("3184 asks for 3-D Secure at setup, and off-session charges still fail with authentication_required")
    func authenticationAlwaysRequired() async throws {
        try await withWire { api in
            // Given a 3184 card set up through the challenge
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002760003184")
            let setup = try await api.setup([("customer", customer), ("payment_method", card), ("confirm", "true")])
            #expect(setup["status"]?.string == "requires_action")
            #expect(try await api.answerChallenge(of: setup, outcome: "complete").status == 200)
            let id = try #require(setup["id"]?.string)
            #expect(try await api.retrieveSetup(id)["status"]?.string == "succeeded")
            #expect(try await api.owner(of: card) == customer)

            // When it is charged off-session
            let charge = try await api.chargeOffSession(card, customer: customer)

            // Then the issuer asks for authentication every time
            #expect(charge.status == 402)
            #expect(charge.error["code"]?.string == "authentication_required")
            #expect(charge.error["decline_code"]?.string == "authentication_required")
            #expect(charge.error["payment_intent"]?["status"]?.string == "requires_payment_method")
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("a failed challenge leaves the setup in requires_payment_method with setup_intent_authentication_failure")
    func challengeFailed() async throws {
        try await withWire { api in
            // Given a setup waiting for 3-D Secure
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")
            let setup = try await api.setup([("customer", customer), ("payment_method", card), ("confirm", "true")])
            let id = try #require(setup["id"]?.string)

            // When the customer fails the challenge
            let answer = try await api.answerChallenge(of: setup, outcome: "fail")

            // Then
            #expect(answer.status == 200)
            #expect(answer.text.contains("The card was not saved."))
            let after = try await api.retrieveSetup(id)
            #expect(after["status"]?.string == "requires_payment_method")
            #expect(after["payment_method"]?.isNull == true)
            let error = try #require(after["last_setup_error"])
            #expect(error["code"]?.string == "setup_intent_authentication_failure")
            #expect(error["type"]?.string == "invalid_request_error")
            #expect(error["payment_method"]?["id"]?.string == card)
            #expect(try await api.owner(of: card) == nil)

            // And another card can be tried on the same setup intent
            let retry = try await api.post("/v1/setup_intents/\(id)/confirm", [("payment_method", "pm_card_visa")])
            #expect(retry.status == 200)
            #expect(retry.json["status"]?.string == "succeeded")
            #expect(retry.json["last_setup_error"]?.isNull == true)
        }
    }

    @Test("a challenge completed after its customer was deleted says the card was not saved, in its title too")
    func completedForDeletedCustomer() async throws {
        try await withWire { api in
            // Given a setup waiting for 3-D Secure, whose customer is deleted meanwhile
            let customer = try await api.createCustomer()
            let card = try await api.card("4000002500003155")
            let setup = try await api.setup([("customer", customer), ("payment_method", card), ("confirm", "true")])
            #expect(try await api.send(.delete, "/v1/customers/\(customer)").status == 200)
            // When the customer completes the challenge
            let answer = try await api.answerChallenge(of: setup, outcome: "complete")
            // Then the page says the card was not saved, and its title says so (it read "Authentication complete")
            #expect(answer.status == 200)
            #expect(answer.text.contains("Authentication complete. The card was not saved."), "\(answer.text)")
            #expect(answer.text.contains("<h1>Card not saved</h1>"), "\(answer.text)")
            let id = try #require(setup["id"]?.string)
            #expect(try await api.retrieveSetup(id)["status"]?.string == "requires_payment_method")
        }
    }

    @Test("with a return_url the challenge answer redirects there with the setup intent's id and client secret")
    func returnURL() async throws {
        try await withWire { api in
            // Given a setup waiting for 3-D Secure with a return_url
            let setup = try await api.setup([
                ("payment_method", "pm_card_authenticationRequiredOnSetup"), ("confirm", "true"),
                ("return_url", "https://shop.example/saved?x=1"),
            ])
            let id = try #require(setup["id"]?.string)
            let secret = try #require(setup["client_secret"]?.string)
            #expect(setup["next_action"]?["redirect_to_url"]?["return_url"]?.string == "https://shop.example/saved?x=1")

            // When the challenge is completed
            let answer = try await api.answerChallenge(of: setup, outcome: "complete")

            // Then it is a 303 to the return_url
            #expect(answer.status == 303)
            let location = try #require(answer.header("Location"))
            let query = Set(URLComponents(string: location)?.queryItems ?? [])
            #expect(location.hasPrefix("https://shop.example/saved?"))
            #expect(query.contains(URLQueryItem(name: "x", value: "1")))
            #expect(query.contains(URLQueryItem(name: "setup_intent", value: id)))
            #expect(query.contains(URLQueryItem(name: "setup_intent_client_secret", value: secret)))
            #expect(query.contains(URLQueryItem(name: "redirect_status", value: "succeeded")))
        }
    }

    @Test("a challenge answered after the confirmation window fails the attempt as expired")
    func challengeTooLate() async throws {
        try await withWire { api in
            // Given a setup waiting for 3-D Secure, and the confirmation window gone by
            let setup = try await api.setup([
                ("payment_method", "pm_card_authenticationRequiredOnSetup"), ("confirm", "true"),
            ])
            let id = try #require(setup["id"]?.string)
            api.environment.clock.advance(by: 3_601)

            // When the customer opens and answers the challenge
            let page = try await api.get(try api.challengePath(of: setup), auth: nil)
            let answer = try await api.answerChallenge(of: setup, outcome: "complete")

            // Then the link no longer works, and the attempt failed as expired
            #expect(page.status == 404)
            #expect(answer.status == 404)
            let after = try await api.retrieveSetup(id)
            #expect(after["status"]?.string == "requires_payment_method")
            #expect(after["last_setup_error"]?["code"]?.string == "setup_intent_setup_attempt_expired")
        }
    }

    // MARK: - Declines

    /// A decline test card and the card error Stripe answers when it is set up.
    struct Decline: Sendable, CustomTestStringConvertible {
        let number: String
        let code: String
        let declineCode: String
        var testDescription: String { "\(number) → \(code)/\(declineCode)" }
    }

    @Test(
        "decline test cards fail setup with their codes in last_setup_error, as a 402 carrying the setup intent",
        arguments: [
            Decline(number: "4000000000009995", code: "card_declined", declineCode: "insufficient_funds"),
            Decline(number: "4000000000000002", code: "card_declined", declineCode: "generic_decline"),
            Decline(number: "4000000000009987", code: "card_declined", declineCode: "lost_card"),
            Decline(number: "4000000000000069", code: "expired_card", declineCode: "expired_card"),
            Decline(number: "4000000000000127", code: "incorrect_cvc", declineCode: "incorrect_cvc"),
        ]
    )
    func declines(_ row: Decline) async throws {
        try await withWire { api in
            // Given a customer and a decline test card
            let customer = try await api.createCustomer()
            let card = try await api.card(row.number)

            // When it is set up
            let response = try await api.createSetup([
                ("customer", customer), ("payment_method", card), ("confirm", "true"),
            ])

            // Then it is a 402 card error carrying the setup intent, back in requires_payment_method
            #expect(response.status == 402)
            #expect(response.error["type"]?.string == "card_error")
            #expect(response.error["code"]?.string == row.code)
            #expect(response.error["decline_code"]?.string == row.declineCode)
            #expect(response.error["payment_method"]?["id"]?.string == card)
            let embedded = try #require(response.error["setup_intent"])
            #expect(embedded["object"]?.string == "setup_intent")
            #expect(embedded["status"]?.string == "requires_payment_method")
            let id = try #require(embedded["id"]?.string)

            // And the setup intent keeps the error, and the card was not saved
            let stored = try await api.retrieveSetup(id)
            #expect(stored["status"]?.string == "requires_payment_method")
            #expect(stored["payment_method"]?.isNull == true)
            #expect(stored["last_setup_error"]?["code"]?.string == row.code)
            #expect(stored["last_setup_error"]?["decline_code"]?.string == row.declineCode)
            #expect(stored["last_setup_error"]?["type"]?.string == "card_error")
            #expect(try await api.owner(of: card) == nil)
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [])
        }
    }

    @Test("a decline card's setup can be retried with a good card; an update clears last_setup_error")
    func retryAfterDecline() async throws {
        try await withWire { api in
            // Given a setup intent declined with insufficient funds
            let customer = try await api.createCustomer()
            let declined = try await api.createSetup([
                ("customer", customer), ("payment_method", "pm_card_chargeDeclinedInsufficientFunds"),
                ("confirm", "true"),
            ])
            let id = try #require(declined.error["setup_intent"]?["id"]?.string)

            // When it is updated with a good card, then confirmed
            let card = try await api.card("4242424242424242")
            let updated = try await api.post("/v1/setup_intents/\(id)", [("payment_method", card)])
            let confirmed = try await api.post("/v1/setup_intents/\(id)/confirm")

            // Then
            #expect(updated.json["status"]?.string == "requires_confirmation")
            #expect(updated.json["last_setup_error"]?.isNull == true)
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(try await api.owner(of: card) == customer)
        }
    }

    // MARK: - Recharging the saved card

    @Test("a card saved by a SetupIntent is the customer's only card, so an off-session charge without a card works")
    func savedCardIsListed() async throws {
        try await withWire { api in
            // Given a customer who set up 3155 and whose declined card was never saved
            let customer = try await api.createCustomer()
            _ = try await api.createSetup([
                ("customer", customer), ("payment_method", "pm_card_visa_chargeDeclined"), ("confirm", "true"),
            ])
            let card = try await api.setUpCard("4000002500003155", customer: customer)

            // Then the customer's saved cards are exactly that one
            #expect(try await api.get("/v1/customers/\(customer)/payment_methods").json.ids == [card])
            let setups = try await api.get("/v1/setup_intents", [("customer", customer)])
            #expect(
                setups.json["data"]?.array?.map { $0["status"]?.string } == ["succeeded", "requires_payment_method"]
            )
        }
    }
}
