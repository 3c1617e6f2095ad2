import PaymentsCore

// MARK: - What the sweeper and recovery find due

/// The same queries as the SQLite store's `SweeperQuery`, on the same partial indexes (`migrations/postgres/`). In a
/// write transaction the queries that take their rows from the front of the due set lock them
/// `FOR NO KEY UPDATE SKIP LOCKED`: two instances' sweepers (or recoveries) looking at once split the due rows
/// between them, none handed to both, and neither waits for the other. The queries that page after a
/// ``SweepPosition`` lock nothing: a row skipped because another transaction held it would be behind the position
/// for the rest of the pass.
extension PostgresTransaction {
    func attemptsDue(at now: Int64, limit: Int) throws -> [PaymentIntent] {
        try fetchAll(
            """
            SELECT * FROM payment_intents
            WHERE status IN ('requires_action', 'requires_confirmation') AND attempt_expires_at IS NOT NULL
                AND attempt_expires_at <= $1
            ORDER BY attempt_expires_at LIMIT $2\(skipLocked)
            """,
            [.integer(now), .integer(Int64(limit))],
            PostgresRecords.paymentIntent
        )
    }

    func intentsAwaitingSettlement(limit: Int) throws -> [PaymentIntent] {
        try fetchAll(
            """
            SELECT * FROM payment_intents WHERE settling IS NOT NULL AND status = 'requires_capture'
            ORDER BY created LIMIT $1
            """,
            [.integer(Int64(limit))],
            PostgresRecords.paymentIntent
        )
    }

    func setupAttemptsDue(at now: Int64, limit: Int) throws -> [SetupIntent] {
        try fetchAll(
            """
            SELECT * FROM setup_intents
            WHERE status = 'requires_action' AND attempt_expires_at IS NOT NULL AND attempt_expires_at <= $1
            ORDER BY attempt_expires_at LIMIT $2\(skipLocked)
            """,
            [.integer(now), .integer(Int64(limit))],
            PostgresRecords.setupIntent
        )
    }

    func authorizationsDue(authorizedAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, intent: PaymentIntent)]
    {
        try fetchAll(
            """
            SELECT * FROM payment_intents
            WHERE status = 'requires_capture' AND authorized_at <= $1 AND (authorized_at, rowid) > ($2, $3)
            ORDER BY authorized_at, rowid LIMIT $4
            """,
            [.integer(cutoff), .integer(position.due), .integer(position.rowid), .integer(Int64(limit))]
        ) { row in
            let intent = try PostgresRecords.paymentIntent(row)
            return (SweepPosition(due: intent.authorizedAt ?? cutoff, rowid: try row.int64("rowid")), intent)
        }
    }

    func pendingChargesDue(createdAtOrBefore cutoff: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, charge: String)]
    {
        try fetchAll(
            """
            SELECT rowid, id, created FROM charges
            WHERE status = 'pending' AND created <= $1 AND (created, rowid) > ($2, $3)
            ORDER BY created, rowid LIMIT $4
            """,
            [.integer(cutoff), .integer(position.due), .integer(position.rowid), .integer(Int64(limit))]
        ) { row in (SweepPosition(due: try row.int64("created"), rowid: try row.int64("rowid")), try row.string("id")) }
    }

    func pendingRefunds(createdBefore cutoff: Int64, limit: Int) throws -> [String] {
        try fetchAll(
            """
            SELECT id FROM refunds
            WHERE status = 'pending' AND settles_at IS NULL AND created < $1
            ORDER BY created LIMIT $2\(skipLocked)
            """,
            [.integer(cutoff), .integer(Int64(limit))]
        ) { row in try row.string("id") }
    }

    func refundsSettling(at now: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, refund: String)]
    {
        try fetchAll(
            """
            SELECT rowid, id, settles_at FROM refunds
            WHERE settles_at IS NOT NULL AND settles_at <= $1 AND (settles_at, rowid) > ($2, $3)
            ORDER BY settles_at, rowid LIMIT $4
            """,
            [.integer(now), .integer(position.due), .integer(position.rowid), .integer(Int64(limit))]
        ) { row in
            (SweepPosition(due: try row.int64("settles_at"), rowid: try row.int64("rowid")), try row.string("id"))
        }
    }
}
