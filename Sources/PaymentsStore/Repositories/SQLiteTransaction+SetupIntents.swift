import GRDB
import PaymentsCore

// MARK: - SetupIntents

extension SQLiteTransaction {
    /// The setup intent with `id`, if any.
    public func setupIntent(_ id: String) throws -> SetupIntent? {
        try fetchStored(SetupIntent.self, "SELECT * FROM setup_intents WHERE id = ?", [id])
    }

    /// Inserts a new setup intent.
    public func insert(_ setupIntent: SetupIntent) throws {
        try insertStored(setupIntent)
    }

    /// Saves `setupIntent` if its status is still `expected` (compare-and-set); otherwise nothing changes.
    /// - Returns: false when another writer changed the status first.
    @discardableResult
    public func update(_ setupIntent: SetupIntent, expecting expected: SetupIntentStatus) throws -> Bool {
        try updateRow(
            setupIntent,
            whereStill: "status",
            equals: expected.rawValue.databaseValue,
            fullSQL: SetupIntent.compareAndSetSQL
        )
    }

    /// Setup intents, newest first, optionally for one customer, one payment method and within a `created` range.
    public func setupIntents(
        customer: String?,
        paymentMethod: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) throws -> Page<SetupIntent> {
        var filter = Filter()
        if let customer { filter.add("customer = ?", customer) }
        if let paymentMethod { filter.add("payment_method = ?", paymentMethod) }
        if let created { filter.add(created) }
        return try list(SetupIntent.self, filter: filter, page: page)
    }

    /// Setup intents in `requires_action` whose attempt expired at or before `now`, the longest-expired first
    /// (index `setup_intents_attempts_due`).
    public func setupAttemptsDue(at now: Int64, limit: Int) throws -> [SetupIntent] {
        try db.fetch(SetupIntent.self, sql: SweeperQuery.setupAttemptsDue.sql, [now, limit])
    }
}
