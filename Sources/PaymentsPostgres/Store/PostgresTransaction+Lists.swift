import PaymentsCore

// MARK: - Lists

extension PostgresTransaction {
    func paymentIntents(customer: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<PaymentIntent> {
        var filter = Filter()
        if let customer { filter.add("customer", "=", .text(customer)) }
        if let created { filter.add(created) }
        return try list("payment_intents", filter: filter, page: page, PostgresRecords.paymentIntent)
    }

    func setupIntents(customer: String?, paymentMethod: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<SetupIntent>
    {
        var filter = Filter()
        if let customer { filter.add("customer", "=", .text(customer)) }
        if let paymentMethod { filter.add("payment_method", "=", .text(paymentMethod)) }
        if let created { filter.add(created) }
        return try list("setup_intents", filter: filter, page: page, PostgresRecords.setupIntent)
    }

    func charges(customer: String?, paymentIntent: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Charge>
    {
        var filter = Filter()
        if let customer { filter.add("customer", "=", .text(customer)) }
        if let paymentIntent { filter.add("payment_intent", "=", .text(paymentIntent)) }
        if let created { filter.add(created) }
        return try list("charges", filter: filter, page: page, PostgresRecords.charge)
    }

    func customers(email: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<Customer> {
        var filter = Filter()
        filter.add("deleted", "=", .integer(0))
        if let email { filter.add("email", "=", .text(email)) }
        if let created { filter.add(created) }
        return try list("customers", filter: filter, page: page, PostgresRecords.customer)
    }

    func paymentMethods(customer: String, page: PageRequest) throws -> Page<PaymentMethod> {
        var filter = Filter()
        filter.add("customer", "=", .text(customer))
        return try list("payment_methods", filter: filter, page: page, PostgresRecords.paymentMethod)
    }

    func refunds(paymentIntent: String?, charge: String?, created: CreatedFilter?, page: PageRequest) throws
        -> Page<Refund>
    {
        var filter = Filter()
        if let paymentIntent { filter.add("payment_intent", "=", .text(paymentIntent)) }
        if let charge { filter.add("charge", "=", .text(charge)) }
        if let created { filter.add(created) }
        return try list("refunds", filter: filter, page: page, PostgresRecords.refund)
    }

    /// Events, newest first. Read while holding ``eventOrderLock`` exclusively, so that every event this page cannot
    /// see sorts after every event it shows (see ``writeEventsInCommitOrder()``): in a write, or in a read-only
    /// READ COMMITTED transaction, where the list's statements take their snapshots after the lock. Another read
    /// stops with ``EventOrderNeeded`` and runs again in one.
    func events(types: [String], created: CreatedFilter?, page: PageRequest) throws -> Page<Event> {
        guard isWrite || ordersEvents else {
            needsEventOrder = true
            throw EventOrderNeeded()
        }
        try query("SELECT pg_advisory_xact_lock($1)", [.integer(Self.eventOrderLock)])
        var filter = Filter()
        let patterns = types.filter(EventTypePattern.isPattern)
        let exact = types.filter { !EventTypePattern.isPattern($0) }
        if !types.isEmpty {
            // One array parameter for the exact types, whatever their number: `type = ANY($n)`; a pattern
            // (`payment_intent.*`) is a LIKE, its `*` as `%` and its `_` (LIKE's one character) escaped.
            var alternatives: [String] = []
            if !exact.isEmpty {
                filter.values.append(.texts(exact))
                alternatives.append("type = ANY($\(filter.values.count))")
            }
            for pattern in patterns {
                let like = pattern.replacingOccurrences(of: "_", with: "\\_").replacingOccurrences(of: "*", with: "%")
                filter.values.append(.text(like))
                alternatives.append("type LIKE $\(filter.values.count)")
            }
            filter.clauses.append("(" + alternatives.joined(separator: " OR ") + ")")
        }
        if let created { filter.add(created) }
        return try list("events", filter: filter, page: page, PostgresRecords.event)
    }

    /// A `WHERE` clause built from parts, each value a parameter.
    struct Filter {
        var clauses: [String] = []
        var values: [PostgresValue] = []

        /// `column op $n`, where `column` and `op` are the store's own text, never a caller's.
        mutating func add(_ column: String, _ op: String, _ value: PostgresValue) {
            values.append(value)
            clauses.append(op == "= ANY" ? "\(column) = ANY($\(values.count))" : "\(column) \(op) $\(values.count)")
        }

        mutating func add(_ created: CreatedFilter) {
            if let value = created.equals { add("created", "=", .integer(value)) }
            if let value = created.gt { add("created", ">", .integer(value)) }
            if let value = created.gte { add("created", ">=", .integer(value)) }
            if let value = created.lt { add("created", "<", .integer(value)) }
            if let value = created.lte { add("created", "<=", .integer(value)) }
        }

        var sql: String { clauses.isEmpty ? "TRUE" : clauses.joined(separator: " AND ") }
    }

    /// Keyset pagination over `(created, rowid)`, newest first, as the SQLite store pages: the tables that page
    /// carry an explicit identity `rowid` in insertion order (see `migrations/postgres/0001_initial.sql`).
    /// - Throws: `resource_missing` when a cursor names an object that is not in the table.
    func list<Record>(
        _ table: String,
        filter: Filter,
        page: PageRequest,
        _ decode: (PostgresRowReader) throws -> Record
    ) throws -> Page<Record> {
        var sql = "SELECT * FROM \(table) WHERE \(filter.sql)"
        var values = filter.values
        let cursorID = page.startingAfter ?? page.endingBefore
        let newerFirst = page.endingBefore == nil
        if let cursorID {
            guard
                let cursor = try fetchOne(
                    "SELECT created, rowid FROM \(table) WHERE id = $1",
                    [.text(cursorID)],
                    { row in (try row.int64("created"), try row.int64("rowid")) }
                )
            else {
                throw PaymentError.resourceMissing(
                    Self.objectName(table),
                    id: cursorID,
                    param: page.startingAfter != nil ? "starting_after" : "ending_before",
                    inURL: false
                )
            }
            let first = values.count + 1
            sql +=
                newerFirst
                ? " AND (created, rowid) < ($\(first), $\(first + 1))"
                : " AND (created, rowid) > ($\(first), $\(first + 1))"
            values += [.integer(cursor.0), .integer(cursor.1)]
        }
        sql += newerFirst ? " ORDER BY created DESC, rowid DESC" : " ORDER BY created ASC, rowid ASC"
        values.append(.integer(Int64(page.limit + 1)))
        sql += " LIMIT $\(values.count)"
        var rows = try fetchAll(sql, values, decode)
        let hasMore = rows.count > page.limit
        rows = Array(rows.prefix(page.limit))
        if !newerFirst { rows.reverse() }
        return Page(items: rows, hasMore: hasMore)
    }

    /// The object name Stripe uses in `No such ...` messages (as the SQLite store names them).
    static func objectName(_ table: String) -> String {
        switch table {
        case "payment_intents": "payment_intent"
        case "payment_methods": "PaymentMethod"
        case "customers": "customer"
        case "refunds": "refund"
        case "charges": "charge"
        case "events": "event"
        case "setup_intents": "setupintent"
        default: table
        }
    }
}
