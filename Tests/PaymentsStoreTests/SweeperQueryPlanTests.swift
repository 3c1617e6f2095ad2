import Foundation
import GRDB
import PaymentsStore
import TestSupport
import Testing

/// Each sweeper rule's query searches its partial index and scans no table, so a pass costs what is due.
@Suite("Sweeper query plans")
struct SweeperQueryPlanTests {
    /// Rows of each kind the populated database holds: enough for SQLite's statistics to matter.
    static let bulkRows = 5_000

    /// Checks one query's plan: a search of the rule's index and no full scan of anything.
    static func expectIndexed(_ plan: [String], _ query: SweeperQuery) {
        let usesIndex = plan.contains { line in
            line.hasPrefix("SEARCH \(query.table) ")
                && (line.contains("USING INDEX \(query.index) ")
                    || line.contains("USING COVERING INDEX \(query.index) "))
        }
        #expect(usesIndex, "\(query.rawValue) does not search \(query.index): \(plan)")
        #expect(!plan.contains { $0.hasPrefix("SCAN") }, "\(query.rawValue) scans: \(plan)")
        #expect(!plan.contains { $0.contains("SCAN payment_intents") }, "\(query.rawValue) scans: \(plan)")
    }

    @Test("The index each query names exists in the migrated schema", arguments: SweeperQuery.allCases)
    func indexExists(_ query: SweeperQuery) throws {
        let environment = try TestEnvironment()
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: environment.database.path, configuration: configuration)
        let table = try queue.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT tbl_name FROM sqlite_master WHERE type = 'index' AND name = ?",
                arguments: [query.index]
            )
        }
        #expect(table == query.table)
    }

    @Test("On a fresh database each query searches its index", arguments: SweeperQuery.allCases)
    func freshDatabase(_ query: SweeperQuery) async throws {
        let environment = try TestEnvironment()
        Self.expectIndexed(try await environment.database.queryPlan(query), query)
    }

    @Test(
        "With thousands of rows and ANALYZE statistics each query still searches its index",
        arguments: SweeperQuery.allCases
    )
    func populatedDatabase(_ query: SweeperQuery) async throws {
        // Given a database mostly of rows no rule wants, and statistics about them
        let environment = try TestEnvironment()
        try Self.populate(environment.database.path)
        // When SQLite plans the query, then it still searches the partial index
        Self.expectIndexed(try await environment.database.queryPlan(query), query)
    }

    /// Fills the tables with `bulkRows` rows each, a few of them due, and runs ANALYZE.
    static func populate(_ path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO payment_intents (id, created, amount, currency, status, capture_method,
                        confirmation_method, client_secret, amount_received, amount_capturable, succeeded_at,
                        authorized_at, attempt_expires_at)
                    SELECT 'pi_bulk' || i, 1000 + i, 1000, 'usd',
                        CASE i % 100 WHEN 0 THEN 'requires_action' WHEN 1 THEN 'requires_capture' ELSE 'succeeded' END,
                        'automatic', 'automatic', 'secret',
                        CASE WHEN i % 100 > 1 THEN 1000 ELSE 0 END,
                        CASE i % 100 WHEN 1 THEN 1000 ELSE 0 END,
                        CASE WHEN i % 100 > 1 THEN 1000 + i END,
                        CASE WHEN i % 100 <> 0 THEN 1000 + i END,
                        CASE i % 100 WHEN 0 THEN 5000 + i END
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO charges (id, created, payment_intent, amount, currency, status, capture, captured,
                        amount_captured)
                    SELECT 'ch_bulk' || i, 1000 + i, 'pi_bulk' || i, 1000, 'usd',
                        CASE i % 100 WHEN 0 THEN 'pending' ELSE 'succeeded' END, 1, 1, 1000
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO refunds (id, created, charge, payment_intent, amount, currency, status, settles_at)
                    SELECT 're_bulk' || i, 1000 + i, 'ch_bulk' || i, 'pi_bulk' || i, 100, 'usd',
                        CASE WHEN i % 100 IN (2, 4) THEN 'pending' ELSE 'succeeded' END,
                        CASE i % 100 WHEN 2 THEN 1060 + i WHEN 3 THEN 1060 + i END
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO idempotency_keys (api_key, key, created, expires_at, method, path, fingerprint,
                        recovery_point, request_id)
                    SELECT CASE i % 2 WHEN 0 THEN 'test' ELSE 'recharge' END, 'key' || i, 1000 + i,
                        CASE i % 2 WHEN 0 THEN 1000 + i + 86400 END, 'POST', '/v1/payment_intents', 'f', 'finished',
                        'req' || i
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO events (id, created, type, object_type, object_id, snapshot)
                    SELECT 'evt_bulk' || i, 1000 + i, 'payment_intent.succeeded', 'payment_intent', 'pi_bulk' || i, '{}'
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(
                sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                    INSERT INTO setup_intents (id, created, status, usage, client_secret, attempt_expires_at,
                        succeeded_at)
                    SELECT 'seti_bulk' || i, 1000 + i,
                        CASE i % 100 WHEN 0 THEN 'requires_action' ELSE 'succeeded' END, 'off_session', 'secret',
                        CASE i % 100 WHEN 0 THEN 5000 + i END, CASE WHEN i % 100 > 0 THEN 1000 + i END
                    FROM n
                    """,
                arguments: [bulkRows]
            )
            try db.execute(sql: "ANALYZE")
        }
    }
}
