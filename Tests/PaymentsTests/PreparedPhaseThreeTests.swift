import Foundation
import PaymentsCore
import PaymentsStore
import Synchronization
import TestSupport
import Testing

@testable import Payments

/// Phase three's JSON made ahead of its transaction (``PreparedSnapshots``, ``IdempotencyScope/prepare(_:)``): the
/// transaction writes the prepared bytes only for values equal to the ones they were made from, so what it stores is
/// what it would have made itself.
@Suite("Phase three's JSON prepared ahead")
struct PreparedPhaseThreeTests {
    /// A value the test and the code it drives share across tasks.
    final class Shared<Value: Sendable>: Sendable {
        private let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
        var current: Value { value.withLock { $0 } }
        func set(_ newValue: Value) { value.withLock { $0 = newValue } }
        func update(_ change: (inout Value) -> Void) { value.withLock { change(&$0) } }
    }

    /// A scope whose saved response names the intent's id, status and metadata, and counts its renders.
    static func scope(_ lease: IdempotencyLease, renders: Shared<Int>) -> IdempotencyScope {
        IdempotencyScope(lease: lease, expand: []) { outcome in
            guard case .paymentIntent(let bundle, let error, _) = outcome else {
                return SavedResponse(status: 500, body: [])
            }
            renders.update { $0 += 1 }
            return SavedResponse(status: error?.status ?? 200, body: Self.body(bundle.intent))
        }
    }

    /// The bytes ``scope(_:renders:)`` saves for `intent`.
    static func body(_ intent: PaymentIntent) -> [UInt8] {
        let metadata = intent.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Array("\(intent.id) \(intent.status.rawValue) \(metadata.joined(separator: ","))".utf8)
    }

    /// Creates and confirms a Visa payment under a new idempotency key; returns the intent and the key's scope.
    static func pay(_ environment: TestEnvironment, key: String, renders: Shared<Int>) async throws -> (
        PaymentIntent, IdempotencyScope
    ) {
        let lease = try await IdempotencyKeysTests.run(environment, key)
        let scope = Self.scope(lease, renders: renders)
        let intent = try await environment.idempotency.holding(lease) {
            try await environment.intents.create(
                .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true),
                scope: scope
            )
        }
        return (intent, scope)
    }

    /// The newest event of `type`.
    static func event(_ environment: TestEnvironment, _ type: String) async throws -> Event {
        let page = try await Events(context: environment.context).list(
            types: [type],
            created: nil,
            page: .init(limit: 1)
        )
        return try #require(page.items.first)
    }

    @Test("A snapshot is handed out only for a value equal to the one it was made from")
    func equalValuesOnly() {
        let intent = PaymentIntent(
            id: "pi_prepared",
            created: 1_767_225_600,
            amount: 2_000,
            currency: "usd",
            clientSecret: "pi_prepared_secret_x"
        )
        var changed = intent
        changed.metadata = ["order": "42"]
        let prepared = PreparedSnapshots(intent: (intent, Array("prepared".utf8)), charge: nil)
        #expect(prepared.snapshot(of: intent) == Array("prepared".utf8))
        #expect(prepared.snapshot(of: changed) == nil)
        #expect(prepared.snapshot(of: "pi_prepared") == nil)
        // Made from values, the snapshots are the ones the transaction would make
        #expect(PreparedSnapshots(intent: intent, charge: nil).snapshot(of: intent) == EventSnapshot.json(intent))
    }

    @Test("An approval stores the bytes phase three would make itself, rendered before its transaction")
    func approvalPreparedAhead() async throws {
        let environment = try TestEnvironment()
        let renders = Shared(0)
        let (intent, scope) = try await Self.pay(environment, key: "prepared-1", renders: renders)
        #expect(intent.status == PaymentIntentStatus.succeeded)
        // The saved response is the rendering of the intent as stored, rendered once (ahead of the transaction)
        let stored = try #require(await environment.database.read { tx in try tx.paymentIntent(intent.id) })
        #expect(scope.savedResponse == SavedResponse(status: 200, body: Self.body(stored)))
        #expect(renders.current == 1)
        // And the events' snapshots are the charge and the intent as stored
        let charge = try #require(await environment.charge(stored.latestCharge))
        #expect(try await Self.event(environment, "payment_intent.succeeded").snapshot == EventSnapshot.json(stored))
        #expect(try await Self.event(environment, "charge.succeeded").snapshot == EventSnapshot.json(charge))
    }

    @Test("An intent changed between phase one and phase three gets its own snapshot and response")
    func changedBetweenPhases() async throws {
        // Given a fault after the network's answer that changes the processing intent's metadata, as another
        // request (or process) could before phase three reads it
        let store = Shared<PaymentDatabase?>(nil)
        let environment = try TestEnvironment(
            faults: FaultInjector(armed: .afterNetwork) { _ in
                guard let database = store.current else { return }
                try await database.write { tx in
                    let page = try tx.paymentIntents(customer: nil, created: nil, page: .init(limit: 1))
                    guard var intent = page.items.first, intent.status == .processing else { return }
                    intent.metadata = ["changed": "between phases"]
                    try tx.update(intent, expecting: .processing)
                }
            }
        )
        store.set(environment.database)
        let renders = Shared(0)
        // When the payment runs
        let (intent, scope) = try await Self.pay(environment, key: "prepared-2", renders: renders)
        // Then phase three saved the response and the snapshot of the changed intent, not the prepared ones
        #expect(intent.metadata == ["changed": "between phases"])
        let stored = try #require(await environment.database.read { tx in try tx.paymentIntent(intent.id) })
        #expect(stored.status == PaymentIntentStatus.succeeded)
        #expect(stored.metadata == ["changed": "between phases"])
        #expect(scope.savedResponse == SavedResponse(status: 200, body: Self.body(stored)))
        #expect(renders.current == 2)
        #expect(try await Self.event(environment, "payment_intent.succeeded").snapshot == EventSnapshot.json(stored))
    }

    @Test("A create without confirm stores the created snapshot and the response made before its transaction")
    func createPreparedAhead() async throws {
        let environment = try TestEnvironment()
        let renders = Shared(0)
        let lease = try await IdempotencyKeysTests.run(environment, "prepared-3")
        let scope = Self.scope(lease, renders: renders)
        let intent = try await environment.idempotency.holding(lease) {
            try await environment.intents.create(
                .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", metadata: ["order": "7"]),
                scope: scope
            )
        }
        let stored = try #require(await environment.database.read { tx in try tx.paymentIntent(intent.id) })
        #expect(stored == intent)
        #expect(scope.savedResponse == SavedResponse(status: 200, body: Self.body(stored)))
        #expect(renders.current == 1)
        #expect(try await Self.event(environment, "payment_intent.created").snapshot == EventSnapshot.json(stored))
    }
}
