import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import PostgresNIO
import TestSupport
import Testing

@testable import PaymentsPostgres

/// A transaction whose PostgreSQL session ends under it before its COMMIT (the connection drops, the backend is
/// ended by `pg_terminate_backend` or a restart) ended uncommitted, so the store runs it again on another
/// connection; before, the request using that connection failed although nothing of it had been done.
///
/// The session is ended while it waits for a lock an admin's open transaction holds: a transaction that has begun and
/// not committed, found in `pg_stat_activity`.
@Suite("PostgreSQL sessions ended under a transaction", .postgresCluster)
struct PostgresSessionLossTests {
    /// A store on a fresh database, counting its writes' runs, and the use cases on it.
    struct Environment {
        let settings: PostgresSettings
        let postgres: PostgresPaymentStore
        let store: PostgresLockOrderTests.CountingStore
        let context: PaymentsContext

        init() async throws {
            settings = try await PostgresCluster.freshDatabase()
            postgres = try await PostgresPaymentStore.open(
                settings: settings,
                migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
                logger: PostgresCluster.logger
            )
            store = PostgresLockOrderTests.CountingStore(postgres)
            let folder = try TestPaths.temporaryFolder()
            context = PaymentsContext(
                database: store,
                vault: try CardVault(base64Key: TestEnvironment.vaultKey),
                network: try TestModeCardNetwork(
                    ledgerPath: folder.appendingPathComponent("card-network.sqlite").path
                ),
                clock: TestClock().unixClock,
                ids: .secure,
                settings: .init(confirmationWindow: 3600, publicBaseURL: TestEnvironment.baseURL)
            )
        }

        /// Ends every session of the database that waits for a lock, from a session of its own; how many it ended.
        func terminateLockWaiters(on watcher: PostgresConnection) async throws -> Int64 {
            try await PostgresCluster.integer(
                """
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'
                """,
                on: watcher
            )
        }
    }

    @Test("a write whose session is ended while it waits runs again on another connection, once")
    func writeRunsAgain() async throws {
        // Given a customer whose row an admin's open transaction holds locked, and an update of it waiting there
        let env = try await Environment()
        let customers = Customers(context: env.context)
        let customer = try await customers.create(.init(email: "jenny@example.com"))
        let admin = try await env.settings.connect(id: 9, logger: PostgresCluster.logger)
        try await admin.query("BEGIN", logger: PostgresCluster.logger)
        try await admin.query(
            "SELECT id FROM customers WHERE id = \(customer.id) FOR UPDATE",
            logger: PostgresCluster.logger
        )
        let watcher = try await env.settings.connect(id: 10, logger: PostgresCluster.logger)
        let runsBefore = env.store.runs.withLock { $0 }
        let update = Task { try await customers.update(customer.id, .init(email: "jenny.rosen@example.com")) }
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)

        // When its session is ended, and then the admin lets go
        #expect(try await env.terminateLockWaiters(on: watcher) == 1)
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)
        try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
        try await admin.close()
        try await watcher.close()

        // Then the update succeeded, its body having run twice (the ended run and the one after it), and is stored
        // once: one update event. It used to fail with the ended session's error.
        let updated = try await update.value
        #expect(updated.email == "jenny.rosen@example.com")
        #expect(env.store.runs.withLock { $0 } - runsBefore == 2)
        let stored = try await env.context.database.read { tx in try tx.customer(customer.id) }
        #expect(stored?.email == "jenny.rosen@example.com")
        let events = try await Events(context: env.context).list(
            types: ["customer.updated"],
            created: nil,
            page: PageRequest()
        )
        #expect(events.items.count == 1)
        try await env.postgres.close()
    }

    @Test("a read whose session is ended while it waits runs again on another connection")
    func readRunsAgain() async throws {
        // Given an admin's open transaction holding the events' order lock shared, as a write of events does until
        // its commit, and a list of events waiting for it (the list takes it exclusively)
        let env = try await Environment()
        let customer = try await Customers(context: env.context).create(.init(email: "jenny@example.com"))
        let admin = try await env.settings.connect(id: 9, logger: PostgresCluster.logger)
        try await admin.query("BEGIN", logger: PostgresCluster.logger)
        try await admin.query(
            "SELECT pg_advisory_xact_lock_shared(\(PostgresTransaction.eventOrderLock))",
            logger: PostgresCluster.logger
        )
        let watcher = try await env.settings.connect(id: 10, logger: PostgresCluster.logger)
        let list = Task { try await Events(context: env.context).list(types: [], created: nil, page: PageRequest()) }
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)

        // When its session is ended, and then the admin lets go
        #expect(try await env.terminateLockWaiters(on: watcher) == 1)
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)
        try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
        try await admin.close()
        try await watcher.close()

        // Then the list answered, with the customer's creation
        let page = try await list.value
        #expect(page.items.map(\.type) == ["customer.created"])
        #expect(page.items.first?.objectID == customer.id)
        try await env.postgres.close()
    }
}
