import Foundation
import TestSupport
import Testing

/// `shipping` on PaymentIntents (create, update, confirm) and the charges they make, and `address` and `shipping` on
/// customers, through the real router: Stripe's hashes in, Stripe's objects out, bad hashes refused with nothing
/// changed.
@Suite("Shipping and addresses")
struct ShippingRouteTests {
    /// A PaymentIntent's shipping with every field but `address[line2]` and `address[state]`.
    static let shippingForm: [(String, String)] = [
        ("shipping[name]", "Jenny Rosen"), ("shipping[phone]", "+15555550100"), ("shipping[carrier]", "UPS"),
        ("shipping[tracking_number]", "1Z999"), ("shipping[address][line1]", "510 Townsend St"),
        ("shipping[address][city]", "San Francisco"), ("shipping[address][postal_code]", "94103"),
        ("shipping[address][country]", "US"),
    ]

    /// What ``shippingForm`` renders as: every field present, the ones not sent null.
    static let shippingObject: WireJSON = .object([
        "address": .object([
            "city": .string("San Francisco"), "country": .string("US"), "line1": .string("510 Townsend St"),
            "line2": .null, "postal_code": .string("94103"), "state": .null,
        ]),
        "carrier": .string("UPS"),
        "name": .string("Jenny Rosen"),
        "phone": .string("+15555550100"),
        "tracking_number": .string("1Z999"),
    ])

    // MARK: - PaymentIntents

    @Test("create takes shipping and renders Stripe's object; retrieve and list show it; without it, null")
    func intentCreate() async throws {
        try await withWire { api in
            // When an intent is created with shipping, and one without
            let intent = try await api.intent(Self.shippingForm)
            let plain = try await api.intent()

            // Then the first shows the shipping in Stripe's shape, on create, retrieve and list; the other null
            #expect(intent["shipping"] == Self.shippingObject, "\(intent)")
            let id = try #require(intent["id"]?.string)
            #expect(try await api.get("/v1/payment_intents/\(id)").json["shipping"] == Self.shippingObject)
            let listed = try await api.get("/v1/payment_intents").json["data"]?.array ?? []
            #expect(listed.first { $0["id"]?.string == id }?["shipping"] == Self.shippingObject)
            #expect(plain["shipping"]?.isNull == true)
        }
    }

    @Test("a JSON body's nested shipping object is taken as the form's brackets are")
    func intentCreateJSON() async throws {
        try await withWire { api in
            let response = try await api.postJSON(
                "/v1/payment_intents",
                #"""
                {"amount": 2000, "currency": "usd", "shipping": {"name": "Jenny Rosen", "phone": "+15555550100",
                 "carrier": "UPS", "tracking_number": "1Z999", "address": {"line1": "510 Townsend St",
                 "line2": null, "city": "San Francisco", "postal_code": "94103", "country": "US"}}}
                """#
            )
            #expect(response.status == 200, "\(response.text)")
            #expect(response.json["shipping"] == Self.shippingObject)
        }
    }

    @Test("update replaces the shipping whole, `shipping=` unsets it, and other fields stay")
    func intentUpdateAndUnset() async throws {
        try await withWire { api in
            // Given an intent with shipping and a description
            let intent = try await api.intent(Self.shippingForm + [("description", "order 42")])
            let id = try #require(intent["id"]?.string)

            // When the shipping is updated with another one (only its name, address line and tracking number)
            let updated = try await api.post(
                "/v1/payment_intents/\(id)",
                [
                    ("shipping[name]", "Ada"), ("shipping[address][line1]", "1 Main St"),
                    ("shipping[tracking_number]", "TRACK-2"),
                ]
            )

            // Then it replaced the old one whole (no phone, carrier or city left from it)
            #expect(updated.status == 200, "\(updated.text)")
            let shipping = updated.json["shipping"]
            #expect(shipping?["name"]?.string == "Ada")
            #expect(shipping?["tracking_number"]?.string == "TRACK-2")
            #expect(shipping?["address"]?["line1"]?.string == "1 Main St")
            #expect(shipping?["address"]?["city"]?.isNull == true)
            #expect(shipping?["phone"]?.isNull == true && shipping?["carrier"]?.isNull == true)
            #expect(try await api.get("/v1/payment_intents/\(id)").json == updated.json)

            // When it is unset with `shipping=`
            let unset = try await api.post("/v1/payment_intents/\(id)", [("shipping", "")])

            // Then it is null, and the description is as it was
            #expect(unset.status == 200, "\(unset.text)")
            #expect(unset.json["shipping"]?.isNull == true)
            #expect(unset.json["description"]?.string == "order 42")
        }
    }

    @Test("a succeeded intent's shipping can still be updated (a tracking number comes after the payment)")
    func updateAfterSuccess() async throws {
        try await withWire { api in
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            #expect(paid.json["status"]?.string == "succeeded", "\(paid.text)")
            let id = try #require(paid.json["id"]?.string)
            let updated = try await api.post("/v1/payment_intents/\(id)", Self.shippingForm)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json["shipping"] == Self.shippingObject)
        }
    }

    @Test("confirm takes shipping; the charge copies the intent's, in its charge.succeeded event too")
    func confirmAndChargeCopy() async throws {
        try await withWire { api in
            // Given an intent without shipping
            let intent = try await api.intent([("payment_method", "pm_card_visa")])
            let id = try #require(intent["id"]?.string)

            // When it is confirmed with shipping
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm", Self.shippingForm)

            // Then the intent and its charge hold it, and so does the charge.succeeded event's charge
            #expect(confirmed.status == 200, "\(confirmed.text)")
            #expect(confirmed.json["status"]?.string == "succeeded")
            #expect(confirmed.json["shipping"] == Self.shippingObject)
            let chargeID = try #require(confirmed.json["latest_charge"]?.string)
            let charge = try await api.get("/v1/charges/\(chargeID)")
            #expect(charge.json["shipping"] == Self.shippingObject, "\(charge.text)")
            let events = try await api.get("/v1/events", [("type", "charge.succeeded")]).json
            let event = try #require(events["data"]?.array?.first { $0["data"]?["object"]?["id"]?.string == chargeID })
            #expect(event["data"]?["object"]?["shipping"] == Self.shippingObject)

            // And a later change of the intent's shipping leaves the charge's copy as it was at the attempt
            _ = try await api.post("/v1/payment_intents/\(id)", [("shipping", "")])
            #expect(try await api.get("/v1/charges/\(chargeID)").json["shipping"] == Self.shippingObject)
        }
    }

    @Test("an intent created with shipping and confirmed at once: its charge copies it; one without: null")
    func createConfirmedChargeCopy() async throws {
        try await withWire { api in
            let paid = try await api.payment(
                [("payment_method", "pm_card_visa"), ("confirm", "true")] + Self.shippingForm
            )
            let plain = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let charge = try await api.get("/v1/charges/\(try #require(paid.json["latest_charge"]?.string))")
            let other = try await api.get("/v1/charges/\(try #require(plain.json["latest_charge"]?.string))")
            #expect(charge.json["shipping"] == Self.shippingObject, "\(charge.text)")
            #expect(other.json["shipping"]?.isNull == true)
        }
    }

    @Test("a publishable key with the client secret reads the intent's shipping (and no metadata)")
    func publishableRead() async throws {
        try await withWire { api in
            let intent = try await api.intent(Self.shippingForm + [("metadata[order]", "42")])
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            let read = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret)],
                auth: WireClient.publishable
            )
            #expect(read.status == 200, "\(read.text)")
            #expect(read.json["shipping"] == Self.shippingObject)
            #expect(read.json.has("metadata") == false)
        }
    }

    /// One bad shipping hash and the error it must get.
    struct BadShipping: Sendable, CustomTestStringConvertible {
        var form: [(String, String)]
        var code: String
        var param: String

        var testDescription: String { "\(param): \(code)" }
    }

    static let badShippings: [BadShipping] = [
        BadShipping(
            form: [("shipping[address][line1]", "1 Main St")],
            code: "parameter_missing",
            param: "shipping[name]"
        ),
        BadShipping(form: [("shipping[name]", "Jenny")], code: "parameter_missing", param: "shipping[address]"),
        BadShipping(
            form: [("shipping[name]", "Jenny"), ("shipping[address][city]", "Paris")],
            code: "parameter_missing",
            param: "shipping[address][line1]"
        ),
        BadShipping(
            form: [("shipping[name]", "Jenny"), ("shipping[address][line1]", "1 Main St"), ("shipping[email]", "x")],
            code: "parameter_unknown",
            param: "shipping[email]"
        ),
        BadShipping(
            form: [
                ("shipping[name]", "Jenny"), ("shipping[address][line1]", "1 Main St"), ("shipping[address][zip]", "1"),
            ],
            code: "parameter_unknown",
            param: "shipping[address][zip]"
        ),
        BadShipping(
            form: [
                ("shipping[name]", "Jenny"), ("shipping[address][line1]", "1"), ("shipping[address][country]", "USA"),
            ],
            code: "parameter_invalid_string_too_long",
            param: "shipping[address][country]"
        ),
        BadShipping(
            form: [("shipping[name]", String(repeating: "n", count: 5001)), ("shipping[address][line1]", "1")],
            code: "parameter_invalid_string_too_long",
            param: "shipping[name]"
        ),
        BadShipping(
            form: [("shipping[name][first]", "Jenny")],
            code: "parameter_invalid_string",
            param: "shipping[name]"
        ),
    ]

    @Test(
        "a bad shipping hash is a 400 naming the parameter, on create, update and confirm; nothing changes",
        arguments: badShippings
    )
    func badShipping(_ bad: BadShipping) async throws {
        try await withWire { api in
            // Given an intent with a card and no shipping
            let intent = try await api.intent([("payment_method", "pm_card_visa")])
            let id = try #require(intent["id"]?.string)

            // When an intent is created, this one updated and confirmed, each with the bad hash
            let created = try await api.createIntent(bad.form)
            let updated = try await api.post("/v1/payment_intents/\(id)", bad.form)
            let confirmed = try await api.post("/v1/payment_intents/\(id)/confirm", bad.form)

            // Then each is refused with Stripe's error naming it
            for response in [created, updated, confirmed] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["type"]?.string == "invalid_request_error")
                #expect(response.error["code"]?.string == bad.code, "\(response.text)")
                #expect(response.error["param"]?.string == bad.param, "\(response.text)")
            }
            // And no intent was made, and this one is as it was (not confirmed, no shipping)
            #expect(try await api.get("/v1/payment_intents").json.ids == [id])
            #expect(try await api.get("/v1/payment_intents/\(id)").json == intent)
        }
    }

    @Test("a charge's shipping is its own copy: updating it leaves the intent's, and the intent's leaves it")
    func chargeUpdateKeepsIntentShipping() async throws {
        try await withWire { api in
            // Given a payment whose intent has shipping, copied onto its charge
            let paid = try await api.payment(
                [("payment_method", "pm_card_visa"), ("confirm", "true")] + Self.shippingForm
            )
            let (intentID, chargeID) = (
                try #require(paid.json["id"]?.string), try #require(paid.json["latest_charge"]?.string)
            )

            // When the charge's shipping is replaced (it was refused as an unknown parameter)
            let response = try await api.post(
                "/v1/charges/\(chargeID)",
                [("shipping[name]", "Ada"), ("shipping[address][line1]", "1 Main St")]
            )

            // Then the charge has the new one and the intent still the old one
            #expect(response.status == 200, "\(response.text)")
            #expect(response.json["shipping"]?["name"]?.string == "Ada")
            #expect(response.json["shipping"]?["phone"]?.isNull == true)
            #expect(try await api.get("/v1/payment_intents/\(intentID)").json["shipping"] == Self.shippingObject)

            // And unsetting the intent's leaves the charge's
            #expect(try await api.post("/v1/payment_intents/\(intentID)", [("shipping", "")]).status == 200)
            #expect(try await api.get("/v1/charges/\(chargeID)").json["shipping"] == response.json["shipping"])
        }
    }

    // MARK: - Customers

    /// A customer's address and shipping, as sent.
    static let customerForm: [(String, String)] = [
        ("address[line1]", "1 rue de Rivoli"), ("address[city]", "Paris"), ("address[postal_code]", "75001"),
        ("address[country]", "FR"), ("shipping[name]", "Ada Lovelace"), ("shipping[phone]", "+33 1 00 00 00 00"),
        ("shipping[address][line1]", "2 quai Branly"), ("shipping[address][line2]", "Bât. B"),
        ("shipping[address][city]", "Paris"),
    ]

    @Test("a customer's address and shipping: created, rendered in Stripe's shapes, retrieved alike")
    func customerCreate() async throws {
        try await withWire { api in
            // When a customer is created with an address and shipping, and one without
            let created = try await api.post("/v1/customers", Self.customerForm)
            let plain = try await api.post("/v1/customers", [("email", "x@example.com")])

            // Then the first shows them (a customer's shipping has no carrier or tracking number to set: null); the other null
            #expect(created.status == 200, "\(created.text)")
            #expect(
                created.json["address"]
                    == .object([
                        "city": .string("Paris"), "country": .string("FR"), "line1": .string("1 rue de Rivoli"),
                        "line2": .null, "postal_code": .string("75001"), "state": .null,
                    ])
            )
            #expect(
                created.json["shipping"]
                    == .object([
                        "address": .object([
                            "city": .string("Paris"), "country": .null, "line1": .string("2 quai Branly"),
                            "line2": .string("Bât. B"), "postal_code": .null, "state": .null,
                        ]),
                        "carrier": .null, "name": .string("Ada Lovelace"),
                        "phone": .string("+33 1 00 00 00 00"), "tracking_number": .null,
                    ])
            )
            let id = try #require(created.json["id"]?.string)
            #expect(try await api.get("/v1/customers/\(id)").json == created.json)
            #expect(plain.json["address"]?.isNull == true && plain.json["shipping"]?.isNull == true)
        }
    }

    @Test("a customer's address and shipping updated, then unset; customer.updated says what they were")
    func customerUpdateAndUnset() async throws {
        try await withWire { api in
            // Given a customer with an address and shipping
            let id = try await api.createCustomer(Self.customerForm)
            let before = try await api.get("/v1/customers/\(id)").json

            // When its address is replaced by one in another city
            let moved = try await api.post(
                "/v1/customers/\(id)",
                [("address[line1]", "10 Downing St"), ("address[city]", "London"), ("address[country]", "GB")]
            )

            // Then the address is the new one whole, the shipping as it was
            #expect(moved.status == 200, "\(moved.text)")
            #expect(moved.json["address"]?["city"]?.string == "London")
            #expect(moved.json["address"]?["postal_code"]?.isNull == true)
            #expect(moved.json["shipping"] == before["shipping"])
            // And its customer.updated event names the address's earlier values, and nothing of the shipping
            let first = try #require(try await api.get("/v1/events", [("type", "customer.updated")]).json["data"]?[0])
            let previous = first["data"]?["previous_attributes"]
            #expect(previous?["address"]?["city"]?.string == "Paris", "\(first)")
            #expect(previous?["address"]?["postal_code"]?.string == "75001")
            #expect(previous?["address"]?["country"]?.string == "FR")
            #expect(previous?.has("shipping") == false)

            // When both are unset
            let unset = try await api.post("/v1/customers/\(id)", [("address", ""), ("shipping", "")])

            // Then both are null, and the event shows them whole as they were
            #expect(unset.status == 200, "\(unset.text)")
            #expect(unset.json["address"]?.isNull == true && unset.json["shipping"]?.isNull == true)
            let second = try #require(try await api.get("/v1/events", [("type", "customer.updated")]).json["data"]?[0])
            #expect(second["data"]?["previous_attributes"]?["address"] == moved.json["address"], "\(second)")
            #expect(second["data"]?["previous_attributes"]?["shipping"] == before["shipping"])
        }
    }

    @Test(
        "a customer's bad address or shipping is a 400 naming the parameter; nothing changes",
        arguments: [
            ([("shipping[address][line1]", "1 Main St")], "parameter_missing", "shipping[name]"),
            ([("shipping[name]", "Ada")], "parameter_missing", "shipping[address]"),
            (
                [("shipping[name]", "Ada"), ("shipping[address][city]", "Paris"), ("shipping[carrier]", "UPS")],
                "parameter_unknown", "shipping[carrier]"
            ),
            ([("address[city]", "Paris"), ("address[street]", "x")], "parameter_unknown", "address[street]"),
            ([("address[country]", "France")], "parameter_invalid_string_too_long", "address[country]"),
        ]
    )
    func customerBadInput(_ form: [(String, String)], code: String, param: String) async throws {
        try await withWire { api in
            // Given a customer
            let id = try await api.createCustomer([("name", "Ada")])
            let before = try await api.get("/v1/customers/\(id)").json

            // When one is created, and this one updated, with the bad hash
            let created = try await api.post("/v1/customers", form + [("email", "new@example.com")])
            let updated = try await api.post("/v1/customers/\(id)", form + [("name", "Changed")])

            // Then both are refused, no customer was made, and this one is as it was
            for response in [created, updated] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == code, "\(response.text)")
                #expect(response.error["param"]?.string == param, "\(response.text)")
            }
            #expect(try await api.get("/v1/customers").json.ids == [id])
            #expect(try await api.get("/v1/customers/\(id)").json == before)
        }
    }
}
