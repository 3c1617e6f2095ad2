import Foundation
import PaymentsCore
import Testing

@testable import Payments

/// The hand-written event snapshots of intents and charges decode into the same values as `JSONEncoder`'s, whatever
/// the fields hold (nil or set, strings that need escaping).
@Suite("Event snapshots")
struct EventSnapshotTests {
    /// Text that JSON must escape: quotes, backslashes, control characters, and non-ASCII letters.
    static let awkward = "a \"quoted\" \\ back\\slash\n\r\t\u{01}\u{1F} / é 支払い 💳"

    /// Shipping with every field set, text that needs escaping among them.
    static let shipping = Shipping(
        address: Address(
            city: awkward,
            country: "JP",
            line1: "1-2-3",
            line2: awkward,
            postalCode: "100-0001",
            state: "東京都"
        ),
        carrier: "Yamato",
        name: awkward,
        phone: "+81 3",
        trackingNumber: awkward
    )

    static func intents() -> [PaymentIntent] {
        let plain = PaymentIntent(id: "pi_1", created: 1_700_000_000, amount: 2000, currency: "usd", clientSecret: "s")
        var full = PaymentIntent(
            id: "pi_2",
            created: 1_700_000_001,
            amount: 1,
            currency: "jpy",
            captureMethod: .manual,
            confirmationMethod: .manual,
            clientSecret: "pi_2_secret_x",
            customer: "cus_1",
            paymentMethod: "pm_1",
            description: awkward,
            receiptEmail: "a@example.com",
            statementDescriptor: "SHOP",
            statementDescriptorSuffix: "SFX",
            metadata: ["order": awkward, "b": "2", awkward: "key"],
            setupFutureUsage: .offSession,
            origin: .recharge
        )
        full.status = .requiresPaymentMethod
        full.amountCapturable = 5
        full.amountReceived = Int64.max
        full.latestCharge = "ch_1"
        full.lastPaymentError = LastPaymentError(
            type: .card,
            code: "card_declined",
            declineCode: "insufficient_funds",
            message: awkward,
            param: "payment_method",
            paymentMethod: "pm_1",
            charge: "ch_1"
        )
        full.canceledAt = -1
        full.cancellationReason = .automatic
        full.returnURL = "https://example.com/return?a=1&b=2"
        full.offSession = true
        full.authenticatedPaymentMethod = "pm_1"
        full.authenticationToken = "tok"
        full.attemptExpiresAt = 1_700_003_600
        full.succeededAt = 0
        full.authorizedAt = 1_700_000_002
        full.shipping = Self.shipping
        var expired = plain
        expired.lastPaymentError = .attemptExpired(paymentMethod: nil)
        return [plain, full, expired]
    }

    static func charges() -> [Charge] {
        let pending = Charge(
            id: "ch_1",
            created: 1_700_000_000,
            paymentIntent: "pi_1",
            paymentMethod: nil,
            customer: nil,
            amount: 2000,
            currency: "usd",
            capture: true,
            offSession: false,
            threeDSecure: nil
        )
        var full = Charge(
            id: "ch_2",
            created: 1_700_000_001,
            paymentIntent: "pi_2",
            paymentMethod: "pm_2",
            customer: "cus_2",
            amount: 500,
            currency: "eur",
            capture: false,
            offSession: true,
            threeDSecure: "authenticated"
        )
        full.fail(with: .attemptExpired(paymentMethod: "pm_2"), at: 1_700_000_100)
        full.captured = true
        full.amountCaptured = 400
        full.amountRefunded = 100
        full.authorizationCode = "123456"
        full.description = awkward
        full.metadata = ["reference": awkward]
        full.riskLevel = .elevated
        full.cvcCheck = .pass
        full.addressLine1Check = .fail
        full.addressPostalCodeCheck = .unavailable
        full.shipping = Shipping(address: Address(line1: awkward), name: "N")
        return [pending, full]
    }

    @Test("An intent's snapshot decodes into the same intent as JSONEncoder's")
    func intentSnapshots() throws {
        for intent in Self.intents() {
            // Given an intent, when it is snapshot by hand and by JSONEncoder
            let fast = try JSONDecoder().decode(PaymentIntent.self, from: Data(EventSnapshot.json(intent)))
            let slow = try JSONDecoder().decode(PaymentIntent.self, from: JSONEncoder().encode(intent))
            // Then both decode into the intent itself
            #expect(fast == intent)
            #expect(fast == slow)
            // And both hold the same members (nil fields omitted alike)
            #expect(try Self.members(EventSnapshot.json(intent)) == Self.members(Array(JSONEncoder().encode(intent))))
        }
    }

    @Test("A charge's snapshot decodes into the same charge as JSONEncoder's")
    func chargeSnapshots() throws {
        for charge in Self.charges() {
            let fast = try JSONDecoder().decode(Charge.self, from: Data(EventSnapshot.json(charge)))
            #expect(fast == charge)
            #expect(try Self.members(EventSnapshot.json(charge)) == Self.members(Array(JSONEncoder().encode(charge))))
        }
    }

    @Test("Intents and charges go through the hand-written snapshot; other objects through JSONEncoder")
    func snapshotChoice() throws {
        let intent = try #require(Self.intents().last)
        #expect(try EventRecordingTransaction.snapshot(intent) == EventSnapshot.json(intent))
        let customer = Customer(id: "cus_1", created: 1)
        let decoded = try JSONDecoder().decode(
            Customer.self,
            from: Data(try EventRecordingTransaction.snapshot(customer))
        )
        #expect(decoded == customer)
    }

    /// Found by a probe comparing two databases' events: Foundation's `JSONEncoder` writes keys in its dictionary's
    /// order, which changes from one process to the next, so the same customer was stored as different text.
    @Test("The other objects' snapshots have their keys sorted: the same object is the same bytes in every process")
    func otherSnapshotsSorted() throws {
        let sorted = JSONEncoder()
        sorted.outputFormatting = .sortedKeys
        var customer = Customer(id: "cus_1", created: 1)
        customer.email = "a@example.com"
        customer.name = "A"
        customer.metadata = ["b": "2", "a": "1"]
        #expect(try EventRecordingTransaction.snapshot(customer) == Array(sorted.encode(customer)))
        let text = String(decoding: try EventRecordingTransaction.snapshot(customer), as: UTF8.self)
        let keys = ["\"created\"", "\"email\"", "\"id\"", "\"metadata\"", "\"name\""].map {
            text.range(of: $0)?.lowerBound
        }
        #expect(keys.allSatisfy { $0 != nil } && keys.map { $0! } == keys.map { $0! }.sorted(), "\(text)")
    }

    /// A JSON object's top-level keys, sorted.
    static func members(_ json: [UInt8]) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
        return object.keys.sorted()
    }
}
