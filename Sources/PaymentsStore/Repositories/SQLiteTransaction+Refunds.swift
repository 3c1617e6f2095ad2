import GRDB
import PaymentsCore

// MARK: - Refunds

extension SQLiteTransaction {
    /// The refund with `id`, if any.
    public func refund(_ id: String) throws -> Refund? {
        try fetchOne(Refund.self, "SELECT * FROM refunds WHERE id = ?", [id])
    }

    /// Inserts a refund.
    public func insert(_ refund: Refund) throws {
        try insertRow(refund)
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

    /// The ids of refunds still pending (the network's answer was never recorded) created before `cutoff`,
    /// oldest first, through the partial index `refunds_pending`.
    public func pendingRefunds(createdBefore cutoff: Int64, limit: Int) throws -> [String] {
        try String.fetchAll(
            db,
            sql: "SELECT id FROM refunds WHERE status = 'pending' AND created < ? ORDER BY created LIMIT ?",
            arguments: [cutoff, limit]
        )
    }
}
