import Foundation
import Payments
import PaymentsCore
import TestSupport
import Testing

/// The events outbox: every change records Stripe's events in its own transaction, and only committed changes do.
@Suite("Events")
struct EventsTests {
    /// Every event, oldest first, as (type, object id).
    static func all(_ environment: TestEnvironment) async throws -> [(type: String, object: String)] {
        let page = try await Events(context: environment.context).list(types: [], created: nil, page: .init(limit: 100))
        return page.items.reversed().map { ($0.type, $0.objectID) }
    }

    /// Every event, oldest first.
    static func events(_ environment: TestEnvironment) async throws -> [Event] {
        try await Events(context: environment.context).list(types: [], created: nil, page: .init(limit: 100)).items
            .reversed()
    }

    /// The types of every event, oldest first.
    static func types(_ environment: TestEnvironment) async throws -> [String] {
        try await all(environment).map(\.type)
    }

    @Test("A successful payment: payment_intent.created, charge.succeeded, payment_intent.succeeded")
    func succeeded() async throws {
        let environment = try TestEnvironment()
        let card = try await environment.card("4242424242424242")
        let intent = try await environment.pay(card.id)
        let events = try await Self.all(environment)
        #expect(events.map(\.type) == ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"])
        #expect(events.map(\.object) == [intent.id, try #require(intent.latestCharge), intent.id])
        // And the last event's snapshot is the intent as it was then
        let newest = try #require(
            try await Events(context: environment.context).list(types: [], created: nil, page: .init(limit: 1))
                .items.first
        )
        let snapshot = try newest.decodeSnapshot(as: PaymentIntent.self)
        #expect(snapshot == intent)
        #expect(newest.created == environment.clock.now)
        #expect(newest.id.hasPrefix("evt_"))
    }

    /// Create with confirm=true and a magic test id inserts the intent and its new payment method once, in their
    /// state after the attempt: the events must still be those of an insert followed by an update, each with the
    /// snapshot of its moment, and the payment method must end single-use.
    @Test(
        "Create+confirm with a magic test id: the created event shows the intent as created, then the attempt's events",
        arguments: [
            ("pm_card_visa", ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]),
            ("pm_card_chargeDeclined", ["payment_intent.created", "charge.failed", "payment_intent.payment_failed"]),
            ("pm_card_threeDSecure2Required", ["payment_intent.created", "payment_intent.requires_action"]),
        ]
    )
    func createdAndConfirmedAtOnce(_ magicID: String, _ expected: [String]) async throws {
        let environment = try TestEnvironment()
        let intentID: String
        do {
            intentID = try await environment.pay(magicID).id
        } catch let error as PaymentError {
            intentID = try #require(error.paymentIntent)
        }
        let intent = try await environment.intents.retrieve(intentID)
        let page = try await Events(context: environment.context).list(types: [], created: nil, page: .init(limit: 100))
        let events = page.items.reversed() as [Event]
        #expect(events.map(\.type) == expected)
        let created = try #require(events.first).decodeSnapshot(as: PaymentIntent.self)
        #expect(created.id == intent.id)
        #expect(created.status == .requiresConfirmation)
        #expect(created.latestCharge == nil && created.lastPaymentError == nil)
        // (A failed attempt takes the payment method off the intent, as Stripe; the created intent has it.)
        let pmID = try #require(created.paymentMethod)
        #expect(intent.paymentMethod == (magicID == "pm_card_chargeDeclined" ? nil : pmID))
        // The last event shows the intent as it is stored now
        #expect(try #require(events.last).decodeSnapshot(as: PaymentIntent.self) == intent)
        let paymentMethod = try #require(try await environment.storedPaymentMethod(pmID))
        // Single-use once an attempt reached the network (a declined one too); a challenge stops before it
        #expect(paymentMethod.reusable == (magicID == "pm_card_threeDSecure2Required"))
        #expect(try environment.count("payment_methods") == 1)
        #expect(try environment.count("card_vault") == 1)
    }

    @Test("A decline: payment_intent.created, charge.failed, payment_intent.payment_failed")
    func declined() async throws {
        let environment = try TestEnvironment()
        let card = try await environment.card("4000000000009995")
        await #expect(throws: PaymentError.self) { try await environment.pay(card.id) }
        #expect(
            try await Self.types(environment) == [
                "payment_intent.created", "charge.failed", "payment_intent.payment_failed",
            ]
        )
    }

    @Test("3-D Secure, manual capture, refund: each step's events")
    func lifecycle() async throws {
        let environment = try TestEnvironment()
        let card = try await environment.card("4000002500003155")
        let waiting = try await environment.pay(card.id, captureMethod: .manual)
        #expect(waiting.status == .requiresAction)
        let token = try #require(waiting.authenticationToken)
        let authorized = try await environment.intents.authenticate(waiting.id, token: token, outcome: .complete)
        #expect(authorized.status == .requiresCapture)
        let captured = try await environment.intents.capture(waiting.id, amountToCapture: 1_500)
        #expect(captured.status == .succeeded)
        _ = try await environment.refunds.create(.init(paymentIntent: waiting.id, amount: 500))
        #expect(
            try await Self.types(environment) == [
                "payment_intent.created", "payment_intent.requires_action",
                "charge.succeeded", "payment_intent.amount_capturable_updated",
                "charge.captured", "payment_intent.succeeded",
                // The refund reserves its amount on the charge before the network is asked; it is created once the
                // network answered, succeeded
                "charge.refunded", "refund.created",
            ]
        )
        let created = try #require(try await Self.events(environment).last)
        #expect(try created.decodeSnapshot(as: Refund.self).status == .succeeded)
    }

    @Test(
        "A held authorization captured, canceled or expired: the charge's event before the intent's, as on a confirm",
        arguments: ["capture", "cancel", "expiry"]
    )
    func chargeEventsFirst(_ action: String) async throws {
        // Given an authorization held (manual capture)
        let environment = try TestEnvironment()
        let held = try await environment.pay("pm_card_visa", captureMethod: .manual)
        #expect(held.status == .requiresCapture)
        let before = try await Self.types(environment).count

        // When it is captured, canceled, or left past its 7 days for the sweeper
        switch action {
        case "capture": _ = try await environment.intents.capture(held.id, amountToCapture: nil)
        case "cancel": _ = try await environment.intents.cancel(held.id, reason: .requestedByCustomer)
        default: _ = try await Sweeper(context: environment.context).sweep(now: held.created + 7 * 86_400 + 60)
        }

        // Then the charge's event comes first, then the intent's
        let expected =
            switch action {
            case "capture": ["charge.captured", "payment_intent.succeeded"]
            case "cancel": ["charge.refunded", "payment_intent.canceled"]
            default: ["charge.expired", "payment_intent.canceled"]
            }
        #expect(Array(try await Self.types(environment).dropFirst(before)) == expected)
    }

    @Test("A refund the network pays out later is created pending, then updated when it settles")
    func pendingRefundEvents() async throws {
        let environment = try TestEnvironment()
        let paid = try await environment.pay("pm_card_pendingRefund")
        let refund = try await environment.refunds.create(.init(paymentIntent: paid.id))
        #expect(refund.status == .pending)
        let settlesAt = try #require(refund.settlesAt)
        _ = try await Sweeper(context: environment.context).sweep(now: settlesAt + 1)
        let refundEvents = try await Self.events(environment).filter { $0.type.hasPrefix("refund.") }
        #expect(refundEvents.map(\.type) == ["refund.created", "refund.updated"])
        #expect(try refundEvents.map { try $0.decodeSnapshot(as: Refund.self).status } == [.pending, .succeeded])
    }

    @Test("A refund that fails later: refund.updated, charge.refund.updated and refund.failed, each with the refund")
    func failedLaterRefundEvents() async throws {
        // Given a refund the network answers succeeded, then fails a minute later
        let environment = try TestEnvironment()
        let paid = try await environment.pay("pm_card_refundFail")
        let refund = try await environment.refunds.create(.init(paymentIntent: paid.id))
        let settlesAt = try #require(refund.settlesAt)
        let before = try await Self.events(environment).count

        // When the sweeper asks about it again
        _ = try await Sweeper(context: environment.context).sweep(now: settlesAt + 1)

        // Then a merchant following charge.* events learns it too (before: refund.updated and refund.failed only,
        // while the charge's last event, charge.refunded, still showed it refunded)
        let events = try await Self.events(environment).dropFirst(before)
        #expect(events.map(\.type) == ["refund.updated", "charge.refund.updated", "refund.failed"])
        for event in events {
            let shown = try event.decodeSnapshot(as: Refund.self)
            #expect(shown.id == refund.id && shown.status == .failed)
        }
        let charge = try #require(try await environment.context.database.read { tx in try tx.charge(refund.charge) })
        #expect(charge.amountRefunded == 0)
    }

    @Test("A refund's metadata changed: refund.updated with the earlier metadata; an update changing nothing, none")
    func refundMetadataUpdated() async throws {
        // Given a refund with metadata
        let environment = try TestEnvironment()
        let paid = try await environment.pay("pm_card_visa")
        let refund = try await environment.refunds.create(.init(paymentIntent: paid.id, metadata: ["order": "6735"]))

        // When a metadata key is added, and then the same key is set again to the same value
        for _ in 1...2 {
            _ = try await environment.refunds.update(refund.id, metadata: ["ticket": "T-9"], clearMetadata: false)
        }

        // Then one refund.updated was recorded, showing the refund after the change and its metadata before it
        let updates = try await Self.events(environment).filter { $0.type.hasSuffix("refund.updated") }
        // (as Stripe sends, a charge.refund.updated with it)
        try #require(updates.map(\.type) == ["refund.updated", "charge.refund.updated"], "\(updates.map(\.type))")
        for update in updates {
            #expect(try update.decodeSnapshot(as: Refund.self).metadata == ["order": "6735", "ticket": "T-9"])
            let previous = try #require(update.previousSnapshot)
            #expect(try Event.decode(previous, as: Refund.self).metadata == ["order": "6735"])
        }
    }

    @Test("Customers and their cards: created, updated, attached, detached, deleted")
    func customersAndCards() async throws {
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        let card = try await environment.card("4242424242424242")
        _ = try await environment.paymentMethods.attach(card.id, customer: customer.id)
        _ = try await environment.customers.update(customer.id, .init(name: "Jenny Rosen"))
        _ = try await environment.customers.delete(customer.id)
        #expect(
            try await Self.types(environment) == [
                "customer.created", "payment_method.attached", "customer.updated",
                // Deleting a customer detaches its cards first
                "payment_method.detached", "customer.deleted",
            ]
        )
    }

    @Test(
        "A magic test id paid and saved for a customer: the events of every state, the card attached and charged again",
        arguments: ["pm_card_visa", "card"]
    )
    func savedWhilePaying(_ source: String) async throws {
        let environment = try TestEnvironment()
        let customer = try await environment.customer()
        // A payment method made in the payment's own transaction (a magic id), or one created beforehand
        let paymentMethod = source == "card" ? try await environment.card("4242424242424242").id : source
        let paid = try await environment.pay(
            paymentMethod,
            customer: customer.id,
            setupFutureUsage: .offSession
        )
        #expect(paid.status == .succeeded)
        let saved = try #require(paid.paymentMethod)
        let page = try await Events(context: environment.context).list(types: [], created: nil, page: .init(limit: 100))
        let events = page.items.reversed() as [Event]
        #expect(
            events.map(\.type) == [
                "customer.created", "payment_intent.created", "charge.succeeded", "payment_intent.succeeded",
                "payment_method.attached",
            ]
        )
        // Each event's snapshot is its object as it was then: the attached card belongs to the customer
        let attached = try #require(events.last).decodeSnapshot(as: PaymentMethod.self)
        #expect(attached.id == saved && attached.customer == customer.id)
        #expect(try events[3].decodeSnapshot(as: PaymentIntent.self) == paid)
        // And the saved card charges again, off-session, from the vault
        let again = try await environment.pay(saved, customer: customer.id, offSession: true)
        #expect(again.status == .succeeded)
    }

    @Test("A change that rolls back records no event")
    func rolledBack() async throws {
        let environment = try TestEnvironment()
        struct Abort: Error {}
        await #expect(throws: Abort.self) {
            try await environment.context.database.write { tx in
                try tx.insert(
                    Customer(id: "cus_rolledback", created: environment.clock.now, email: nil, metadata: [:])
                )
                throw Abort()
            }
        }
        #expect(try environment.count("customers") == 0)
        #expect(try environment.count("events") == 0)
    }

    @Test("Filters: type, several types, created; paging newest first")
    func filters() async throws {
        let environment = try TestEnvironment()
        let events = Events(context: environment.context)
        let card = try await environment.card("4242424242424242")
        _ = try await environment.pay(card.id)
        environment.clock.advance(by: 60)
        _ = try await environment.pay(try await environment.card("4242424242424242").id)
        let succeeded = try await events.list(types: ["payment_intent.succeeded"], created: nil, page: .init())
        #expect(succeeded.items.count == 2 && succeeded.items.allSatisfy { $0.type == "payment_intent.succeeded" })
        #expect(succeeded.items[0].created > succeeded.items[1].created)
        let two = try await events.list(
            types: ["charge.succeeded", "payment_intent.created"],
            created: nil,
            page: .init()
        )
        #expect(two.items.count == 4)
        let late = try await events.list(types: [], created: CreatedFilter(gte: environment.clock.now), page: .init())
        #expect(late.items.count == 3)
        let first = try await events.list(types: [], created: nil, page: .init(limit: 2))
        #expect(first.hasMore && first.items.count == 2)
        let rest = try await events.list(
            types: [],
            created: nil,
            page: .init(limit: 10, startingAfter: first.items[1].id)
        )
        #expect(rest.items.count == 4 && !rest.hasMore)
        #expect(Set((first.items + rest.items).map(\.id)).count == 6)
        await #expect(throws: PaymentError.self) { try await events.retrieve("evt_missing") }
        #expect(try await events.retrieve(first.items[0].id) == first.items[0])
    }

    @Test("The sweeper deletes events older than 30 days, and only those")
    func pruned() async throws {
        let environment = try TestEnvironment()
        _ = try await environment.customer()
        environment.clock.advance(by: Event.retention - 10)
        _ = try await environment.customer()
        environment.clock.advance(by: 20)
        let report = try await Sweeper(context: environment.context).sweep(now: environment.clock.now)
        #expect(report.eventsPruned == 1)
        #expect(try await Self.types(environment) == ["customer.created"])
    }

    @Test("A card set up with 3-D Secure: setup_intent.created, requires_action, succeeded; the card attached")
    func setupIntent() async throws {
        let environment = try TestEnvironment()
        let setups = SetupIntents(context: environment.context)
        let customer = try await environment.customer()
        let card = try await environment.card("4000002500003155")
        let waiting = try await setups.create(.init(customer: customer.id, paymentMethod: card.id, confirm: true))
        #expect(waiting.status == .requiresAction)
        let token = try #require(waiting.authenticationToken)
        let done = try await setups.authenticate(waiting.id, token: token, outcome: .complete)
        #expect(done.status == .succeeded)
        #expect(
            try await Self.types(environment) == [
                "customer.created", "setup_intent.created", "setup_intent.requires_action",
                "payment_method.attached", "setup_intent.succeeded",
            ]
        )
        // And a decline at setup is setup_failed
        let declined = try await environment.card("4000000000009995")
        await #expect(throws: PaymentError.self) {
            try await setups.create(.init(paymentMethod: declined.id, confirm: true))
        }
        #expect(try await Self.types(environment).suffix(2) == ["setup_intent.created", "setup_intent.setup_failed"])
    }
}
