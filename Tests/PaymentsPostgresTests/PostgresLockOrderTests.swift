import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@testable import PaymentsPostgres

/// The order in which the use cases lock rows on PostgreSQL: two writes that lock the same rows in opposite orders
/// deadlock, and PostgreSQL breaks a deadlock only after `deadlock_timeout` (1 s by default), refusing one of them,
/// which the store then runs again.
@Suite("PostgreSQL lock order", .postgresCluster)
struct PostgresLockOrderTests {
    /// A store that counts how many times the bodies of its writes ran: a write PostgreSQL refused (a deadlock) runs
    /// its body again.
    final class CountingStore: PaymentStore {
        let base: PostgresPaymentStore
        let runs = Mutex(0)

        init(_ base: PostgresPaymentStore) { self.base = base }

        func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
            try await base.write { tx in
                self.runs.withLock { $0 += 1 }
                return try body(tx)
            }
        }

        func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
            try await base.read(body)
        }
    }

    /// A store on a fresh database of the cluster, and the same counting its writes' runs.
    static func countingStore() async throws -> (PostgresSettings, PostgresPaymentStore, CountingStore) {
        let settings = try await PostgresCluster.freshDatabase()
        let postgres = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            logger: PostgresCluster.logger
        )
        return (settings, postgres, CountingStore(postgres))
    }

    /// Sessions of the connection's database waiting for a row lock.
    static func lockWaits(on connection: PostgresConnection) async throws -> Int64 {
        try await PostgresCluster.integer(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            on: connection
        )
    }

    /// Waits until `count` sessions wait for a lock (or 60 s, a margin for a loaded machine).
    static func waitForLockWaits(_ count: Int64, on connection: PostgresConnection) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await lockWaits(on: connection) < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await lockWaits(on: connection) == count)
    }

    @Test("detaching a card while its customer is deleted waits for the delete, and never deadlocks with it")
    func detachBesideCustomerDelete() async throws {
        // Given a customer with an attached card, on PostgreSQL
        let (settings, postgres, store) = try await Self.countingStore()
        let folder = try TestPaths.temporaryFolder()
        let context = PaymentsContext(
            database: store,
            vault: try CardVault(base64Key: TestEnvironment.vaultKey),
            network: try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("card-network.sqlite").path),
            clock: TestClock().unixClock,
            ids: .secure,
            settings: .init(confirmationWindow: 3600, publicBaseURL: TestEnvironment.baseURL)
        )
        let customers = Customers(context: context)
        let paymentMethods = PaymentMethods(context: context)
        let customer = try await customers.create(.init(email: "jenny@example.com"))
        let card = try await paymentMethods.create(
            .init(card: .init(number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123"))
        )
        _ = try await paymentMethods.attach(card.id, customer: customer.id)

        // When an admin's open transaction holds the customer locked, the customer's delete waits for it, then the
        // card's detach starts (both queue on the customer's row, the delete first), and the admin lets go
        let admin = try await settings.connect(id: 9, logger: PostgresCluster.logger)
        try await admin.query("BEGIN", logger: PostgresCluster.logger)
        try await admin.query(
            "SELECT id FROM customers WHERE id = \(customer.id) FOR UPDATE",
            logger: PostgresCluster.logger
        )
        // (watched from a session of its own: inside a transaction pg_stat_activity answers the same snapshot)
        let watcher = try await settings.connect(id: 10, logger: PostgresCluster.logger)
        let runsBefore = store.runs.withLock { $0 }
        let delete = Task { try await customers.delete(customer.id) }
        try await Self.waitForLockWaits(1, on: watcher)
        let detach = Task { try await paymentMethods.detach(card.id) }
        try await Self.waitForLockWaits(2, on: watcher)
        try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
        try await admin.close()
        try await watcher.close()

        // Then the delete ran first and detached the card, and the detach found it detached (Stripe's 400): each
        // write's body ran once. The detach used to lock the card before the customer, the delete the customer
        // before its cards: PostgreSQL found them deadlocked after a second and refused one, which ran again.
        let deleted = try await delete.value
        #expect(deleted.deleted)
        let refused = await #expect(throws: PaymentError.self) { try await detach.value }
        #expect(refused?.code == "payment_method_unexpected_state", "\(String(describing: refused))")
        #expect(store.runs.withLock { $0 } - runsBefore == 2)
        let stored = try await context.database.read { tx in try tx.paymentMethod(card.id) }
        #expect(stored?.customer == nil && stored?.reusable == false)
        try await postgres.close()
    }

    @Test("recording a network's answer beside a confirm of the same intent on another instance never deadlocks")
    func phaseThreeBesideConfirmElsewhere() async throws {
        // Given two instances' use cases on one database (each with its own attempt registry), and a payment on the
        // first whose network answered, held there while an admin's open transaction locks its pending charge
        let (settings, postgres, store) = try await Self.countingStore()
        let folder = try TestPaths.temporaryFolder()
        let network = try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("card-network.sqlite").path)
        let admin = try await settings.connect(id: 9, logger: PostgresCluster.logger)
        let watcher = try await settings.connect(id: 10, logger: PostgresCluster.logger)
        let held = Mutex<(intent: String, runs: Int)?>(nil)
        let faults = FaultInjector(armed: .afterNetwork) { _ in
            try await admin.query("BEGIN", logger: PostgresCluster.logger)
            let rows = try await admin.query(
                "SELECT payment_intent FROM charges WHERE status = 'pending' FOR UPDATE",
                logger: PostgresCluster.logger
            )
            var intent = ""
            for try await id in rows.decode(String.self) { intent = id }
            held.withLock { $0 = (intent, store.runs.withLock { $0 }) }
        }
        func instance(_ faults: FaultInjector) throws -> PaymentIntents {
            PaymentIntents(
                context: PaymentsContext(
                    database: store,
                    vault: try CardVault(base64Key: TestEnvironment.vaultKey),
                    network: network,
                    clock: TestClock().unixClock,
                    ids: .secure,
                    settings: .init(confirmationWindow: 3600, publicBaseURL: TestEnvironment.baseURL),
                    faults: faults
                )
            )
        }
        let (first, second) = (try instance(faults), try instance(.inert))
        let payment = Task {
            try await first.create(.init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true))
        }
        try await Self.waitForLockWaits(1, on: watcher)
        let (intentID, runsBefore) = try #require(held.withLock { $0 })

        // When a confirm of the same intent starts on the second instance (which settles a pending attempt it finds
        // as one left by a crash), and the admin lets go
        let confirm = Task { try await second.confirm(intentID, .init()) }
        try await Self.waitForLockWaits(2, on: watcher)
        try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
        try await admin.close()
        try await watcher.close()

        // Then the payment succeeded, charged once, and each write's body ran once. Phase three used to lock the
        // charge, then the intent, while the confirm held the intent and asked for the charge: PostgreSQL found them
        // deadlocked after a second and refused one, which ran again.
        let paid = try await payment.value
        #expect(paid.status == .succeeded)
        _ = await confirm.result
        #expect(store.runs.withLock { $0 } - runsBefore == 2)
        let charges = try await postgres.read { tx in
            try tx.charges(customer: nil, paymentIntent: intentID, created: nil, page: PageRequest())
        }
        #expect(charges.items.map(\.status) == [.succeeded])
        try await postgres.close()
    }
}
