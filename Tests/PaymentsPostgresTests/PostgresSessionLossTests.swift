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
            (settings, postgres, store) = try await PostgresLockOrderTests.countingStore()
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

        /// An admin's session with an open transaction that ran `statement` (taking a lock), and a session of its own
        /// that watches `pg_stat_activity` (inside a transaction it would answer the same snapshot).
        func adminHolding(_ statement: String) async throws -> (admin: PostgresConnection, watcher: PostgresConnection)
        {
            let admin = try await settings.connect(id: 9, logger: PostgresCluster.logger)
            try await admin.query("BEGIN", logger: PostgresCluster.logger)
            try await admin.query(PostgresQuery(unsafeSQL: statement), logger: PostgresCluster.logger)
            return (admin, try await settings.connect(id: 10, logger: PostgresCluster.logger))
        }

        /// Ends the one session that waits for the admin's lock, waits until that backend is gone and the
        /// transaction it ran waits again on another session, then has the admin let go.
        ///
        /// (`pg_terminate_backend` only signals the backend: on a loaded machine it stays listed, still waiting, for
        /// a while, so a count of waiting sessions alone saw it, or it and its successor, and not the successor alone.)
        func endWaiterThenLetGo(admin: PostgresConnection, watcher: PostgresConnection) async throws {
            let waiting = "FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            let ended = try await PostgresCluster.integer("SELECT min(pid) \(waiting)", on: watcher)
            #expect(try await PostgresCluster.integer("SELECT count(*) \(waiting)", on: watcher) == 1)
            _ = try await watcher.query(
                PostgresQuery(unsafeSQL: "SELECT pg_terminate_backend(\(ended))"),
                logger: PostgresCluster.logger
            )
            let again = """
                SELECT count(*) \(waiting) AND pid <> \(ended)
                AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = \(ended))
                """
            let deadline = ContinuousClock.now + .seconds(60)
            while try await PostgresCluster.integer(again, on: watcher) != 1, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(try await PostgresCluster.integer(again, on: watcher) == 1)
            try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
            try await admin.close()
            try await watcher.close()
        }
    }

    @Test("a write whose session is ended while it waits runs again on another connection, once")
    func writeRunsAgain() async throws {
        // Given a customer whose row an admin's open transaction holds locked, and an update of it waiting there
        let env = try await Environment()
        let customers = Customers(context: env.context)
        let customer = try await customers.create(.init(email: "jenny@example.com"))
        let (admin, watcher) = try await env.adminHolding(
            "SELECT id FROM customers WHERE id = '\(customer.id)' FOR UPDATE"
        )
        let runsBefore = env.store.runs.withLock { $0 }
        let update = Task { try await customers.update(customer.id, .init(email: "jenny.rosen@example.com")) }
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)

        // When its session is ended, and then the admin lets go
        try await env.endWaiterThenLetGo(admin: admin, watcher: watcher)

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
        let (admin, watcher) = try await env.adminHolding(
            "SELECT pg_advisory_xact_lock_shared(\(PostgresTransaction.eventOrderLock))"
        )
        let list = Task { try await Events(context: env.context).list(types: [], created: nil, page: PageRequest()) }
        try await PostgresLockOrderTests.waitForLockWaits(1, on: watcher)

        // When its session is ended, and then the admin lets go
        try await env.endWaiterThenLetGo(admin: admin, watcher: watcher)

        // Then the list answered, with the customer's creation
        let page = try await list.value
        #expect(page.items.map(\.type) == ["customer.created"])
        #expect(page.items.first?.objectID == customer.id)
        try await env.postgres.close()
    }
}
