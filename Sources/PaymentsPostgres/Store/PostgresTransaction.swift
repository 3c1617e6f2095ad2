import Foundation
import Logging
import NIOCore
import PaymentsCore
import PostgresNIO
import Synchronization

/// The PostgreSQL store's ``StoreTransaction``: the repositories as seen from inside one transaction of
/// ``PostgresPaymentStore/write(_:)`` or ``PostgresPaymentStore/read(_:)``, as handwritten SQL with bound
/// parameters on one pooled connection.
///
/// The body it is handed to is synchronous and runs on a thread of the store's own pool (never on Swift's
/// cooperative pool or an event loop); each statement goes out over PostgresNIO's extended protocol and the thread
/// waits for its answer. Everything done through one `PostgresTransaction` commits together or not at all. It must
/// not escape the closure it is handed to.
///
/// In a write transaction every read of one row by its key is taken with `FOR NO KEY UPDATE`: a use case's
/// read-then-write decision (a refund against the charge's refunded total, a payment method's attach state, an
/// intent's status before its compare-and-set) holds the row until the commit, as SQLite's single writer holds
/// the whole file. `NO KEY` so that inserting a row that references it (a charge of the intent) does not wait.
final class PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection
    let hooks: TransactionHooks
    /// Whether this is a write transaction (row locks, SKIP LOCKED) or a read-only snapshot.
    let isWrite: Bool
    let logger: Logger
    /// Set when a statement failed with a serialization failure or a deadlock: the whole body may run again.
    private(set) var conflicted = false
    /// Set when a statement failed because the session ended under it (the connection closed, or PostgreSQL ended
    /// the backend: `pg_terminate_backend`, a restart). A session that ended before COMMIT was sent ended its
    /// transaction uncommitted, so the whole body may run again on another connection.
    private(set) var sessionLost = false
    /// A read that runs outside BEGIN and COMMIT as long as it makes one statement (see
    /// ``PostgresPaymentStore/read(_:)``): its second statement is refused and sets ``needsSnapshot``.
    let firstStatementAlone: Bool
    /// Set when a read outside a transaction asked for a second statement: its body must run again, inside one.
    private(set) var needsSnapshot = false
    private var statements = 0
    /// The events recorded so far, written just before COMMIT (``writeEventsInCommitOrder()``).
    private var pendingEvents: [Event] = []
    /// A read-only transaction in READ COMMITTED, where a list of events takes ``eventOrderLock`` before reading.
    let ordersEvents: Bool
    /// Set when a read that cannot take ``eventOrderLock`` (outside a transaction, or in REPEATABLE READ, whose
    /// snapshot predates the lock) asked for a list of events: its body must run again, in READ COMMITTED.
    var needsEventOrder = false

    /// Thrown by a list of events in a read that cannot take ``eventOrderLock``.
    struct EventOrderNeeded: Error {}

    init(
        connection: PostgresConnection,
        hooks: TransactionHooks,
        isWrite: Bool,
        firstStatementAlone: Bool = false,
        ordersEvents: Bool = false,
        logger: Logger
    ) {
        self.connection = connection
        self.hooks = hooks
        self.isWrite = isWrite
        self.firstStatementAlone = firstStatementAlone && !isWrite
        self.ordersEvents = ordersEvents && !isWrite
        self.logger = logger
    }

    /// Thrown at the second statement of a read outside a transaction: two statements must share one snapshot, so
    /// the body runs again inside `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`.
    struct SnapshotNeeded: Error {}

    /// `FOR NO KEY UPDATE` in a write transaction, nothing in a read-only one (where it is not allowed).
    var lockRow: String { isWrite ? " FOR NO KEY UPDATE" : "" }

    /// `FOR NO KEY UPDATE SKIP LOCKED` in a write transaction: instances that look for due work at once split it,
    /// each taking the rows no other holds.
    var skipLocked: String { isWrite ? " FOR NO KEY UPDATE SKIP LOCKED" : "" }

    // MARK: - Commit hooks

    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        hooks.add(afterCommit: action)
    }

    func onRollback(_ action: @escaping @Sendable () -> Void) {
        hooks.add(onRollback: action)
    }

    // MARK: - Statements

    /// Runs one statement with `values` bound to `$1`, `$2`, ... and waits on this thread for all of its rows.
    ///
    /// PostgresNIO sends it as one Parse/Bind/Execute (the unnamed statement): one round trip, no SQL text built from
    /// values. The driver caches named prepared statements only for types that declare their SQL statically
    /// (`PostgresPreparedStatement`); the store's statements are built per table (and per list filter), so each is
    /// parsed by the server per call, as a query of the simple protocol would be, but planned with its parameters.
    /// - Throws: ``StoreError`` for constraint violations and lost connections, ``PostgresStoreError`` otherwise.
    @discardableResult
    func query(_ sql: String, _ values: [PostgresValue] = []) throws -> PostgresQueryResult {
        if firstStatementAlone {
            // Refused for good once refused: a body that caught the error gets it again, and its result is dropped.
            guard statements == 0, !needsSnapshot else {
                needsSnapshot = true
                throw SnapshotNeeded()
            }
            statements += 1
        }
        let query = PostgresQuery(unsafeSQL: sql, binds: PostgresBindings(values))
        do {
            return try Self.answer(to: connection.query(query, logger: logger), on: connection)
        } catch let error as PSQLError {
            let mapped = PostgresStoreError.map(error)
            if case .conflict = mapped { conflicted = true }
            if PostgresStoreError.endsSession(error) || connection.isClosed { sessionLost = true }
            throw mapped.error
        } catch {
            if connection.isClosed { sessionLost = true }
            throw error
        }
    }

    /// Waits on this thread for `answer`, the answer to a statement sent on `connection`.
    ///
    /// PostgresNIO hands a statement to its channel without a promise for the write. On a connection that has
    /// closed (the database dropped it under the pool, a moment before the pool would have seen it) the write fails
    /// where nobody hears it, and the statement's future is never completed: `wait()` waited forever, and with it
    /// the request, the lease on the connection and a thread of the store's pool (a test run hung so, its database
    /// stopped under a pooled connection). So a closed connection ends the wait: at once when it was closed before
    /// the statement went out, else within a second of closing while the answer has not come.
    static func answer(
        to answer: EventLoopFuture<PostgresQueryResult>,
        on connection: PostgresConnection
    ) throws -> PostgresQueryResult {
        let outcome = Outcome()
        answer.whenComplete { result in
            outcome.result.withLock { $0 = result }
            outcome.answered.signal()
        }
        while outcome.answered.wait(timeout: .now() + .seconds(connection.isClosed ? 0 : 1)) == .timedOut {
            if connection.isClosed, outcome.result.withLock({ $0 }) == nil {
                throw StoreError.unavailable("the database connection closed before the statement was answered")
            }
        }
        return try outcome.result.withLock { $0 }!.get()
    }

    /// A statement's answer, handed from the event loop to the thread that waits for it.
    private final class Outcome: Sendable {
        let result = Mutex<Result<PostgresQueryResult, any Error>?>(nil)
        let answered = DispatchSemaphore(value: 0)
    }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ values: [PostgresValue] = []) throws -> Int {
        try query(sql, values).metadata.rows ?? 0
    }

    /// The first row of a query, decoded.
    func fetchOne<Record>(
        _ sql: String,
        _ values: [PostgresValue],
        _ decode: (PostgresRowReader) throws -> Record
    ) throws -> Record? {
        guard let row = try query(sql, values).rows.first else { return nil }
        return try decode(PostgresRowReader(row))
    }

    /// Every row of a query, decoded.
    func fetchAll<Record>(
        _ sql: String,
        _ values: [PostgresValue],
        _ decode: (PostgresRowReader) throws -> Record
    ) throws -> [Record] {
        try query(sql, values).rows.map { try decode(PostgresRowReader($0)) }
    }

    /// Inserts `row` through its table's INSERT.
    func insertRow<Record>(_ row: Record, _ columns: PostgresColumns<Record>) throws {
        try execute(columns.insertSQL, try columns.arguments(for: row))
    }

    /// Inserts `rows` in multi-row INSERTs of at most 500 rows each: one round trip per statement instead of one
    /// per row.
    func insertRows<Record>(_ rows: [Record], _ columns: PostgresColumns<Record>) throws {
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + 500, rows.endIndex)]
            try execute(columns.insertSQL(rows: chunk.count), try columns.arguments(for: chunk))
            start = chunk.endIndex
        }
    }

    /// Saves every column of `row` through its table's UPDATE.
    /// - Throws: ``PostgresStoreError/rowMissing(table:)`` when no row has `row`'s primary key, as the SQLite store
    ///   throws GRDB's `recordNotFound`.
    func updateRow<Record>(_ row: Record, _ columns: PostgresColumns<Record>) throws {
        guard try execute(columns.updateSQL, try columns.arguments(for: row)) > 0 else {
            throw PostgresStoreError.rowMissing(table: columns.table)
        }
    }

    // MARK: - PaymentIntents

    func paymentIntent(_ id: String) throws -> PaymentIntent? {
        try fetchOne(
            "SELECT * FROM payment_intents WHERE id = $1" + lockRow,
            [.text(id)],
            PostgresRecords.paymentIntent
        )
    }

    func insert(_ intent: PaymentIntent) throws {
        try insertRow(intent, PostgresRecords.paymentIntent)
    }

    /// A compare-and-set: in READ COMMITTED a second writer of the row waits for the first to commit and then
    /// re-checks the `status = $N` condition against the committed row, so of two racing updates from one status
    /// exactly one changes a row.
    @discardableResult
    func update(_ intent: PaymentIntent, expecting expected: PaymentIntentStatus) throws -> Bool {
        var arguments = try PostgresRecords.paymentIntent.arguments(for: intent)
        arguments.append(.text(expected.rawValue))
        return try execute(PostgresRecords.paymentIntentCompareAndSet, arguments) == 1
    }

    /// One compare-and-set per intent: each writes the whole row, the same as writing what changed since `before`.
    func update(intents changes: [(intent: PaymentIntent, before: PaymentIntent)]) throws -> Set<String> {
        var saved = Set<String>()
        for (intent, before) in changes where try update(intent, expecting: before.status) { saved.insert(intent.id) }
        return saved
    }

    // MARK: - Charges

    func charge(_ id: String) throws -> Charge? {
        try fetchOne("SELECT * FROM charges WHERE id = $1" + lockRow, [.text(id)], PostgresRecords.charge)
    }

    func paymentIntent(ofCharge id: String) throws -> String? {
        try fetchOne("SELECT payment_intent FROM charges WHERE id = $1", [.text(id)]) { row in
            try row.string("payment_intent")
        }
    }

    /// The pending charges of `paymentMethod` (index `charges_pending`). Nothing is locked: the caller holds the
    /// payment method's row, which a confirm reads (locked) before it records an attempt.
    func pendingCharges(paymentMethod: String) throws -> [Charge] {
        try fetchAll(
            "SELECT * FROM charges WHERE status = 'pending' AND payment_method = $1",
            [.text(paymentMethod)],
            PostgresRecords.charge
        )
    }

    func insert(_ charge: Charge) throws {
        try insertRow(charge, PostgresRecords.charge)
    }

    func insert(charges: [Charge]) throws {
        try insertRows(charges, PostgresRecords.charge)
    }

    func update(_ charge: Charge) throws {
        try updateRow(charge, PostgresRecords.charge)
    }

    func update(charges changes: [(charge: Charge, before: Charge)]) throws {
        for (charge, _) in changes { try update(charge) }
    }

    // MARK: - PaymentMethods

    func paymentMethod(_ id: String) throws -> PaymentMethod? {
        try fetchOne(
            "SELECT * FROM payment_methods WHERE id = $1" + lockRow,
            [.text(id)],
            PostgresRecords.paymentMethod
        )
    }

    func customer(ofPaymentMethod id: String) throws -> String? {
        try fetchOne("SELECT customer FROM payment_methods WHERE id = $1", [.text(id)]) { row in
            try row.optionalString("customer")
        } ?? nil
    }

    func insert(_ paymentMethod: PaymentMethod, card: SealedCard) throws {
        try insertRow(paymentMethod, PostgresRecords.paymentMethod)
        try execute(
            "INSERT INTO card_vault (payment_method, key_id, sealed) VALUES ($1, $2, $3)",
            [.text(paymentMethod.id), .text(card.keyID), .bytes(card.sealed)]
        )
    }

    func update(_ paymentMethod: PaymentMethod) throws {
        try updateRow(paymentMethod, PostgresRecords.paymentMethod)
    }

    func detachPaymentMethods(ofCustomer customer: String) throws {
        try execute("UPDATE payment_methods SET customer = NULL, reusable = 0 WHERE customer = $1", [.text(customer)])
    }

    func sealedCard(of paymentMethodID: String) throws -> SealedCard? {
        try fetchOne(
            "SELECT key_id, sealed FROM card_vault WHERE payment_method = $1" + lockRow,
            [.text(paymentMethodID)]
        ) { row in SealedCard(keyID: try row.string("key_id"), sealed: try row.data("sealed")) }
    }

    // MARK: - Customers

    func customer(_ id: String) throws -> Customer? {
        try fetchOne("SELECT * FROM customers WHERE id = $1" + lockRow, [.text(id)], PostgresRecords.customer)
    }

    func insert(_ customer: Customer) throws {
        try insertRow(customer, PostgresRecords.customer)
    }

    func update(_ customer: Customer) throws {
        try updateRow(customer, PostgresRecords.customer)
    }

    // MARK: - Refunds

    func refund(_ id: String) throws -> Refund? {
        try fetchOne("SELECT * FROM refunds WHERE id = $1" + lockRow, [.text(id)], PostgresRecords.refund)
    }

    func insert(_ refund: Refund) throws {
        try insertRow(refund, PostgresRecords.refund)
    }

    func update(_ refund: Refund) throws {
        try updateRow(refund, PostgresRecords.refund)
    }

    // MARK: - SetupIntents

    func setupIntent(_ id: String) throws -> SetupIntent? {
        try fetchOne("SELECT * FROM setup_intents WHERE id = $1" + lockRow, [.text(id)], PostgresRecords.setupIntent)
    }

    func insert(_ setupIntent: SetupIntent) throws {
        try insertRow(setupIntent, PostgresRecords.setupIntent)
    }

    @discardableResult
    func update(_ setupIntent: SetupIntent, expecting expected: SetupIntentStatus) throws -> Bool {
        var arguments = try PostgresRecords.setupIntent.arguments(for: setupIntent)
        arguments.append(.text(expected.rawValue))
        return try execute(PostgresRecords.setupIntentCompareAndSet, arguments) == 1
    }

    // MARK: - Events

    /// Holds `event` back until the transaction commits (``writeEventsInCommitOrder()``).
    func insert(_ event: Event) throws {
        pendingEvents.append(event)
    }

    func insert(events: [Event]) throws {
        pendingEvents += events
    }

    /// The advisory lock that keeps `GET /v1/events` in commit order: "paymevnt" in ASCII, beside the migrations'
    /// "payments" (``PostgresMigrator/lockKey``). Transactions that write events hold it shared from their events'
    /// INSERT to their commit (``writeEventsInCommitOrder()``); a list of events holds it exclusively while it reads
    /// (``events(types:created:page:)``).
    static let eventOrderLock: Int64 = 0x7061_796D_6576_6E74

    /// Writes the transaction's events as its last statements before COMMIT, holding ``eventOrderLock`` shared until
    /// the commit, with `created` raised to the newest committed event's.
    ///
    /// `GET /v1/events` pages by `(created, rowid)`, and a backend without webhooks polls it with `ending_before` the
    /// newest event it has seen. Transactions of several connections (and instances) take rowids as they insert but
    /// commit in another order, so an event could become visible behind the poller's cursor and never be seen: a
    /// probe polling while eight clients paid missed 47 of 4,236 events. A list of events takes the lock exclusively
    /// (waiting for the writers holding it to commit) and reads while it holds it, so every event it cannot see takes
    /// its rowid after the list is read, and its `created` is at least that of every event the list could show.
    /// Writers hold the lock shared, so they do not wait for each other, and their commits still share flushes of
    /// the write-ahead log; only a list of events makes them wait, for as long as it reads. (Holding it exclusively
    /// from the INSERT to the commit, instead, cut W1 on PostgreSQL from 285 to 188 requests a second.)
    func writeEventsInCommitOrder() throws {
        guard !pendingEvents.isEmpty else { return }
        try query("SELECT pg_advisory_xact_lock_shared($1)", [.integer(Self.eventOrderLock)])
        // A statement of its own, so that its snapshot is taken once the lock is held
        let newest = try fetchOne("SELECT max(created) AS newest FROM events", []) { try $0.optionalInt64("newest") }
        var events = pendingEvents
        pendingEvents = []
        // As the SQLite store raises each inserted event to the newest stored one, this transaction's earlier ones too
        var floor = (newest ?? nil) ?? Int64.min
        for index in events.indices {
            events[index].created = max(events[index].created, floor)
            floor = events[index].created
        }
        try insertRows(events, PostgresRecords.event)
    }

    func event(_ id: String) throws -> Event? {
        try fetchOne("SELECT * FROM events WHERE id = $1", [.text(id)], PostgresRecords.event)
    }

    /// Deletes up to `limit` of the oldest events created before `cutoff`; rows another instance is deleting are
    /// skipped, so two sweepers never wait on each other's batch.
    func pruneEvents(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        try execute(
            """
            DELETE FROM events WHERE id IN (
                SELECT id FROM events WHERE created < $1 ORDER BY created LIMIT $2\(skipLocked))
            """,
            [.integer(cutoff), .integer(Int64(limit))]
        )
    }
}
