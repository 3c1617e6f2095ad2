import GRDB
import PaymentsCore

// MARK: - Sweeper leases

extension SQLiteTransaction {
    /// Takes, takes over or renews the lease on `rule` in one statement (`sweeper_leases`, 0008): the upsert's
    /// `WHERE` is the compare-and-set, so a live lease of another holder is left as it is and nothing changes.
    public func takeSweeperLease(rule: String, holder: String, now: Int64, leasedUntil: Int64) throws -> Bool {
        try execute(
            """
            INSERT INTO sweeper_leases (rule, holder, leased_until) VALUES (?, ?, ?)
            ON CONFLICT (rule) DO UPDATE SET holder = excluded.holder, leased_until = excluded.leased_until
            WHERE sweeper_leases.holder = excluded.holder OR sweeper_leases.leased_until <= ?
            """,
            [rule, holder, leasedUntil, now]
        )
        return db.changesCount > 0
    }

    /// Deletes `holder`'s lease on `rule`.
    @discardableResult
    public func releaseSweeperLease(rule: String, holder: String) throws -> Bool {
        try execute("DELETE FROM sweeper_leases WHERE rule = ? AND holder = ?", [rule, holder])
        return db.changesCount > 0
    }

    /// The lease row of `rule`, if any.
    public func sweeperLease(rule: String) throws -> SweeperLease? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT rule, holder, leased_until FROM sweeper_leases WHERE rule = ?"),
            arguments: [rule]
        ).map { row in SweeperLease(rule: row["rule"], holder: row["holder"], leasedUntil: row["leased_until"]) }
    }
}
