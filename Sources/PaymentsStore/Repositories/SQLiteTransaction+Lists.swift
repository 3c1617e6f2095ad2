import GRDB
import PaymentsCore

// MARK: - Lists

extension SQLiteTransaction {
    /// Payment intents, newest first, optionally for one customer and within a `created` range.
    public func paymentIntents(
        customer: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) throws -> Page<PaymentIntent> {
        var filter = Filter()
        if let customer { filter.add("customer = ?", customer) }
        if let created { filter.add(created) }
        return try list(PaymentIntent.self, filter: filter, page: page)
    }

    /// Charges, newest first, optionally for one customer or intent and within a `created` range (indexes
    /// `charges_by_customer`, `charges_by_payment_intent`, `charges_by_created`).
    public func charges(
        customer: String?,
        paymentIntent: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) throws -> Page<Charge> {
        var filter = Filter()
        if let customer { filter.add("customer = ?", customer) }
        if let paymentIntent { filter.add("payment_intent = ?", paymentIntent) }
        if let created { filter.add(created) }
        return try list(Charge.self, filter: filter, page: page)
    }

    /// Customers that are not deleted, newest first, optionally with an exact email.
    public func customers(email: String?, created: CreatedFilter?, page: PageRequest) throws -> Page<Customer> {
        var filter = Filter()
        filter.add("deleted = 0")
        if let email { filter.add("email = ?", email) }
        if let created { filter.add(created) }
        return try list(Customer.self, filter: filter, page: page)
    }

    /// A customer's attached payment methods, newest first.
    public func paymentMethods(customer: String, page: PageRequest) throws -> Page<PaymentMethod> {
        var filter = Filter()
        filter.add("customer = ?", customer)
        return try list(PaymentMethod.self, filter: filter, page: page)
    }

    /// A `WHERE` clause built from parts, with its arguments.
    struct Filter {
        var clauses: [String] = []
        var arguments = StatementArguments()

        mutating func add(_ clause: String, _ values: (any DatabaseValueConvertible)...) {
            clauses.append(clause)
            arguments += StatementArguments(values)
        }

        mutating func add(_ created: CreatedFilter) {
            if let value = created.equals { add("created = ?", value) }
            if let value = created.gt { add("created > ?", value) }
            if let value = created.gte { add("created >= ?", value) }
            if let value = created.lt { add("created < ?", value) }
            if let value = created.lte { add("created <= ?", value) }
        }

        var sql: String { clauses.isEmpty ? "1" : clauses.joined(separator: " AND ") }
    }

    /// Keyset pagination over `(created, rowid)`, newest first, the way Stripe's cursors work.
    ///
    /// - Throws: `resource_missing` when a cursor names an object that is not in the table.
    func list<Record: ColumnDecodable & TableRecord & Sendable>(
        _ type: Record.Type,
        filter: Filter,
        page: PageRequest
    ) throws -> Page<Record> {
        let table = Record.databaseTableName
        var sql = "SELECT * FROM \(table) WHERE \(filter.sql)"
        var arguments = filter.arguments
        let cursorID = page.startingAfter ?? page.endingBefore
        let newerFirst = page.endingBefore == nil
        if let cursorID {
            // Order is (created, rowid): rowid grows with insertion, so objects made in the same second still list
            // newest first (ids are random and say nothing about order).
            guard
                let cursor = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT created, rowid FROM \(table) WHERE id = ?"),
                    arguments: [cursorID]
                )
            else {
                throw PaymentError.resourceMissing(
                    Self.objectName(table),
                    id: cursorID,
                    param: page.startingAfter != nil ? "starting_after" : "ending_before",
                    inURL: false
                )
            }
            sql += newerFirst ? " AND (created, rowid) < (?, ?)" : " AND (created, rowid) > (?, ?)"
            arguments += [cursor[0] as Int64, cursor[1] as Int64]
        }
        sql += newerFirst ? " ORDER BY created DESC, rowid DESC" : " ORDER BY created ASC, rowid ASC"
        sql += " LIMIT ?"
        arguments += [page.limit + 1]
        // Prepared once per connection and shape: the shapes are few (the clauses above, with values always bound),
        // and `payments recharge` lists each customer's cards once per row.
        var rows = try db.fetch(Record.self, sql: sql, arguments)
        let hasMore = rows.count > page.limit
        rows = Array(rows.prefix(page.limit))
        if !newerFirst { rows.reverse() }
        return Page(items: rows, hasMore: hasMore)
    }

    /// The object name Stripe uses in `No such ...` messages.
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
