import GRDB
import PaymentsCore

// MARK: - Sweeper

extension SQLiteTransaction {
    /// Intents in `requires_action` or `requires_confirmation` whose attempt expired at or before `now`, the
    /// longest-expired first (rule a; index `payment_intents_attempts_due`).
    public func attemptsDue(at now: Int64, limit: Int) throws -> [PaymentIntent] {
        try PaymentIntent.fetchAll(db.cachedStatement(sql: SweeperQuery.attemptsDue.sql), arguments: [now, limit])
    }

    /// `requires_capture` intents authorized at or before `cutoff`, after `position`, oldest first (rule b; index
    /// `payment_intents_authorizations_due`).
    public func authorizationsDue(
        authorizedAtOrBefore cutoff: Int64,
        after position: SweepPosition,
        limit: Int
    ) throws -> [(position: SweepPosition, intent: PaymentIntent)] {
        // Decoded from the cursor's row, which finds columns by name through a table built once per query; the copies
        // `Row.fetchAll` makes look each name up by comparing it, lowercased, with every column's.
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: SweeperQuery.authorizationsDue.sql),
            arguments: [cutoff, position.due, position.rowid, limit]
        )
        var due: [(position: SweepPosition, intent: PaymentIntent)] = []
        while let row = try rows.next() {
            let intent = try PaymentIntent(row: row)
            due.append((SweepPosition(due: intent.authorizedAt ?? cutoff, rowid: row["sweep_rowid"]), intent))
        }
        return due
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
