import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// A card's `card.checks` on its PaymentMethod: null for a datum it lacks, `unchecked` for one it has, and the issuer's
/// answer from the first payment, setup or attach that reaches the issuer. They stayed `unchecked` (and the address
/// checks null) for good, so a merchant refusing cards whose CVC failed after saving them never could.
@Suite("Card checks on payment methods")
struct CardChecksRouteTests {
    /// Creates a card with a CVC and, when given, a billing line 1 and postal code; returns its id.
    static func card(_ api: WireClient, _ number: String, address: Bool = true) async throws -> String {
        var form = [
            ("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2030"),
            ("card[cvc]", "123"),
        ]
        if address {
            form += [
                ("billing_details[address][line1]", "1 Main St"), ("billing_details[address][postal_code]", "12345"),
            ]
        }
        let response = try await api.post("/v1/payment_methods", form)
        try #require(response.status == 200, "\(response.text)")
        return try #require(response.json["id"]?.string)
    }

    /// Sets columns of the card's row straight in the database (`assignments`, SQL), as an older release left them.
    static func setColumns(_ api: WireClient, _ card: String, _ assignments: String) async throws {
        let path = api.environment.folder.appendingPathComponent("payments.sqlite").path
        try await DatabaseQueue(path: path).write { db in
            try db.execute(sql: "UPDATE payment_methods SET \(assignments) WHERE id = ?", arguments: [card])
        }
    }

    /// The card's checks as `GET /v1/payment_methods/:id` shows them: line 1, postal code, CVC (nil for null).
    static func checks(_ api: WireClient, _ id: String) async throws -> [String?] {
        let response = try await api.get("/v1/payment_methods/\(id)")
        try #require(response.status == 200, "\(response.text)")
        let checks = response.json["card"]?["checks"]
        return ["address_line1_check", "address_postal_code_check", "cvc_check"].map { checks?[$0]?.string }
    }

    @Test("A new card's checks are unchecked for the data it has and null for the rest")
    func newCard() async throws {
        try await withWire { api in
            let withAddress = try await Self.card(api, "4242424242424242")
            #expect(try await Self.checks(api, withAddress) == ["unchecked", "unchecked", "unchecked"])
            let without = try await Self.card(api, "4242424242424242", address: false)
            #expect(try await Self.checks(api, without) == [nil, nil, "unchecked"])
        }
    }

    @Test(
        "Attaching answers the checks, as the issuer answers them",
        arguments: [
            ("4242424242424242", ["pass", "pass", "pass"]), ("4000000000000101", ["pass", "pass", "fail"]),
            ("4000000000000036", ["pass", "fail", "pass"]), ("4000000000000010", ["fail", "fail", "pass"]),
        ]
    )
    func attachAnswers(_ number: String, _ expected: [String]) async throws {
        try await withWire { api in
            let customer = try await api.createCustomer()
            let card = try await Self.card(api, number)
            let attached = try await api.attach(card, to: customer)
            #expect(attached.status == 200, "\(attached.text)")
            // The attach's own answer shows them, and so does every read after it
            let shown = attached.json["card"]?["checks"]
            #expect(shown?["cvc_check"]?.string == expected[2], "\(attached.text)")
            #expect(try await Self.checks(api, card) == expected.map { $0 })
        }
    }

    @Test("A payment answers the checks on its card, the same as on its charge")
    func paymentAnswers() async throws {
        try await withWire { api in
            let card = try await Self.card(api, "4000000000000028")
            let paid = try await api.payment([("payment_method", card), ("confirm", "true")])
            #expect(paid.json["status"]?.string == "succeeded", "\(paid.text)")
            #expect(try await Self.checks(api, card) == ["fail", "pass", "pass"])
            let intent = try #require(paid.json["id"]?.string)
            let charge = try await api.retrieveIntent(intent, expandCharge: true)["latest_charge"]
            let onCharge = charge?["payment_method_details"]?["card"]?["checks"]
            #expect(onCharge?["address_line1_check"]?.string == "fail" && onCharge?["cvc_check"]?.string == "pass")
        }
    }

    /// Found by a probe upgrading from an older release, whose first charge of a saved card left its checks
    /// `unchecked`: the next off-session charge, which sends no CVC (its charge shows none), recorded the issuer's CVC
    /// answer on the card, `pass` for a card whose CVC no payment had sent.
    @Test("An off-session payment answers no CVC check on its card, as it sends no CVC")
    func offSessionLeavesTheCVCUnchecked() async throws {
        try await withWire { api in
            // Given a saved card whose checks are unchecked, as an older release left them after its first payment
            let customer = try await api.createCustomer()
            let card = try await Self.card(api, "4000000000000101")
            #expect(try await api.attach(card, to: customer).status == 200)
            try await Self.setColumns(
                api,
                card,
                "address_line1_check = 'unchecked', address_postal_code_check = 'unchecked', cvc_check = 'unchecked'"
            )
            // When it is charged off-session
            let paid = try await api.payment([
                ("payment_method", card), ("customer", customer), ("off_session", "true"), ("confirm", "true"),
            ])
            #expect(paid.json["status"]?.string == "succeeded", "\(paid.text)")
            // Then the charge shows no CVC check, and the card's CVC stays unchecked; the address checks are answered
            let intent = try #require(paid.json["id"]?.string)
            let charge = try await api.retrieveIntent(intent, expandCharge: true)["latest_charge"]
            #expect(charge?["payment_method_details"]?["card"]?["checks"]?["cvc_check"]?.isNull == true)
            #expect(try await Self.checks(api, card) == ["pass", "pass", "unchecked"])
            // And a payment with the customer there sends it, and answers it: this card's CVC fails
            let present = try await api.payment([("payment_method", card), ("customer", customer), ("confirm", "true")])
            #expect(present.json["status"]?.string == "succeeded", "\(present.text)")
            #expect(try await Self.checks(api, card) == ["pass", "pass", "fail"])
        }
    }

    @Test("A declined payment answers them too; a payment waiting for 3-D Secure does not yet")
    func declineAndChallenge() async throws {
        try await withWire { api in
            let declined = try await Self.card(api, "4000000000009995")
            let response = try await api.payment([("payment_method", declined), ("confirm", "true")])
            #expect(response.status == 402, "\(response.text)")
            #expect(try await Self.checks(api, declined) == ["pass", "pass", "pass"])
            let challenged = try await Self.card(api, "4000002760003184")
            let waiting = try await api.payment([("payment_method", challenged), ("confirm", "true")])
            #expect(waiting.json["status"]?.string == "requires_action", "\(waiting.text)")
            #expect(try await Self.checks(api, challenged) == ["unchecked", "unchecked", "unchecked"])
        }
    }

    /// Found by a probe: a release before migration 0014, serving beside a newer one (a rolling deploy), writes a
    /// card's address without its checks, which stayed null for good.
    @Test("A card with an address and no check (written by an older release) is unchecked until answered")
    func olderReleaseCard() async throws {
        try await withWire { api in
            let customer = try await api.createCustomer()
            let card = try await Self.card(api, "4000000000000010")
            // Given the card as an older release writes it: the new columns left NULL
            try await Self.setColumns(api, card, "address_line1_check = NULL, address_postal_code_check = NULL")
            #expect(try await Self.checks(api, card) == ["unchecked", "unchecked", "unchecked"])
            // When it is attached, the issuer answers for it
            #expect(try await api.attach(card, to: customer).status == 200)
            #expect(try await Self.checks(api, card) == ["fail", "fail", "pass"])
        }
    }

    @Test("A setup answers them; an address changed later is unchecked until the next payment answers it")
    func setupThenAddressChange() async throws {
        try await withWire { api in
            let customer = try await api.createCustomer()
            let card = try await Self.card(api, "4000000000000036")
            let setup = try await api.setup([
                ("customer", customer), ("payment_method", card), ("usage", "off_session"), ("confirm", "true"),
            ])
            #expect(setup["status"]?.string == "succeeded", "\(setup)")
            #expect(try await Self.checks(api, card) == ["pass", "fail", "pass"])
            // When the postal code changes, and only the name besides
            let updated = try await api.post(
                "/v1/payment_methods/\(card)",
                [("billing_details[address][postal_code]", "54321"), ("billing_details[name]", "Jenny")]
            )
            #expect(updated.status == 200, "\(updated.text)")
            // Then the new postal code is unchecked, line 1 keeps its answer
            #expect(try await Self.checks(api, card) == ["pass", "unchecked", "pass"])
            // And the next payment answers it, once
            let paid = try await api.payment([
                ("customer", customer), ("payment_method", card), ("confirm", "true"), ("off_session", "true"),
            ])
            #expect(paid.json["status"]?.string == "succeeded", "\(paid.text)")
            #expect(try await Self.checks(api, card) == ["pass", "fail", "pass"])
            // And removing the address takes its checks away
            let cleared = try await api.post("/v1/payment_methods/\(card)", [("billing_details[address]", "")])
            #expect(cleared.status == 200, "\(cleared.text)")
            #expect(try await Self.checks(api, card) == [nil, nil, "pass"])
        }
    }
}
