import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import PaymentsStore
import TestSupport
import Testing

/// `OffSessionCharges`, the use case behind `payments recharge`: which card it charges, its per-reference
/// idempotency, declines, and finishing a charge whose first try died after the network answered.
@Suite("Off-session charges")
struct OffSessionChargesTests {
    // MARK: - Fixtures

    /// A customer with `numbers` attached as cards, in that order; returns the customer and the cards' ids.
    static func customer(_ env: TestEnvironment, cards numbers: [String]) async throws -> (String, [String]) {
        let customer = try await env.customer()
        var cards: [String] = []
        for number in numbers {
            let card = try await env.card(number)
            _ = try await env.paymentMethods.attach(card.id, customer: customer.id)
            cards.append(card.id)
        }
        return (customer.id, cards)
    }

    /// The use case over `env` for a run named `instance`.
    static func charges(_ env: TestEnvironment, instance: String = "run-1") -> OffSessionCharges {
        OffSessionCharges(context: env.context, instance: instance)
    }

    // MARK: - Which card

    @Test("charges the customer's default card")
    func chargesDefaultCard() async throws {
        // Given a customer with two cards, the older one its default
        let env = try TestEnvironment()
        let (customer, cards) = try await Self.customer(env, cards: ["4242424242424242", "5555555555554444"])
        _ = try await env.customers.update(customer, .init(defaultPaymentMethod: .some(cards[0])))

        // When it is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: "order-1")
        )

        // Then the default card paid
        #expect(outcome.status == "succeeded")
        #expect(outcome.replayed == false)
        let intent = try await env.intents.retrieve(try #require(outcome.paymentIntent))
        #expect(intent.status == .succeeded)
        #expect(intent.paymentMethod == cards[0])
        #expect(intent.customer == customer)
        #expect(intent.amount == 1500)
        #expect(intent.amountReceived == 1500)
        #expect(intent.metadata["reference"] == "order-1")
        #expect(try env.network.approvedCount() == 1)
    }

    @Test("a row the card network did not answer says to run the file again, not to retry with an Idempotency-Key")
    func networkUnavailableRow() async throws {
        // Given a network that does not answer the first attempt
        let env = try TestEnvironment(
            faults: FaultInjector(armed: .afterAttemptCommit) { _ in
                throw PaymentError.cardNetworkUnavailable("timed out")
            }
        )
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])

        // When the row is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: "order-unanswered")
        )

        // Then it is an error row whose message says how a recharge completes it
        #expect(outcome.status == "error")
        let message = try #require(outcome.error)
        #expect(
            message.hasPrefix("The card network did not answer (timed out). Nothing was charged twice"),
            "\(message)"
        )
        #expect(message.hasSuffix("run the same file again to complete this row."), "\(message)")
        #expect(!message.contains("Idempotency-Key"), "\(message)")
    }

    @Test(
        "a row the database failed says so and that a run of the same file completes it, not to use a key",
        arguments: [StoreError.unavailable("no database connection within 10.0 seconds"), .commitUnknown("reset")]
    )
    func databaseFailureRow(_ failure: StoreError) async throws {
        // Given a database that fails the row's payment once its attempt is recorded
        let env = try TestEnvironment(faults: FaultInjector(armed: .afterAttemptCommit) { _ in throw failure })
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        // When the row is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: "order-db-\(failure)")
        )
        // Then its error says what failed and what a run does about it, without an API client's advice
        #expect(outcome.status == "error")
        let message = try #require(outcome.error)
        #expect(
            message.hasSuffix(
                "Run the same file again to complete this row: a row already charged is answered, "
                    + "not charged again."
            ),
            "\(message)"
        )
        #expect(!message.contains("Idempotency-Key"), "\(message)")
        #expect(message.hasPrefix("\(failure)".prefix(20)), "\(message)")
    }

    @Test("a card number in a reference or a description charges nothing and stores nothing")
    func cardNumbersRefused() async throws {
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        for (reference, description) in [("4000056655665556", "renewal"), ("order-2", "card 5555 5555 5555 4444")] {
            let outcome = await Self.charges(env).charge(
                .init(customer: customer, amount: 1500, currency: "usd", reference: reference, description: description)
            )
            #expect(outcome.status == "error")
            #expect(outcome.error?.contains("looks like a card number") == true, "\(outcome)")
            #expect(outcome.error?.contains("5556") == false && outcome.error?.contains("4444") == false)
        }
        #expect(try env.count("payment_intents") == 0)
        #expect(try env.count("idempotency_keys") == 0)
        #expect(try env.network.approvedCount() == 0)
    }

    @Test("a description longer than the API's 1,000 characters charges nothing; 1,000 charges")
    func longDescriptionRefused() async throws {
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        let long = await Self.charges(env).charge(
            .init(
                customer: customer,
                amount: 1500,
                currency: "usd",
                reference: "order-long",
                description: String(repeating: "d", count: 1001)
            )
        )
        #expect(long.status == "error")
        #expect(long.error?.contains("description is 1001 characters; at most 1000") == true, "\(long)")
        #expect(try env.count("payment_intents") == 0)
        #expect(try env.network.approvedCount() == 0)
        let fits = await Self.charges(env).charge(
            .init(
                customer: customer,
                amount: 1500,
                currency: "usd",
                reference: "order-fits",
                description: String(repeating: "é", count: 1000)
            )
        )
        #expect(fits.status == "succeeded", "\(fits)")
    }

    @Test("a reference in Unicode's decomposed form (NFD) is refused; its composed spelling (NFC) charges once")
    func decomposedReference() async throws {
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        let composed = "renouvellement-caf\u{E9}-1"
        let decomposed = "renouvellement-cafe\u{301}-1"
        #expect(composed == decomposed)  // one text to Swift and to the eye, two keys to the store
        let first = await Self.charges(env).charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: composed)
        )
        let again = await Self.charges(env).charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: decomposed)
        )
        #expect(first.status == "succeeded")
        #expect(again.status == "error" && again.error?.contains("NFC") == true, "\(again)")
        #expect(try env.network.approvedCount() == 1)
    }

    @Test("a row an older version charged under its quoted reading is replayed under it, never charged again")
    func referenceReadBefore() async throws {
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        // Given a row `, "INV-7"` charged by a version that read it as `"INV-7"`, quotes and all
        let before = await Self.charges(env, instance: "old").charge(
            .init(customer: customer, amount: 1500, currency: "usd", reference: "\"INV-7\"")
        )
        #expect(before.status == "succeeded")
        // When this version reads the same row as INV-7 and charges it
        let now = await Self.charges(env, instance: "new").charge(
            .init(
                customer: customer,
                amount: 1500,
                currency: "usd",
                reference: "INV-7",
                referenceReadBefore: "\"INV-7\""
            )
        )
        // Then it replays that charge: one authorization at the network
        #expect(now.status == "succeeded" && now.replayed == true, "\(now)")
        #expect(now.paymentIntent == before.paymentIntent)
        #expect(try env.network.approvedCount() == 1)
        // while a row no version charged before is charged under its new reading
        let fresh = await Self.charges(env, instance: "new").charge(
            .init(
                customer: customer,
                amount: 1500,
                currency: "usd",
                reference: "INV-8",
                referenceReadBefore: "\"INV-8\""
            )
        )
        #expect(fresh.status == "succeeded" && fresh.replayed != true, "\(fresh)")
        #expect(try env.network.approvedCount() == 2)
        let keys = try await env.context.database.read { tx in
            (
                try tx.idempotencyKey(apiKey: OffSessionCharges.keyScope, key: "INV-8"),
                try tx.idempotencyKey(apiKey: OffSessionCharges.keyScope, key: "\"INV-8\"")
            )
        }
        #expect(keys.0 != nil && keys.1 == nil)
    }

    @Test("charges the customer's only card when it has no default")
    func chargesOnlyCard() async throws {
        // Given a customer with one card and no default
        let env = try TestEnvironment()
        let (customer, cards) = try await Self.customer(env, cards: ["4242424242424242"])

        // When it is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "order-1")
        )

        // Then that card paid
        #expect(outcome.status == "succeeded")
        let intent = try await env.intents.retrieve(try #require(outcome.paymentIntent))
        #expect(intent.paymentMethod == cards[0])
        #expect(try env.network.approvedCount() == 1)
    }

    @Test("charges the card the request names")
    func chargesExplicitCard() async throws {
        // Given a customer with two cards and no default
        let env = try TestEnvironment()
        let (customer, cards) = try await Self.customer(env, cards: ["4242424242424242", "5555555555554444"])

        // When it is charged naming the older card
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "order-1", paymentMethod: cards[0])
        )

        // Then that card paid
        #expect(outcome.status == "succeeded")
        let intent = try await env.intents.retrieve(try #require(outcome.paymentIntent))
        #expect(intent.paymentMethod == cards[0])
        #expect(try env.network.approvedCount() == 1)
    }

    @Test("a card of another customer is an error outcome, and charges nothing")
    func anotherCustomersCard() async throws {
        // Given two customers with a card each
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        let (_, othersCards) = try await Self.customer(env, cards: ["5555555555554444"])

        // When the first is charged naming the other's card
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "r-1", paymentMethod: othersCards[0])
        )

        // Then it is an error
        #expect(outcome.status == "error")
        #expect(try env.network.approvedCount() == 0)
    }

    @Test("a customer with several cards and no default needs the card named")
    func severalCardsNoDefault() async throws {
        // Given a customer with two cards and no default
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242", "5555555555554444"])

        // When it is charged without naming a card
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "order-1")
        )

        // Then it is an error and nothing is charged
        #expect(outcome.status == "error")
        #expect(outcome.paymentIntent == nil)
        #expect(try env.network.approvedCount() == 0)
    }

    @Test("a customer without a card is an error outcome")
    func customerWithoutCard() async throws {
        // Given a customer with no saved card
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: [])

        // When it is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "order-1")
        )

        // Then it is an error with a message, and nothing is charged
        #expect(outcome.status == "error")
        #expect(outcome.paymentIntent == nil)
        #expect(outcome.error?.isEmpty == false)
        #expect(try env.network.approvedCount() == 0)
    }

    @Test("an unknown customer is an error outcome")
    func unknownCustomer() async throws {
        // Given nothing
        let env = try TestEnvironment()

        // When an unknown customer is charged
        let outcome = await Self.charges(env).charge(
            .init(customer: "cus_missing", amount: 1000, currency: "usd", reference: "order-1")
        )

        // Then it is an error
        #expect(outcome.status == "error")
        #expect(outcome.paymentIntent == nil)
        #expect(try env.network.approvedCount() == 0)
    }

    @Test("a reference of more than 255 code points is an error outcome that says so, and charges nothing")
    func referenceLength() async throws {
        // Given a customer with a card
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        let charges = Self.charges(env)

        // When a reference of 200 characters of `x` and a combining accent (400 code points, in NFC too: no single
        // character is an x with an acute) is charged
        let long = await charges.charge(
            .init(
                customer: customer,
                amount: 1000,
                currency: "usd",
                reference: String(repeating: "x\u{301}", count: 200)
            )
        )

        // Then it is refused for its length, as the store would have refused it, and nothing is charged
        #expect(long.status == "error")
        #expect(long.error == "reference must be 1 to 255 characters.")
        #expect(try env.network.approvedCount() == 0)

        // And 255 code points in 128 characters are a reference like any other
        let longest = await charges.charge(
            .init(
                customer: customer,
                amount: 1000,
                currency: "usd",
                reference: String(repeating: "x\u{301}", count: 127) + "k"
            )
        )
        #expect(longest.status == "succeeded", "\(longest)")
        #expect(try env.network.approvedCount() == 1)
    }

    // MARK: - Idempotency per reference

    @Test("the same reference twice replays the first charge")
    func sameReferenceReplays() async throws {
        // Given a charged reference
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: ["4242424242424242"])
        let request = OffSessionCharges.Request(customer: customer, amount: 1000, currency: "usd", reference: "r-1")
        let first = await Self.charges(env).charge(request)
        try #require(first.status == "succeeded")

        // When it is charged again, by this run and by a later one
        let again = await Self.charges(env).charge(request)
        let later = await Self.charges(env, instance: "run-2").charge(request)

        // Then both replay the first charge and nothing more is charged
        for outcome in [again, later] {
            #expect(outcome.replayed == true)
            #expect(outcome.status == "succeeded")
            #expect(outcome.paymentIntent == first.paymentIntent)
        }
        #expect(try env.network.approvedCount() == 1)
        let intents = try await env.intents.list(customer: customer, created: nil, page: PageRequest(limit: 10))
        #expect(intents.items.map(\.id) == [first.paymentIntent])
    }

    @Test("the same reference with another amount is an error, and charges nothing")
    func sameReferenceOtherAmount() async throws {
        // Given a charged reference
        let env = try TestEnvironment()
        let (customer, cards) = try await Self.customer(env, cards: ["4242424242424242"])
        let first = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "r-1")
        )
        try #require(first.status == "succeeded")

        // When it is used for another amount
        let other = await Self.charges(env).charge(
            .init(customer: customer, amount: 2000, currency: "usd", reference: "r-1")
        )

        // Then it is an error and nothing more is charged
        #expect(other.status == "error")
        #expect(other.replayed == false)
        #expect(try env.network.approvedCount() == 1)
        // And the same card named where the first row left it to the default is a different row too, which the
        // message says (it said "card ... differ" of the same card) (probe)
        let named = await Self.charges(env).charge(
            .init(customer: customer, amount: 1000, currency: "usd", reference: "r-1", paymentMethod: cards[0])
        )
        #expect(named.status == "error" && named.error?.contains("left it empty for the default card") == true)
        #expect(try env.network.approvedCount() == 1)
    }

    // MARK: - Declines

    /// A saved card that declines off-session, and its decline code.
    struct Decline: Sendable, CustomTestStringConvertible {
        let number: String
        let declineCode: String
        var testDescription: String { "\(number) → \(declineCode)" }
    }

    @Test(
        "a declined card is a declined outcome with its decline code",
        arguments: [
            Decline(number: "4000000000000341", declineCode: "generic_decline"),
            Decline(number: "4000008260003178", declineCode: "insufficient_funds"),
            Decline(number: "4000002760003184", declineCode: "authentication_required"),
        ]
    )
    func declinedCard(_ row: Decline) async throws {
        // Given a customer whose only card declines off-session
        let env = try TestEnvironment()
        let (customer, _) = try await Self.customer(env, cards: [row.number])
        let request = OffSessionCharges.Request(customer: customer, amount: 1000, currency: "usd", reference: "r-1")

        // When it is charged
        let outcome = await Self.charges(env).charge(request)

        // Then the outcome is declined with the card's code, the intent waits for another card
        #expect(outcome.status == "declined")
        #expect(outcome.declineCode == row.declineCode)
        let intent = try await env.intents.retrieve(try #require(outcome.paymentIntent))
        #expect(intent.status == .requiresPaymentMethod)
        #expect(try env.network.approvedCount() == 0)

        // And charging the reference again replays the decline instead of trying again
        let again = await Self.charges(env, instance: "run-2").charge(request)
        #expect(again.replayed == true)
        #expect(again.status == "declined")
        #expect(again.paymentIntent == outcome.paymentIntent)
    }

    // MARK: - A first try that died

    /// A card network that forwards one authorization to the real network, then fails as a process would that
    /// crashed after the network recorded the charge and before the service recorded the answer.
    struct DiesAfterAuthorizing: CardNetwork {
        let real: any CardNetwork

        struct Died: Error {}

        func lookUp(_ card: CardNumber) -> CardLookup { real.lookUp(card) }

        func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
            real.attachDecline(card, cvcProvided: cvcProvided)
        }

        func testCardNumber(forPaymentMethodID id: String) -> String? { real.testCardNumber(forPaymentMethodID: id) }

        func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
            _ = try await real.authorize(request)
            throw Died()
        }

        func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
            try await real.capture(attemptID: attemptID, amount: amount, reference: reference)
        }

        func void(attemptID: String) async throws -> Bool {
            try await real.void(attemptID: attemptID)
        }

        func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
            try await real.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
        }
    }

    @Test("a reference whose first try died after the network charged is completed, charged once")
    func resumesAfterDeathAfterNetwork() async throws {
        // Given a first run that recorded its attempt, got it charged at the network and died
        let env = try TestEnvironment()
        let (customer, cards) = try await Self.customer(env, cards: ["4242424242424242"])
        let request = OffSessionCharges.Request(customer: customer, amount: 1000, currency: "usd", reference: "r-1")
        let dying = PaymentsContext(
            database: env.database,
            vault: env.context.vault,
            network: DiesAfterAuthorizing(real: env.network),
            clock: env.clock.unixClock,
            settings: .init(publicBaseURL: TestEnvironment.baseURL)
        )
        let died = await OffSessionCharges(context: dying, instance: "run-1").charge(request)
        try #require(died.status == "error")
        try #require(try env.network.approvedCount() == 1)

        // When a later run charges the same reference
        let resumed = await Self.charges(env, instance: "run-2").charge(request)

        // Then it completes that charge, with one charge at the network and one intent
        #expect(resumed.status == "succeeded")
        let intentID = try #require(resumed.paymentIntent)
        let intent = try await env.intents.retrieve(intentID)
        #expect(intent.status == .succeeded)
        #expect(intent.amountReceived == 1000)
        #expect(intent.paymentMethod == cards[0])
        #expect(try env.network.approvedCount() == 1)
        let intents = try await env.intents.list(customer: customer, created: nil, page: PageRequest(limit: 10))
        #expect(intents.items.map(\.id) == [intentID])

        // And a third run replays it
        let replay = await Self.charges(env, instance: "run-3").charge(request)
        #expect(replay.replayed == true)
        #expect(replay.paymentIntent == intentID)
        #expect(try env.network.approvedCount() == 1)
    }
}
