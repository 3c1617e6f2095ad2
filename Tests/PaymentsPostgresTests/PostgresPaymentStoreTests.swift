import Foundation
import PaymentsCore
import PostgresNIO
import Synchronization
import TestSupport
import Testing

@testable import PaymentsPostgres

#if canImport(Glibc)
    import Glibc
#endif

/// What the PostgreSQL store does beyond the conformance suite: retrying a transaction PostgreSQL refuses, never
/// reporting an unfinished commit as done, errors in store-neutral terms, one snapshot per read, readiness.
@Suite("PostgreSQL store", .postgresCluster)
struct PostgresPaymentStoreTests {
    static func open(_ settings: PostgresSettings) async throws -> PostgresPaymentStore {
        try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            logger: PostgresCluster.logger
        )
    }

    /// Two writes that each lock one customer, wait until the other has locked the other, then lock it too.
    final class Crossing: Sendable {
        let locked = Mutex<Set<String>>([])
        let counts = Mutex((attempts: 0, commits: 0, rollbacks: 0))

        func run(_ store: PostgresPaymentStore, _ first: String, _ second: String) async throws {
            try await store.write { tx in
                self.counts.withLock { $0.attempts += 1 }
                tx.afterCommit { self.counts.withLock { $0.commits += 1 } }
                tx.onRollback { self.counts.withLock { $0.rollbacks += 1 } }
                guard var mine = try tx.customer(first) else { throw Missing() }
                self.locked.withLock { _ = $0.insert(first) }
                let deadline = Date().addingTimeInterval(5)
                while !self.locked.withLock({ $0.contains(second) }), Date() < deadline { usleep(2_000) }
                guard var theirs = try tx.customer(second) else { throw Missing() }
                mine.description = (mine.description ?? "") + first
                theirs.description = (theirs.description ?? "") + first
                try tx.update(mine)
                try tx.update(theirs)
            }
        }
    }

    /// A customer the test wrote is not there.
    struct Missing: Error {}

    @Test("a deadlocked transaction runs again: its first attempt's rollback actions run, commit actions once each")
    func deadlockRetried() async throws {
        // Given two customers, and two writes that lock them in opposite orders
        let store = try await Self.open(try await PostgresCluster.freshDatabase())
        try await store.write { tx in
            try tx.insert(Customer(id: "cus_a", created: 1))
            try tx.insert(Customer(id: "cus_b", created: 1))
        }
        let crossing = Crossing()
        // When both run at once (PostgreSQL breaks the deadlock by refusing one)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await crossing.run(store, "cus_a", "cus_b") }
            group.addTask { try await crossing.run(store, "cus_b", "cus_a") }
            try await group.waitForAll()
        }
        // Then both committed once, after at least one refused attempt; every refused attempt rolled back (a rerun
        // can deadlock again: the survivor, woken by the refused one's rollback, re-takes the row's lock only once it
        // runs, and the rerun may take it first)
        let seen = crossing.counts.withLock { $0 }
        #expect(seen.commits == 2 && seen.rollbacks >= 1 && seen.attempts == seen.commits + seen.rollbacks, "\(seen)")
        let descriptions = try await store.read { tx in
            [try tx.customer("cus_a")?.description, try tx.customer("cus_b")?.description]
        }
        #expect(descriptions.allSatisfy { $0?.count == "cus_acus_b".count }, "\(descriptions)")
        try await store.close()
    }

    @Test("a transaction stalled while it holds a row lock is ended at the idle limit: other instances go on")
    func stalledTransactionEnded() async throws {
        // Given two instances of the store on one database, and a customer
        let settings = try await PostgresCluster.freshDatabase()
        let stalled = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            idleTransactionTimeout: .seconds(2),
            logger: PostgresCluster.logger
        )
        let other = try await Self.open(settings)
        try await stalled.write { tx in try tx.insert(Customer(id: "cus_held", created: 1)) }

        // When one instance locks the customer and stops answering inside its transaction (as a process stopped
        // with SIGSTOP), until the other instance's write of that customer is done, or 30 s
        let locked = Mutex(false)
        let otherDone = Mutex(false)
        let runs = Mutex(0)
        let holder = Task {
            try await stalled.write { tx in
                // (as the use cases' bodies decide: on the row as it is now, so a body run again decides again)
                guard var customer = try tx.customer("cus_held") else { throw Missing() }
                runs.withLock { $0 += 1 }
                locked.withLock { $0 = true }
                let deadline = Date().addingTimeInterval(30)
                while !otherDone.withLock({ $0 }), Date() < deadline { usleep(10_000) }
                guard customer.description == nil else { return }
                customer.description = "stalled"
                try tx.update(customer)
            }
        }
        while !locked.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        let started = ContinuousClock.now
        try await other.write { tx in
            guard var customer = try tx.customer("cus_held") else { throw Missing() }
            customer.description = "other"
            try tx.update(customer)
        }
        let waited = ContinuousClock.now - started
        otherDone.withLock { $0 = true }

        // Then the other's write went on once PostgreSQL ended the stalled session, long before the stall ended; the
        // stalled transaction's statement failed when it woke, its session gone and its run uncommitted, and it ran
        // again on another connection (a session ended before its COMMIT), deciding on the other's change
        #expect(waited < .seconds(20), "\(waited)")
        try await holder.value
        #expect(runs.withLock { $0 } == 2)
        let description = try await other.read { tx in try tx.customer("cus_held")?.description }
        #expect(description == "other")
        try await stalled.close()
        try await other.close()
    }

    @Test("a body that swallows a failed statement does not commit: COMMIT answered ROLLBACK is an error")
    func swallowedFailureIsNotCommitted() async throws {
        let store = try await Self.open(try await PostgresCluster.freshDatabase())
        try await store.write { tx in try tx.insert(Customer(id: "cus_one", created: 1)) }
        let committed = Mutex(false)
        // When a write inserts a customer, then a duplicate whose failure it ignores
        await #expect(throws: (any Error).self) {
            try await store.write { tx in
                tx.afterCommit { committed.withLock { $0 = true } }
                try tx.insert(Customer(id: "cus_two", created: 1))
                try? tx.insert(Customer(id: "cus_one", created: 1))
            }
        }
        // Then the write failed, ran no commit action and left nothing
        #expect(!committed.withLock { $0 })
        #expect(try await store.read { tx in try tx.customer("cus_two") } == nil)
        try await store.close()
    }

    @Test("a unique violation surfaces as StoreError.constraintViolated naming the constraint")
    func constraintError() async throws {
        let store = try await Self.open(try await PostgresCluster.freshDatabase())
        try await store.write { tx in try tx.insert(Customer(id: "cus_one", created: 1)) }
        do {
            try await store.write { tx in try tx.insert(Customer(id: "cus_one", created: 2)) }
            Issue.record("a second customer with one id was stored")
        } catch let error as StoreError {
            guard case .constraintViolated(let constraint, let sqlState) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(sqlState == "23505" && constraint == "customers_pkey", "\(error)")
        }
        try await store.close()
    }

    @Test("the store's connections are named payments in pg_stat_activity, where an admin counts and ends them")
    func connectionsNamed() async throws {
        let settings = try await PostgresCluster.freshDatabase()
        let store = try await Self.open(settings)
        try await store.write { tx in try tx.insert(Customer(id: "cus_named", created: 1)) }
        let admin = try await settings.connect(id: 11, logger: PostgresCluster.logger)
        let named = try await PostgresCluster.integer(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                + "AND application_name = 'payments'",
            on: admin
        )
        // (the pool's connection, and the admin's own, made by this package's connect, which names its too)
        #expect(named >= 1, "\(named) connections named payments")
        #expect(
            try await PostgresCluster.integer(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = pg_backend_pid() AND application_name = 'payments'",
                on: admin
            ) == 1
        )
        try await admin.close()
        try await store.close()
    }

    @Test("a read is one snapshot: a commit between its statements is not seen by the second")
    func readIsOneSnapshot() async throws {
        let store = try await Self.open(try await PostgresCluster.freshDatabase())
        try await store.write { tx in try tx.insert(Customer(id: "cus_first", created: 1)) }
        let page = PageRequest(limit: 10)
        let runs = Mutex(0)
        let (before, after, written) = try await store.read { tx in
            let run = runs.withLock { runs in
                runs += 1
                return runs
            }
            let before = try tx.customers(email: nil, created: nil, page: page).items.map(\.id)
            // Another transaction commits a customer meanwhile (this body's thread waits for it).
            let written = "cus_during_\(run)"
            let done = DispatchSemaphore(value: 0)
            Task {
                try? await store.write { tx in try tx.insert(Customer(id: written, created: 2)) }
                done.signal()
            }
            done.wait()
            let after = try tx.customers(email: nil, created: nil, page: page).items.map(\.id)
            return (before, after, written)
        }
        #expect(after == before && !after.contains(written), "\(before) then \(after)")
        // The first run, outside a transaction, stopped at its second statement; the second ran in one snapshot.
        #expect(runs.withLock { $0 } == 2)
        let later = try await store.read { tx in try tx.customers(email: nil, created: nil, page: page).items }
        #expect(later.count == 3)
        try await store.close()
    }

    /// The isolation level the statement runs under, as PostgreSQL reports it.
    static func isolation(_ tx: any StoreTransaction) throws -> String {
        let postgres = try #require(tx as? PostgresTransaction)
        let row = try #require(try postgres.query("SHOW transaction_isolation").rows.first)
        return try row.decode(String.self)
    }

    @Test("a read of one statement runs alone, without BEGIN and COMMIT; a second statement runs the body again in one")
    func oneStatementReadRunsAlone() async throws {
        let store = try await Self.open(try await PostgresCluster.freshDatabase())
        // Outside BEGIN ISOLATION LEVEL REPEATABLE READ the statement has the server's default level.
        let seen = Mutex<[[String]]>([])
        let one = try await store.read { tx in
            let level = try Self.isolation(tx)
            seen.withLock { $0.append([level]) }
            return level
        }
        #expect(one == "read committed" && seen.withLock { $0 } == [["read committed"]])

        seen.withLock { $0 = [] }
        let two = try await store.read { tx in
            let first = try Self.isolation(tx)
            let second = try Self.isolation(tx)
            seen.withLock { $0.append([first, second]) }
            return [first, second]
        }
        #expect(two == ["repeatable read", "repeatable read"] && seen.withLock { $0 } == [two])

        // A body that swallows the refusal of its second statement still runs again, and only that run's result
        // counts.
        let runs = Mutex(0)
        let swallowed = try await store.read { tx in
            runs.withLock { $0 += 1 }
            _ = try Self.isolation(tx)
            return (try? Self.isolation(tx)) ?? "refused"
        }
        #expect(swallowed == "repeatable read" && runs.withLock { $0 } == 2)
        try await store.close()
    }

    @Test("ready once every migration is applied; not ready when one is missing from the database")
    func readiness() async throws {
        let settings = try await PostgresCluster.freshDatabase()
        let store = try await Self.open(settings)
        try await store.checkReady()
        #expect(try await store.appliedMigrations().count == 16)
        _ = try await PostgresCluster.withConnection(settings) { connection in
            try await connection.query(
                "DELETE FROM schema_migrations WHERE name = '0010_idempotency_keys_rowid'",
                logger: PostgresCluster.logger
            )
        }
        await #expect(throws: StoreReadinessProblem.migrationsPending) { try await store.checkReady() }
        try await store.close()
    }

    @Test("not ready on a server that takes no writes, where a transaction that changes nothing still commits")
    func notReadyWhenReadOnly() async throws {
        // Given a ready store
        let settings = try await PostgresCluster.freshDatabase()
        let store = try await Self.open(settings)
        try await store.checkReady()

        // When its database is made read-only, as managed services do when the disk is nearly full
        try await Self.setReadOnly(true, settings, store)

        // Then it is not ready (it was: the empty transaction it committed commits there, while every payment fails)
        try await store.write { _ in () }
        let error = await #expect(throws: StoreError.self) { try await store.checkReady() }
        #expect("\(String(describing: error))".contains("transaction_read_only is on"))

        // and once the database takes writes again, it is
        try await Self.setReadOnly(false, settings, store)
        try await store.checkReady()
        try await store.close()
    }

    @Test("a database the migrator cannot prepare is refused with PostgreSQL's reason, not PSQLError's generic line")
    func unpreparableDatabaseSaysWhy() async throws {
        // Given a new database that takes no writes
        let settings = try await PostgresCluster.freshDatabase()
        _ = try await PostgresCluster.withConnection(settings) { connection in
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "ALTER DATABASE \(SQLIdentifier.quoted(settings.database)) "
                        + "SET default_transaction_read_only = on"
                ),
                logger: PostgresCluster.logger
            )
        }
        // When the store opens it, migrating
        let error = await #expect(throws: StoreError.self) { try await Self.open(settings) }
        // Then the error says why (it said "PSQLError – Generic description to prevent accidental leakage ...")
        let said = "\(String(describing: error))"
        #expect(said.contains("read-only transaction") && said.contains("cannot prepare the database"), "\(said)")
    }

    @Test(
        "a write that waits longer than the lock timeout for a lock someone else holds fails as locked, not as a hang"
    )
    func lockHeldTooLong() async throws {
        // Given a customer an admin's open transaction holds locked
        let settings = try await PostgresCluster.freshDatabase()
        let store = try await Self.open(settings)
        try await store.write { tx in try tx.insert(Customer(id: "cus_locked", created: 1)) }
        let admin = try await settings.connect(id: 9, logger: PostgresCluster.logger)
        try await admin.query("BEGIN", logger: PostgresCluster.logger)
        try await admin.query(
            "SELECT id FROM customers WHERE id = 'cus_locked' FOR UPDATE",
            logger: PostgresCluster.logger
        )

        // When the store writes to it
        let started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) {
            try await store.write { tx in
                guard var customer = try tx.customer("cus_locked") else { throw Missing() }
                customer.description = "changed"
                try tx.update(customer)
            }
        }
        // Then it fails as a lock held too long (Stripe's 429 lock_timeout through the API) once the timeout is over,
        // where it waited as long as the lock was held, and changed nothing
        let waited = ContinuousClock.now - started
        #expect(error.map { if case .locked = $0 { true } else { false } } == true, "\(String(describing: error))")
        #expect(waited >= PostgresPaymentStore.lockTimeout - .milliseconds(100) && waited < .seconds(30), "\(waited)")
        try await admin.query("ROLLBACK", logger: PostgresCluster.logger)
        try await admin.close()
        #expect(try await store.read { tx in try tx.customer("cus_locked")?.description } == nil)
        try await store.close()
    }

    /// Sets `settings`' database's `default_transaction_read_only`, then ends the store's sessions so that its pool's
    /// new ones start with it, and waits until the store reads again.
    static func setReadOnly(_ on: Bool, _ settings: PostgresSettings, _ store: PostgresPaymentStore) async throws {
        let database = SQLIdentifier.quoted(settings.database)
        _ = try await PostgresCluster.withConnection(settings) { connection in
            // (a session of a read-only database is read-only itself, and could not set it back)
            try await connection.query("SET default_transaction_read_only = off", logger: PostgresCluster.logger)
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "ALTER DATABASE \(database) "
                        + (on ? "SET default_transaction_read_only = on" : "RESET ALL")
                ),
                logger: PostgresCluster.logger
            )
            try await connection.query(
                PostgresQuery(
                    unsafeSQL: "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        + "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ),
                logger: PostgresCluster.logger
            )
        }
        // The pool finds its ended sessions as it lends them: 20 lends in a row that see the setting, and every
        // session it lends from then on is a new one.
        var seen = 0
        for _ in 0..<400 where seen < 20 {
            let setting = try? await store.transaction(isWrite: true, hooks: TransactionHooks()) { tx in
                try tx.fetchOne("SELECT current_setting('default_transaction_read_only') AS value", []) {
                    try $0.string("value")
                }
            }
            if setting == (on ? "on" : "off") { seen += 1 } else { seen = 0 }
        }
        #expect(seen == 20, "the store's sessions did not pick up default_transaction_read_only = \(on)")
    }

    @Test("an admin's report view with dates, times, arrays and JSON reads them as PostgreSQL writes them as text")
    func reportViewOfOtherTypes() async throws {
        // Given an admin's own view with columns of types the shipped views do not use (they printed wire bytes)
        // When it is run
        let report = try await Self.report(
            """
            CREATE VIEW report_mixed AS SELECT TIMESTAMP '2026-12-03 10:00:00' AS at, DATE '2026-12-03' AS day,
            ARRAY[1, 2] AS list, '{"a": 1}'::jsonb AS doc, INTERVAL '1 day' AS span, 7 AS n, 2.5::float8 AS r,
            TRUE AS yes, 'x'::varchar AS t, NULL::timestamp AS missing, 12::numeric AS whole
            """,
            named: "mixed"
        )
        // Then each cell reads as its text, numbers and booleans as themselves, in the view's column order
        #expect(report.columns == ["at", "day", "list", "doc", "span", "n", "r", "yes", "t", "missing", "whole"])
        #expect(
            report.rows == [
                [
                    .text("2026-12-03 10:00:00"), .text("2026-12-03"), .text("{1,2}"), .text(#"{"a": 1}"#),
                    .text("1 day"), .integer(7), .real(2.5), .integer(1), .text("x"), .null, .integer(12),
                ]
            ],
            "\(report.rows)"
        )
    }

    /// The report `name` of a new database after `view` (its `CREATE VIEW report_...`) made it.
    static func report(_ view: String, named name: String) async throws -> ReportTable {
        let settings = try await PostgresCluster.freshDatabase()
        let store = try await Self.open(settings)
        _ = try await PostgresCluster.withConnection(settings) { connection in
            try await connection.query(PostgresQuery(unsafeSQL: view), logger: PostgresCluster.logger)
        }
        let report = try await store.report(name)
        try await store.close()
        return report
    }

    @Test("an admin's view in major units reads its decimals exactly, and as SQLite's division would (a real)")
    func reportViewOfDecimals() async throws {
        let report = try await Self.report(
            """
            CREATE VIEW report_major AS SELECT 12799 / 100.0 AS eur, 24300 / 100.0 AS usd, 188.64::numeric AS given,
            12.3::float4 AS single, (-5)::numeric AS negative, 'NaN'::numeric AS nothing,
            123456789012345678901234567890::numeric AS huge, 0.000001::numeric AS tiny
            """,
            named: "major"
        )
        // They read 127.99000000000001 (through a binary double), 243 (an integer, where SQLite has 243.0),
        // 188.64000000000001 and 12.300000190734863
        #expect(
            report.rows == [
                [
                    .real(127.99), .real(243.0), .real(188.64), .real(12.3), .integer(-5), .text("NaN"),
                    .real(1.2345678901234568e29), .real(0.000001),
                ]
            ],
            "\(report.rows)"
        )
    }

    /// Hands its value to whichever of two threads gives one first: a statement's outcome, or a deadline's nil.
    final class FirstAnswer: Sendable {
        private let waiter = Mutex<CheckedContinuation<Result<Int, any Error>?, Never>?>(nil)

        /// The outcome of `statement`, run on a thread of its own, or nil when it has not come within `seconds`.
        static func of(_ statement: @escaping @Sendable () throws -> Int, within seconds: UInt32) async
            -> Result<Int, any Error>?
        {
            let first = FirstAnswer()
            return await withCheckedContinuation { continuation in
                first.waiter.withLock { $0 = continuation }
                Thread { first.answer(Result { try statement() }) }.start()
                Thread {
                    sleep(seconds)
                    first.answer(nil)
                }.start()
            }
        }

        private func answer(_ outcome: Result<Int, any Error>?) {
            waiter.withLock { $0.take() }?.resume(returning: outcome)
        }
    }

    @Test("a statement on a connection that closed fails with a store error instead of waiting forever")
    func statementOnClosedConnection() async throws {
        // Given a connection that has closed (as one the database drops under the pool before the pool sees it)
        let settings = try await PostgresCluster.freshDatabase()
        let connection = try await settings.connect(id: 7, logger: PostgresCluster.logger)
        try await connection.close()
        // When a transaction's body sends a statement on it, on a thread of its own as the store's bodies run
        let started = ContinuousClock.now
        let outcome = await FirstAnswer.of(
            {
                let tx = PostgresTransaction(
                    connection: connection,
                    hooks: TransactionHooks(),
                    isWrite: true,
                    logger: PostgresCluster.logger
                )
                return try tx.execute("SELECT 1")
            },
            within: 30
        )
        // Then the statement fails at once with the store's error for a lost database (it used to wait forever:
        // PostgresNIO's write to the closed channel failed where nobody heard it)
        guard case .failure(let error) = outcome, case .unavailable = error as? StoreError else {
            Issue.record("expected StoreError.unavailable within 30 s, got \(String(describing: outcome))")
            return
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test("a database that stops answering fails transactions within the lease timeout; nothing hangs")
    func unreachable() async throws {
        // Given a store on a cluster of its own, which then stops
        let server = try await PostgresServer.started()
        let settings = try PostgresSettings(url: server.url(database: try await server.newDatabase()))
        let store = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            leaseTimeout: .seconds(2),
            logger: PostgresCluster.logger
        )
        try await store.write { tx in try tx.insert(Customer(id: "cus_before", created: 1)) }
        server.stop()
        // When a write and a read are asked for
        let started = ContinuousClock.now
        await #expect(throws: StoreError.self) {
            try await store.write { tx in try tx.insert(Customer(id: "cus_after", created: 1)) }
        }
        await #expect(throws: StoreError.self) { try await store.read { tx in try tx.customer("cus_before") } }
        // Then both failed with a store error, each within about the timeout
        #expect(ContinuousClock.now - started < .seconds(10))
        try await store.close()
    }
}
