import GRDB
import PaymentsCore

// MARK: - Refunds

extension SQLiteTransaction {
    /// The refund with `id`, if any.
    public func refund(_ id: String) throws -> Refund? {
        try fetchStored(Refund.self, "SELECT * FROM refunds WHERE id = ?", [id])
    }

    /// Inserts a refund.
    public func insert(_ refund: Refund) throws {
        try insertStored(refund)
    }

    /// Saves a refund's new state.
    public func update(_ refund: Refund) throws {
        try updateRow(refund)
    }

    /// Refunds, newest first, optionally for one intent or charge and within a `created` range.
    public func refunds(
        paymentIntent: String?,
        charge: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) throws -> Page<Refund> {
        var filter = Filter()
        if let paymentIntent { filter.add("payment_intent = ?", paymentIntent) }
        if let charge { filter.add("charge = ?", charge) }
        if let created { filter.add(created) }
        return try list(Refund.self, filter: filter, page: page)
    }

    /// The ids of refunds still pending that the network never answered, created before `cutoff`, oldest first
    /// (rule e; index `refunds_unanswered`).
    public func pendingRefunds(createdBefore cutoff: Int64, limit: Int) throws -> [String] {
        try String.fetchAll(db, sql: SweeperQuery.pendingRefundsDue.sql, arguments: [cutoff, limit])
    }

    /// The ids of refunds whose network status was due to change at or before `now`, after `position`, soonest
    /// first (rule f; index `refunds_settling`).
    public func refundsSettling(at now: Int64, after position: SweepPosition, limit: Int) throws
        -> [(position: SweepPosition, refund: String)]
    {
        let rows = try Row.fetchAll(
            db,
            sql: SweeperQuery.refundsSettling.sql,
            arguments: [now, position.due, position.rowid, limit]
        )
        return rows.map { row in (SweepPosition(due: row["settles_at"], rowid: row["sweep_rowid"]), row["id"]) }
    }
}
