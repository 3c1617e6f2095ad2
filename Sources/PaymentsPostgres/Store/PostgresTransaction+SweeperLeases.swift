import PaymentsCore

// MARK: - Sweeper leases

/// The same statements as the SQLite store's (`sweeper_leases`, 0008). Two instances taking one rule's lease at once: the second
/// insert waits on the first's row until it commits, then READ COMMITTED evaluates the upsert's `WHERE` against the
/// committed row, so exactly one of them holds the lease.
extension PostgresTransaction {
    func takeSweeperLease(rule: String, holder: String, now: Int64, leasedUntil: Int64) throws -> Bool {
        try execute(
            """
            INSERT INTO sweeper_leases AS lease (rule, holder, leased_until) VALUES ($1, $2, $3)
            ON CONFLICT (rule) DO UPDATE SET holder = EXCLUDED.holder, leased_until = EXCLUDED.leased_until
            WHERE lease.holder = EXCLUDED.holder OR lease.leased_until <= $4
            """,
            [.text(rule), .text(holder), .integer(leasedUntil), .integer(now)]
        ) > 0
    }

    @discardableResult
    func releaseSweeperLease(rule: String, holder: String) throws -> Bool {
        try execute("DELETE FROM sweeper_leases WHERE rule = $1 AND holder = $2", [.text(rule), .text(holder)]) > 0
    }

    func sweeperLease(rule: String) throws -> SweeperLease? {
        try fetchOne("SELECT rule, holder, leased_until FROM sweeper_leases WHERE rule = $1", [.text(rule)]) { row in
            SweeperLease(
                rule: try row.string("rule"),
                holder: try row.string("holder"),
                leasedUntil: try row.int64("leased_until")
            )
        }
    }
}
