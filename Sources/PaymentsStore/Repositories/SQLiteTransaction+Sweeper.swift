import GRDB
import PaymentsCore

// MARK: - Sweeper

extension SQLiteTransaction {
    /// Intents in `requires_action` or `requires_confirmation` whose attempt expired at or before `now`, the
    /// longest-expired first (rule a; index `payment_intents_attempts_due`).
    public func attemptsDue(at now: Int64, limit: Int) throws -> [PaymentIntent] {
        try db.fetch(PaymentIntent.self, sql: SweeperQuery.attemptsDue.sql, [now, limit])
    }

    /// `requires_capture` intents with a capture or release not recorded, oldest first (index
    /// `payment_intents_settling`).
    public func intentsAwaitingSettlement(limit: Int) throws -> [PaymentIntent] {
        try db.fetch(
            PaymentIntent.self,
            sql: "SELECT * FROM payment_intents WHERE settling IS NOT NULL AND status = 'requires_capture' "
                + "ORDER BY created LIMIT ?",
            [limit]
        )
    }

    /// `requires_capture` intents authorized at or before `cutoff`, after `position`, oldest first (rule b; index
    /// `payment_intents_authorizations_due`).
    public func authorizationsDue(
        authorizedAtOrBefore cutoff: Int64,
        after position: SweepPosition,
        limit: Int
    ) throws -> [(position: SweepPosition, intent: PaymentIntent)] {
        // Read in place (``StatementColumns``): the copies `Row.fetchAll` makes look each name up by comparing it,
        // lowercased, with every column's.
        try db.fetch(
            DueIntent.self,
            sql: SweeperQuery.authorizationsDue.sql,
            [cutoff, position.due, position.rowid, limit]
        )
        .map { (SweepPosition(due: $0.intent.authorizedAt ?? cutoff, rowid: $0.rowid), $0.intent) }
    }

    /// An intent with the `sweep_rowid` its due query adds, for the next batch's position.
    private struct DueIntent: ColumnDecodable {
        var intent: PaymentIntent
        var rowid: Int64

        init(row: Row) throws { try self.init(columns: row) }

        init<Columns: ColumnValues>(columns row: Columns) throws {
            intent = try PaymentIntent(columns: row)
            rowid = row["sweep_rowid"]
        }
    }

    /// The ids of charges still pending that were created at or before `cutoff`, after `position`, oldest first
    /// (rule d; index `charges_pending`).
    public func pendingChargesDue(
        createdAtOrBefore cutoff: Int64,
        after position: SweepPosition,
        limit: Int
    ) throws -> [(position: SweepPosition, charge: String)] {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: SweeperQuery.pendingChargesDue.sql),
            arguments: [cutoff, position.due, position.rowid, limit]
        )
        return rows.map { row in (SweepPosition(due: row["created"], rowid: row["sweep_rowid"]), row["id"]) }
    }
}

// MARK: - Query plans

extension PaymentDatabase {
    /// SQLite's plan for one of the sweeper's queries, one line per step (`SEARCH payment_intents USING INDEX
    /// payment_intents_attempts_due (attempt_expires_at<?)`), read on a reader connection.
    public func queryPlan(_ query: SweeperQuery) async throws -> [String] {
        try await writer.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.sql, arguments: query.sampleArguments)
                .map { row in row["detail"] }
        }
    }
}
