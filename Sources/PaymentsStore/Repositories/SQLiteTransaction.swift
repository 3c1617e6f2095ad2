import Foundation
import GRDB
import PaymentsCore

/// The SQLite store's ``StoreTransaction``: the repositories, as seen from inside one transaction of
/// ``PaymentDatabase/write(_:)`` or ``PaymentDatabase/read(_:)``, as handwritten SQL on GRDB's statements.
///
/// Everything done through one `SQLiteTransaction` commits together or not at all. It must not escape the closure
/// it is handed to.
public struct SQLiteTransaction: StoreTransaction {
    let db: Database
    let hooks: TransactionHooks
    /// The rows of a write transaction as it last read or wrote them (nil in a read): what its next save of each
    /// compares against, to write only what changed.
    let stored: StoredRows?

    // MARK: - Commit hooks

    /// Runs `action` once this transaction has committed (never if it rolls back): in-memory state that the
    /// transaction justifies (a response to send, a registry entry) changes only once the transaction is durable.
    public func afterCommit(_ action: @escaping @Sendable () -> Void) {
        hooks.add(afterCommit: action)
    }

    /// Runs `action` if this transaction rolls back (its savepoint in a group commit, its batch before running again,
    /// or the whole commit fails): undoes in-memory changes made inside it.
    public func onRollback(_ action: @escaping @Sendable () -> Void) {
        hooks.add(onRollback: action)
    }

    /// One row through a prepared statement cached on the connection: compiled (and checked by GRDB's authorizer)
    /// once per connection instead of once per call, and decoded in place (``StatementColumns``). Reads by id are on
    /// every request's path.
    func fetchOne<Record: ColumnDecodable>(_ type: Record.Type, _ sql: String, _ arguments: StatementArguments)
        throws -> Record?
    {
        try db.fetch(Record.self, sql: sql, arguments, limit: 1).first
    }

    /// ``fetchOne(_:_:_:)`` for a row type the store saves whole: a row found is remembered as the `before` of its
    /// next save in this transaction (``StoredRows``).
    func fetchStored<Record: StoredRow>(_ type: Record.Type, _ sql: String, _ arguments: StatementArguments)
        throws -> Record?
    {
        let row = try fetchOne(type, sql, arguments)
        if let row { try stored?.remember(row) }
        return row
    }

    /// Inserts `row` through its table's INSERT, prepared once per connection like ``fetchOne(_:_:_:)``.
    func insertRow<Record: StoredRow>(_ row: Record) throws {
        let columns = Record.columns
        try db.cachedStatement(sql: columns.insertSQL).run(columns.values(of: row))
    }

    /// ``insertRow(_:)`` for a row type the store saves whole, remembered like ``fetchStored(_:_:_:)``.
    func insertStored<Record: StoredRow>(_ row: Record) throws {
        try insertRow(row)
        try stored?.remember(row)
    }

    /// Inserts `rows` in as few statements as it takes: multi-row INSERTs of ``batchSizes`` rows each, largest first,
    /// each prepared once per connection. One statement per twenty rows instead of one per row: each statement run
    /// has a cost of its own (finding its cursors, its savepoint journal, its bookkeeping).
    func insertRows<Record: StoredRow>(_ rows: [Record]) throws {
        let columns = Record.columns
        var start = rows.startIndex
        for size in Self.batchSizes {
            while rows.endIndex - start >= size {
                let chunk = rows[start..<start + size]
                let sql = size == 1 ? columns.insertSQL : columns.insertSQL(rows: size)
                try db.cachedStatement(sql: sql).run(columns.values(of: chunk))
                start += size
            }
        }
    }

    /// Saves `changes` in multi-row UPDATEs that write only the columns each row changed since its `before` (read in
    /// this transaction): rows that changed the same columns share statements of ``batchSizes`` rows, each prepared
    /// once per connection. Writing only what changed also spares SQLite the CHECK constraints, foreign keys and
    /// indexes of the columns that did not.
    /// - Parameter still: a compare-and-set: the column that must still hold its `before` value for a row to be
    ///   saved (it is written too, so a row whose other columns did not change is still matched).
    /// - Returns: the keys of the rows saved.
    func updateRows<Record: StoredRow>(_ changes: [(row: Record, before: Record)], whereStill still: String?) throws
        -> [String]
    {
        let columns = Record.columns
        let stillPosition = still.flatMap(columns.position(of:))
        // Rows grouped by the columns they change, each row as its statement arguments.
        var groups: [[Int]: [[DatabaseValue]]] = [:]
        var order: [[Int]] = []
        for (row, before) in changes {
            var (changed, values) = try columns.changes(from: before, to: row)
            var arguments = [try columns.keyValue(of: row)]
            if let stillPosition {
                arguments.append(try columns.value(at: stillPosition, of: before))
                if !changed.contains(stillPosition) {
                    // Written unchanged, so that a row whose other columns did not change is still matched.
                    let at = changed.firstIndex { $0 > stillPosition } ?? changed.endIndex
                    changed.insert(stillPosition, at: at)
                    values.insert(arguments[1], at: at)
                }
            }
            guard !changed.isEmpty else { continue }
            if groups[changed] == nil { order.append(changed) }
            groups[changed, default: []].append(arguments + values)
        }
        // Saved here with a `before` of the caller's: forgotten, so that a later save writes every column.
        for (row, _) in changes { try stored?.forget(row) }
        var saved: [String] = []
        for changed in order {
            let rows = groups[changed] ?? []
            var start = rows.startIndex
            for size in Self.batchSizes {
                while rows.endIndex - start >= size {
                    let statement = try db.cachedStatement(
                        sql: columns.updateSQL(rows: size, changed: changed, whereStill: still)
                    )
                    statement.bind(Array(rows[start..<start + size].joined()))
                    let keys = try String.fetchAll(statement)
                    if still == nil, keys.count < size {
                        throw RecordError.recordNotFound(databaseTableName: columns.table, key: [:])
                    }
                    saved += keys
                    start += size
                }
            }
        }
        return saved
    }

    /// The row counts of the multi-row statements of ``insertRows(_:)`` and ``updateRows(_:whereStill:)``: few, so
    /// that few statements are cached, and small enough that compiling one (in a pass's first batch) costs less than
    /// the statements it saves.
    static let batchSizes = [20, 4, 1]

    /// Saves `row`: only the columns that differ from the row as this transaction last read or wrote it (``StoredRows``),
    /// or every column through its table's UPDATE when it has not. Both are prepared once per connection.
    /// - Throws: `RecordError.recordNotFound` when no row has `row`'s primary key, as GRDB's `update` did.
    func updateRow<Record: StoredRow>(_ row: Record) throws {
        let columns = Record.columns
        if let stored, let before = try stored.row(like: row) {
            let (changed, values) = try columns.changes(from: before, to: row)
            if !changed.isEmpty {
                let statement = try db.cachedStatement(sql: columns.updateSQL(changing: changed, whereStill: nil))
                try statement.run([try columns.keyValue(of: row)] + values)
            }
            // Read or written in this transaction, so the row is there (and a save of nothing finds it).
            guard changed.isEmpty || db.changesCount > 0 else { throw try notFound(row) }
            try stored.remember(row)
            return
        }
        try db.cachedStatement(sql: columns.updateSQL).run(columns.values(of: row))
        guard db.changesCount > 0 else { throw try notFound(row) }
    }

    /// Saves `row` if its column `still` holds `expected` (a compare-and-set), writing only what changed as
    /// ``updateRow(_:)`` does; `fullSQL` is the table's full-row UPDATE with that condition
    /// (``RowColumns/updateSQL(whereStill:)``), for a row this transaction has not read.
    /// - Returns: false when the column held something else (nothing changes then).
    func updateRow<Record: StoredRow>(
        _ row: Record,
        whereStill still: String,
        equals expected: DatabaseValue,
        fullSQL: String
    ) throws -> Bool {
        let columns = Record.columns
        guard let stored, let before = try stored.row(like: row), let position = columns.position(of: still) else {
            try db.cachedStatement(sql: fullSQL).run(columns.values(of: row) + [expected])
            return db.changesCount == 1
        }
        let (changed, values) = try columns.changes(from: before, to: row)
        // Nothing to write: the row already is `row`, saved if the column holds `expected`.
        guard !changed.isEmpty else { return try columns.value(at: position, of: before) == expected }
        let statement = try db.cachedStatement(sql: columns.updateSQL(changing: changed, whereStill: position))
        try statement.run([try columns.keyValue(of: row)] + values + [expected])
        guard db.changesCount == 1 else {
            try stored.forget(row)
            return false
        }
        try stored.remember(row)
        return true
    }

    private func notFound<Record: StoredRow>(_ row: Record) throws -> RecordError {
        RecordError.recordNotFound(databaseTableName: Record.columns.table, key: try Record.columns.key(of: row))
    }

    /// Runs one statement through the connection's statement cache, like ``fetchOne(_:_:_:)``: GRDB's
    /// `execute(sql:)` compiles (and authorizes) its SQL on every call, which the writer thread pays while every
    /// other write waits.
    func execute(_ sql: String, _ arguments: StatementArguments) throws {
        try db.cachedStatement(sql: sql).execute(arguments: arguments)
    }

    // MARK: - PaymentIntents

    /// The intent with `id`, if any.
    public func paymentIntent(_ id: String) throws -> PaymentIntent? {
        try fetchStored(PaymentIntent.self, "SELECT * FROM payment_intents WHERE id = ?", [id])
    }

    /// Inserts a new intent.
    public func insert(_ intent: PaymentIntent) throws {
        try insertStored(intent)
    }

    /// Saves `intent` if its status is still `expected` (compare-and-set); otherwise nothing changes.
    /// - Returns: false when another writer changed the status first.
    @discardableResult
    public func update(_ intent: PaymentIntent, expecting expected: PaymentIntentStatus) throws -> Bool {
        try updateRow(
            intent,
            whereStill: "status",
            equals: expected.rawValue.databaseValue,
            fullSQL: PaymentIntent.compareAndSetSQL
        )
    }

    /// Saves `changes` in multi-row compare-and-sets on `status` that write only what changed (``updateRows(_:whereStill:)``).
    public func update(intents changes: [(intent: PaymentIntent, before: PaymentIntent)]) throws -> Set<String> {
        Set(try updateRows(changes.map { (row: $0.intent, before: $0.before) }, whereStill: "status"))
    }

    // MARK: - Charges

    /// The charge with `id`, if any.
    public func charge(_ id: String) throws -> Charge? {
        try fetchStored(Charge.self, "SELECT * FROM charges WHERE id = ?", [id])
    }

    /// The payment intent of the charge `id`, if there is such a charge.
    public func paymentIntent(ofCharge id: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT payment_intent FROM charges WHERE id = ?", arguments: [id])
    }

    /// The pending charges of `paymentMethod` (index `charges_pending`).
    public func pendingCharges(paymentMethod: String) throws -> [Charge] {
        try db.fetch(
            Charge.self,
            sql: "SELECT * FROM charges WHERE status = 'pending' AND payment_method = ?",
            [paymentMethod]
        )
    }

    /// Inserts a charge (a pending attempt, or a failed one that never reached the network).
    public func insert(_ charge: Charge) throws {
        try insertStored(charge)
    }

    /// Saves a charge's new state.
    public func update(_ charge: Charge) throws {
        try updateRow(charge)
    }

    /// Saves `changes` in multi-row UPDATEs that write only what changed (``updateRows(_:whereStill:)``).
    public func update(charges changes: [(charge: Charge, before: Charge)]) throws {
        _ = try updateRows(changes.map { (row: $0.charge, before: $0.before) }, whereStill: nil)
    }

    /// Inserts `charges` in multi-row INSERTs (``insertRows(_:)``).
    public func insert(charges: [Charge]) throws {
        try insertRows(charges)
    }

    // MARK: - PaymentMethods

    /// The payment method with `id`, if any.
    public func paymentMethod(_ id: String) throws -> PaymentMethod? {
        try fetchStored(PaymentMethod.self, "SELECT * FROM payment_methods WHERE id = ?", [id])
    }

    /// The customer the payment method `id` is attached to, if any.
    public func customer(ofPaymentMethod id: String) throws -> String? {
        try String?.fetchOne(db, sql: "SELECT customer FROM payment_methods WHERE id = ?", arguments: [id]) ?? nil
    }

    /// Inserts a payment method and its sealed card number (the `card_vault` row), together.
    public func insert(_ paymentMethod: PaymentMethod, card: SealedCard) throws {
        try insertStored(paymentMethod)
        try insertRow(VaultRecord(paymentMethod: paymentMethod.id, keyID: card.keyID, sealed: card.sealed))
    }

    /// Saves a payment method's new state.
    public func update(_ paymentMethod: PaymentMethod) throws {
        try updateRow(paymentMethod)
    }

    /// Detaches every payment method of a customer (deleting a customer), so none can be used again.
    public func detachPaymentMethods(ofCustomer customer: String) throws {
        stored?.forgetAll(PaymentMethod.self)
        try db.execute(
            sql: "UPDATE payment_methods SET customer = NULL, reusable = 0 WHERE customer = ?",
            arguments: [customer]
        )
    }

    /// The sealed card number of a payment method.
    public func sealedCard(of paymentMethodID: String) throws -> SealedCard? {
        try fetchOne(VaultRecord.self, "SELECT * FROM card_vault WHERE payment_method = ?", [paymentMethodID])
            .map { SealedCard(keyID: $0.keyID, sealed: $0.sealed) }
    }

    // MARK: - Customers

    /// The customer with `id`, deleted or not, if any.
    public func customer(_ id: String) throws -> Customer? {
        try fetchStored(Customer.self, "SELECT * FROM customers WHERE id = ?", [id])
    }

    /// Inserts a customer.
    public func insert(_ customer: Customer) throws {
        try insertStored(customer)
    }

    /// Saves a customer's new state.
    public func update(_ customer: Customer) throws {
        try updateRow(customer)
    }
}

extension PaymentDatabase: PaymentStore {
    /// Runs `body` in one write transaction (IMMEDIATE: it takes the write lock at once, so no other writer can
    /// change what it reads before it writes).
    ///
    /// With group commit on (the default) concurrent writes share one transaction (`GroupCommitWriter`): `body`
    /// still commits or rolls back as a whole, and this returns only after the commit. When a batch-mate throws,
    /// the batch rolls back and runs again, and so may `body`: the run rolled back has its
    /// ``SQLiteTransaction/onRollback(_:)`` actions run and its ``SQLiteTransaction/afterCommit(_:)`` actions dropped.
    /// `body`'s afterCommit actions run once the commit is done and before this returns; its onRollback actions run
    /// when it throws.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let hooks = TransactionHooks()
        do {
            let value: T
            if let groupCommit {
                value = try await groupCommit.write(onRerun: { hooks.rolledBack() }) { db in
                    try body(SQLiteTransaction(db: db, hooks: hooks, stored: StoredRows()))
                }
            } else {
                value = try await writer.write { [file] db in
                    try file.check()
                    return try body(SQLiteTransaction(db: db, hooks: hooks, stored: StoredRows()))
                }
            }
            hooks.committed()
            return value
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // The write lock never came (another process held it past the busy timeout): said in the store's terms,
            // so the answer can say what happened instead of "An unknown error occurred"
            hooks.rolledBack()
            throw StoreError.locked(seconds: Int(Self.busyTimeout))
        } catch let error as DatabaseError where [.SQLITE_FULL, .SQLITE_IOERR].contains(error.resultCode) {
            // A full disk (ENOSPC), the file size limit (EFBIG, an I/O error to SQLite), a failing disk: said in the
            // store's terms, as the lock is
            hooks.rolledBack()
            throw StoreError.storage
        } catch {
            hooks.rolledBack()
            throw error
        }
    }

    /// Runs `body` on a reader: a consistent snapshot that never waits for the writer.
    ///
    /// The read runs on the calling thread. The store's reads are short (a row by id, a page of at most 100 rows),
    /// and GRDB's asynchronous read hands each one to the reader's dispatch queue and back, two thread hops and
    /// their wake-ups that cost more than the read itself (`perf` under W2 in `scripts/bench`: futex wake-ups and
    /// `DispatchQueueActor` around every retrieve). A reader is always free for the calling thread: the pool has at
    /// least as many readers as the cooperative pool has threads (see ``readerCount``).
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try readHere(body)
    }

    /// A snapshot on one of the pool's readers, on the calling thread: a deferred transaction (its snapshot taken at
    /// the first read) around `body`, begun and ended on statements compiled once per connection (see
    /// ``ReaderConnections``).
    ///
    /// GRDB's `read` makes the same transaction, but compiles its `BEGIN` and `COMMIT` (and authorizes them) on every
    /// read: 4% of a retrieve's CPU under W2 in `perf`, about as much as reading the row itself.
    private func readHere<T>(_ body: (any StoreTransaction) throws -> T) throws -> T {
        try readers.read { db in
            try body(SQLiteTransaction(db: db, hooks: TransactionHooks(), stored: nil))
        }
    }
}
