import Foundation
import HTTPTypes
import TestSupport
import Testing

/// `POST /save-card`: the checkout's "save this card for later", a customer and a SetupIntent made by the merchant's
/// endpoint, with no API key and nothing charged.
@Suite("Save-card endpoint")
struct SaveCardRouteTests {
    @Test("A card that needs nothing is saved at once for a new customer: {success, setup_intent, customer}")
    func savedAtOnce() async throws {
        try await withWire { api in
            // Given a card created with the publishable key, as the browser does
            let card = try await api.card("4242424242424242")

            // When the checkout posts it, with no API key
            let response = try await api.postJSON("/save-card", #"{"payment_method_id": "\#(card)"}"#, auth: nil)

            // Then the card is saved to a new customer, ready for off-session charges, and nothing was charged
            #expect(response.status == 200)
            #expect(response.json["success"]?.bool == true)
            let setupID = try #require(response.json["setup_intent"]?.string)
            let customer = try #require(response.json["customer"]?.string)
            let setup = try await api.retrieveSetup(setupID)
            #expect(setup["status"]?.string == "succeeded")
            #expect(setup["customer"]?.string == customer)
            #expect(setup["usage"]?.string == "off_session")
            #expect(try await api.owner(of: card) == customer)
            #expect(try await api.storedPaymentMethod(card)?.offSessionReady == true)
            #expect(try await api.listCount("/v1/payment_intents") == 0)
            #expect(try api.environment.network.approvedCount() == 0)
        }
    }

    @Test("A 3155 card answers requires_action; the challenge completed, the card is saved with no second call")
    func savedAfterChallenge() async throws {
        try await withWire { api in
            // Given a card that asks for 3-D Secure
            let card = try await api.card("4000002500003155")

            // When the checkout posts it
            let response = try await api.postJSON("/save-card", #"{"payment_method_id": "\#(card)"}"#, auth: nil)

            // Then the browser is told to handle the card's action for the setup intent
            #expect(response.status == 200)
            #expect(response.json["requires_action"]?.bool == true)
            let secret = try #require(response.json["setup_intent_client_secret"]?.string)
            let customer = try #require(response.json["customer"]?.string)
            let id = try PayAndChallengeRouteTests.intentID(fromClientSecret: secret)
            #expect(id.hasPrefix("seti_"))
            #expect(try await api.owner(of: card) == nil)

            // When the browser reads it with the publishable key and its client secret, and the customer completes
            // the challenge
            let seen = try await api.get(
                "/v1/setup_intents/\(id)",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            #expect(seen.json["status"]?.string == "requires_action")
            let answer = try await api.answerChallenge(of: seen.json, outcome: "complete")

            // Then the card is saved to the customer
            #expect(answer.status == 200)
            #expect(try await api.retrieveSetup(id)["status"]?.string == "succeeded")
            #expect(try await api.owner(of: card) == customer)
        }
    }

    @Test("A declined card answers 402 in /pay's error shape, naming the setup intent, and is not saved")
    func declined() async throws {
        try await withWire { api in
            // Given a card with insufficient funds
            let card = try await api.card("4000000000009995")

            // When the checkout posts it
            let response = try await api.postJSON("/save-card", #"{"payment_method_id": "\#(card)"}"#, auth: nil)

            // Then
            #expect(response.status == 402)
            #expect(response.error["code"]?.string == "card_declined")
            #expect(response.error["decline_code"]?.string == "insufficient_funds")
            #expect(response.error["message"]?.string == "Your card has insufficient funds.")
            let id = try #require(response.error["setup_intent"]?.string)
            let setup = try await api.retrieveSetup(id)
            #expect(setup["status"]?.string == "requires_payment_method")
            #expect(try await api.owner(of: card) == nil)
            // and no customer is kept without a card to keep
            #expect(setup["customer"]?.isNull == true)
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("Declined tries make no customer, however many; a card that asks for 3-D Secure makes its customer at once")
    func declinedTriesMakeNoCustomers() async throws {
        try await withWire { api in
            // Given cards declined by their own answer and by the issuer's check, each tried twice without a key
            for number in ["4000000000009995", "4000000000000002", "4000000000000127", "4000000000000069"] {
                let card = try await api.card(number)
                for _ in 0..<2 {
                    let response = try await api.postJSON(
                        "/save-card",
                        #"{"payment_method_id": "\#(card)"}"#,
                        auth: nil
                    )
                    #expect(response.status == 402, "\(number): \(response.text)")
                }
            }
            // Then each try is a failed setup intent, and no customer was made
            #expect(try await api.listCount("/v1/setup_intents") == 8)
            #expect(try await api.listCount("/v1/customers") == 0)
            let events = try await api.get("/v1/events", [("type", "customer.created")])
            #expect(events.json.ids.isEmpty)
            // When a card that asks for 3-D Secure is posted, its customer exists while the customer authenticates
            let threeDS = try await api.card("4000002500003155")
            let pending = try await api.postJSON("/save-card", #"{"payment_method_id": "\#(threeDS)"}"#, auth: nil)
            #expect(pending.json["requires_action"] == .bool(true), "\(pending.text)")
            #expect(pending.json["customer"]?.string?.hasPrefix("cus_") == true)
            #expect(try await api.listCount("/v1/customers") == 1)
        }
    }

    @Test("Bad requests are 400s in /pay's error shape that create nothing")
    func badRequests() async throws {
        try await withWire { api in
            let card = try await api.card("4242424242424242")
            let missing = try await api.postJSON("/save-card", "{}", auth: nil)
            let unknown = try await api.postJSON(
                "/save-card",
                #"{"payment_method_id": "\#(card)", "customer": "cus_x"}"#,
                auth: nil
            )
            let noSuchCard = try await api.postJSON("/save-card", #"{"payment_method_id": "pm_nope"}"#, auth: nil)
            for response in [missing, unknown, noSuchCard] {
                #expect(response.status == 400)
                #expect(response.error["message"]?.string?.isEmpty == false)
            }
            #expect(missing.error["code"]?.string == "parameter_missing")
            #expect(unknown.error["code"]?.string == "parameter_unknown")
            #expect(noSuchCard.error["code"]?.string == "resource_missing")
            #expect(try await api.listCount("/v1/setup_intents") == 0)
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("Another customer's saved card is refused without naming that customer, to a caller without a key")
    func anotherCustomersCard() async throws {
        try await withWire { api in
            // Given a card saved for a customer
            let owner = try await api.createCustomer()
            let card = try await api.savedCard("4242424242424242", customer: owner)
            // When someone posts its id to /save-card and to /pay
            let saved = try await api.postJSON("/save-card", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            let paid = try await api.postJSON("/pay", #"{"payment_method_id": "\#(card)"}"#, auth: nil)
            // Then both are refused, and neither names the owner
            for response in [saved, paid] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "payment_method_customer_mismatch")
                #expect(!response.text.contains(owner), "\(response.text)")
                // and says what the shopper can do, not to send a `customer` these endpoints refuse
                #expect(
                    response.error["message"]?.string
                        == "This card is saved for a customer, so the checkout cannot use it: enter the card's details "
                        + "again."
                )
            }
        }
    }

    @Test("The same Idempotency-Key replays a saved card and a decline, making one setup intent each")
    func idempotent() async throws {
        try await withWire { api in
            for (number, status) in [("4242424242424242", 200), ("4000000000000002", 402)] {
                // Given a card and a key
                let card = try await api.card(number)
                let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "save-\(card)"]
                let body = #"{"payment_method_id": "\#(card)"}"#

                // When the checkout sends the same request twice
                let first = try await api.send(
                    .post,
                    "/save-card",
                    body: body,
                    contentType: "application/json",
                    auth: nil,
                    headers: key
                )
                let again = try await api.send(
                    .post,
                    "/save-card",
                    body: body,
                    contentType: "application/json",
                    auth: nil,
                    headers: key
                )

                // Then the second is the first's answer, replayed
                #expect(first.status == status)
                #expect(again.status == status)
                #expect(again.text == first.text)
                #expect(again.header("Idempotent-Replayed") == "true")
            }
            // one customer, the saved card's: the declined card keeps none
            #expect(try await api.listCount("/v1/customers") == 1)
            #expect(try await api.listCount("/v1/setup_intents") == 2)
        }
    }
}
