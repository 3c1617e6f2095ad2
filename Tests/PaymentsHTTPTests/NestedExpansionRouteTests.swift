import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// `expand[]` paths below a first field (`payment_intent.customer` on a charge), up to four fields deep, as Stripe's.
@Suite("Nested expansion routes")
struct NestedExpansionRouteTests {
    /// A customer with a saved default card, paid with it (its intent and charge) and refunded in part.
    struct Paid {
        let customer: String
        let card: String
        let intent: String
        let charge: String
        let refund: String
    }

    static func paid(_ api: WireClient, key: String? = nil) async throws -> Paid {
        let customer = try await api.createCustomer()
        let card = try await api.savedCard("4242424242424242", customer: customer)
        let settings = try await api.post(
            "/v1/customers/\(customer)",
            [("invoice_settings[default_payment_method]", card)]
        )
        try #require(settings.status == 200, "\(settings.text)")
        let payment = try await api.payment([("customer", customer), ("payment_method", card), ("confirm", "true")])
        try #require(payment.status == 200, "\(payment.text)")
        let intent = try #require(payment.json["id"]?.string)
        let charge = try #require(payment.json["latest_charge"]?.string)
        let refund = try await api.post("/v1/refunds", [("charge", charge), ("amount", "100")])
        try #require(refund.status == 200, "\(refund.text)")
        return Paid(
            customer: customer,
            card: card,
            intent: intent,
            charge: charge,
            refund: try #require(refund.json["id"]?.string)
        )
    }

    @Test("Each object expands a path below a first field: the objects on the way, their other fields by id")
    func pathsBelowTheFirstField() async throws {
        try await withWire { api in
            let paid = try await Self.paid(api)
            // (path, where it is read, the value expected at it: the object's id)
            let cases: [(path: String, url: String, at: String, id: String)] = [
                (
                    "latest_charge.customer", "/v1/payment_intents/\(paid.intent)", "latest_charge.customer",
                    paid.customer
                ),
                (
                    "payment_method.customer", "/v1/payment_intents/\(paid.intent)", "payment_method.customer",
                    paid.customer
                ),
                (
                    "customer.invoice_settings.default_payment_method", "/v1/payment_intents/\(paid.intent)",
                    "customer.invoice_settings.default_payment_method", paid.card
                ),
                ("payment_intent.customer", "/v1/charges/\(paid.charge)", "payment_intent.customer", paid.customer),
                (
                    "payment_intent.payment_method", "/v1/charges/\(paid.charge)", "payment_intent.payment_method",
                    paid.card
                ),
                ("charge.payment_intent", "/v1/refunds/\(paid.refund)", "charge.payment_intent", paid.intent),
                (
                    "payment_intent.latest_charge", "/v1/refunds/\(paid.refund)", "payment_intent.latest_charge",
                    paid.charge
                ),
                (
                    "invoice_settings.default_payment_method.customer", "/v1/customers/\(paid.customer)",
                    "invoice_settings.default_payment_method.customer", paid.customer
                ),
                (
                    "customer.invoice_settings.default_payment_method", "/v1/payment_methods/\(paid.card)",
                    "customer.invoice_settings.default_payment_method", paid.card
                ),
                // Four fields deep, Stripe's most
                (
                    "latest_charge.payment_intent.latest_charge.customer", "/v1/payment_intents/\(paid.intent)",
                    "latest_charge.payment_intent.latest_charge.customer", paid.customer
                ),
            ]
            for (path, url, at, id) in cases {
                let response = try await api.get(url, [("expand[]", path)])
                #expect(response.status == 200, "\(path) on \(url): \(response.text)")
                #expect(response.json.at(at + ".id")?.string == id, "\(path) on \(url): \(response.text)")
                // Every object on the way is expanded
                var prefix = ""
                for field in at.split(separator: ".").dropLast() {
                    prefix += (prefix.isEmpty ? "" : ".") + field
                    guard field != "invoice_settings" else { continue }  // (a customer's field, not an object)
                    #expect(response.json.at(prefix + ".id")?.string != nil, "\(prefix) of \(path): \(response.text)")
                }
            }

            // The Stripe docs' example: a charge with its customer and its intent's customer; the intent's other
            // related objects stay ids
            let charge = try await api.get(
                "/v1/charges/\(paid.charge)",
                [("expand[]", "customer"), ("expand[]", "payment_intent.customer")]
            )
            #expect(charge.json.at("customer.object")?.string == "customer", "\(charge.text)")
            #expect(charge.json.at("payment_intent.customer.object")?.string == "customer", "\(charge.text)")
            #expect(charge.json.at("payment_intent.payment_method")?.string == paid.card, "\(charge.text)")
            #expect(charge.json.at("payment_intent.latest_charge")?.string == paid.charge, "\(charge.text)")

            // Lists expand each item's path
            let list = try await api.get("/v1/payment_intents", [("expand[]", "data.latest_charge.customer")])
            #expect(list.json["data"]?[0]?.at("latest_charge.customer.id")?.string == paid.customer, "\(list.text)")
            let refunds = try await api.get("/v1/refunds", [("expand[]", "data.charge.payment_intent")])
            #expect(refunds.json["data"]?[0]?.at("charge.payment_intent.id")?.string == paid.intent, "\(refunds.text)")

            // On a list `data` counts as one of the four (Stripe's deepest for charges is
            // data.payment_intent.customer.default_source): three fields below it, not four
            let listDeep = "data.latest_charge.payment_intent.latest_charge.customer"
            let tooDeepList = try await api.get("/v1/payment_intents", [("expand[]", listDeep)])
            #expect(tooDeepList.refusesExpanding(listDeep), "\(tooDeepList.text)")
            let listThree = try await api.get(
                "/v1/charges",
                [("expand[]", "data.payment_intent.customer.invoice_settings.default_payment_method")]
            )
            #expect(
                listThree.json["data"]?[0]?.at("payment_intent.customer.invoice_settings.default_payment_method.id")?
                    .string == paid.card,
                "\(listThree.text)"
            )

            // Five fields deep is refused, as Stripe refuses it, and so is a field below one that is always null
            let deep = "latest_charge.payment_intent.latest_charge.payment_intent.customer"
            let tooDeep = try await api.get("/v1/payment_intents/\(paid.intent)", [("expand[]", deep)])
            #expect(tooDeep.refusesExpanding(deep), "\(tooDeep.text)")
            let belowNull = try await api.get(
                "/v1/payment_intents/\(paid.intent)",
                [("expand[]", "latest_charge.balance_transaction.source")]
            )
            #expect(belowNull.refusesExpanding("latest_charge.balance_transaction.source"), "\(belowNull.text)")
        }
    }

    @Test("A keyed payment's answer holds its nested expansions, and its replay is the same bytes")
    func keyedAnswerExpandsNested() async throws {
        try await withWire { api in
            let paid = try await Self.paid(api)
            let form = [
                ("customer", paid.customer), ("payment_method", paid.card), ("confirm", "true"),
                ("expand[]", "latest_charge.customer"), ("expand[]", "payment_method.customer"),
            ]
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "nested-\(UUID().uuidString)"]
            let first = try await api.post(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd")] + form,
                headers: key
            )
            let replay = try await api.post(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd")] + form,
                headers: key
            )
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json.at("latest_charge.customer.id")?.string == paid.customer, "\(first.text)")
            #expect(first.json.at("payment_method.customer.id")?.string == paid.customer, "\(first.text)")
            #expect(replay.text == first.text)
            #expect(replay.header("Idempotent-Replayed") == "true")
            // (and unkeyed, the same shape)
            let unkeyed = try await api.post("/v1/payment_intents", [("amount", "1600"), ("currency", "usd")] + form)
            #expect(unkeyed.json.at("latest_charge.customer.id")?.string == paid.customer, "\(unkeyed.text)")
        }
    }

    @Test("A publishable key expands nothing below a first field: the card's customer stays out of its reach")
    func publishableStopsAtTheFirstField() async throws {
        try await withWire { api in
            let paid = try await Self.paid(api)
            let secret = try await api.get("/v1/payment_intents/\(paid.intent)")
            let clientSecret = try #require(secret.json["client_secret"]?.string)
            let response = try await api.get(
                "/v1/payment_intents/\(paid.intent)",
                [("client_secret", clientSecret), ("expand[]", "payment_method.customer")],
                auth: WireClient.publishable
            )
            #expect(response.json.at("payment_method.customer.object") == nil, "\(response.text)")
            #expect(!response.text.contains("\"object\" : \"customer\""), "\(response.text)")
        }
    }
}
