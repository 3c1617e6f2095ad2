import Foundation
import HTTPTypes
import TestSupport
import Testing

/// A card number sent anywhere but `card[number]` (a description, metadata, a query, a JSON body, the
/// `Idempotency-Key`) is refused with a 400 that names the parameter, never repeats the number, and changes nothing.
@Suite("Card numbers outside card[number]")
struct CardNumberParameterRouteTests {
    /// Checks Stripe's error shape for a refused card number, and that the body does not repeat it.
    static func expectRefused(
        _ response: WireResponse,
        param: String?,
        number: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == 400, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.error["type"]?.string == "invalid_request_error", sourceLocation: sourceLocation)
        #expect(response.error["code"]?.string == "card_number_not_allowed", sourceLocation: sourceLocation)
        #expect(response.error["param"]?.string == param, sourceLocation: sourceLocation)
        #expect(response.error["message"]?.string?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(!response.text.contains(number), sourceLocation: sourceLocation)
    }

    @Test("A description or metadata value holding a card number is refused, and no intent is made")
    func descriptionAndMetadata() async throws {
        try await withWire { api in
            // When a merchant's server puts a card number in a description, grouped as printed on the card
            let described = try await api.createIntent([("description", "Paid with 4242 4242 4242 4242")])
            // Or in a metadata value, with dashes
            let tagged = try await api.createIntent([("metadata[card]", "4000-0025-0000-3155")])
            // Then both are refused, naming the parameter
            Self.expectRefused(described, param: "description", number: "4242 4242 4242 4242")
            Self.expectRefused(tagged, param: "metadata[card]", number: "4000-0025-0000-3155")
            // And nothing was stored
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("A metadata key holding a card number is refused by its parent, without repeating the number")
    func metadataKey() async throws {
        try await withWire { api in
            let response = try await api.post("/v1/customers", [("metadata[4000000000009995]", "x")])
            Self.expectRefused(response, param: "metadata", number: "4000000000009995")
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("Query parameters, JSON bodies and the Idempotency-Key are checked too")
    func queryJSONAndIdempotencyKey() async throws {
        try await withWire { api in
            // A list filter
            let listed = try await api.get("/v1/payment_intents", [("customer", "4242424242424242")])
            Self.expectRefused(listed, param: "customer", number: "4242424242424242")
            // A JSON body, nested
            let json = try await api.postJSON(
                "/v1/customers",
                #"{"name": "Jenny", "metadata": {"note": "5555 5555 5555 4444"}}"#
            )
            Self.expectRefused(json, param: "metadata[note]", number: "5555 5555 5555 4444")
            // The idempotency key, stored as sent
            let keyed = try await api.post(
                "/v1/customers",
                [("name", "Jenny")],
                headers: [HTTPField.Name("Idempotency-Key")!: "4242424242424242"]
            )
            Self.expectRefused(keyed, param: nil, number: "4242424242424242")
            // /pay's JSON body
            let pay = try await api.postJSON("/pay", #"{"payment_method_id": "4242424242424242"}"#, auth: nil)
            #expect(pay.status == 400)
            #expect(!pay.text.contains("4242424242424242"))
            #expect(try await api.listCount("/v1/customers") == 0)
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("card[number] still takes the card, and an ordinary number elsewhere is fine")
    func cardNumberStillAccepted() async throws {
        try await withWire { api in
            // Given a card made the usual way
            let card = try await api.card("4242 4242 4242 4242")
            // When an intent carries an order number of 16 digits that fails the Luhn check, and a timestamp
            let intent = try await api.intent([
                ("payment_method", card), ("metadata[order]", "4242424242424241"),
                ("metadata[at_ms]", "1767225600009"),
            ])
            // Then it is stored as sent
            #expect(intent["metadata"]?["order"]?.string == "4242424242424241")
            #expect(intent["metadata"]?["at_ms"]?.string == "1767225600009")
        }
    }

    @Test("An Idempotency-Key of short numbers joined by dashes is a key, even when its digits pass the Luhn check")
    func keyOfShortNumbers() async throws {
        try await withWire { api in
            // 13 digits in all that start like a Visa and pass the Luhn check, in groups no card is printed in
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "payout-4111-11-12-10218"]
            let first = try await api.post("/v1/customers", [("name", "Jenny")], headers: key)
            let again = try await api.post("/v1/customers", [("name", "Jenny")], headers: key)
            // Then the first request runs and the second replays it
            #expect(first.status == 200, "\(first.text)")
            #expect(again.status == 200, "\(again.text)")
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(try await api.listCount("/v1/customers") == 1)
        }
    }

    @Test(
        "A card number in a URL path is not repeated in the 404",
        arguments: [
            "/v1/payment_intents/4532015112830366", "/v1/customers/4532015112830366",
            "/v1/refunds/4532-0151-1283-0366", "/checkout/4532015112830366", "/v1/4532015112830366/x",
            "/v1/customers/4532+0151+1283+0366", "/v1/x/4532+0151+1283+0366/739",
            "/v1/payment_intents/4532%200151%201283%200366", "/v1/charges/4532%2B0151%2B1283%2B0366",
            "/v1/customers/%34532015112830366",
        ]
    )
    func cardNumberInPath(_ path: String) async throws {
        try await withWire { api in
            let response = try await api.get(path)
            #expect(response.status == 404, "\(response.text)")
            #expect(response.error["type"]?.string == "invalid_request_error")
            for number in [
                "4532015112830366", "4532-0151-1283-0366", "4532+0151+1283+0366", "739", "4532%200151",
                "4532%2B0151", "%34532015112830366", "532015112830366",
            ] {
                #expect(!response.text.contains(number), "\(response.text)")
            }
        }
    }
}
