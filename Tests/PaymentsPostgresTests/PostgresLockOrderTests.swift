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

    /// Sessions of the connection's database waiting for a row lock.
    static func lockWaits(on connection: PostgresConnection) async throws -> Int64 {
        try await PostgresCluster.integer(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            on: connection
        )
    }

    /// Waits until `count` sessions wait for a lock (or 10 s).
    static func waitForLockWaits(_ count: Int64, on connection: PostgresConnection) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try await lockWaits(on: connection) < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(try await lockWaits(on: connection) == count)
    }

    @Test("detaching a card while its customer is deleted waits for the delete, and never deadlocks with it")
    func detachBesideCustomerDelete() async throws {
        // Given a customer with an attached card, on PostgreSQL
        let settings = try await PostgresCluster.freshDatabase()
        let postgres = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            logger: PostgresCluster.logger
        )
        let store = CountingStore(postgres)
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
}
