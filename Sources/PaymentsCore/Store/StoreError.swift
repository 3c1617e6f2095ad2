/// A store's failure in terms every layer above the store may see, whatever the database behind it: the use cases,
/// the HTTP layer and the CLI never import a database driver to recognise one.
///
/// No case holds a value of the row that failed (a card's sealed bytes, a customer's email): only the names of the
/// database's own objects, so that the error can be logged as it is.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A row broke a constraint of the schema (`sqlState` class 23): a unique key (a second succeeded charge for
    /// one intent), a foreign key, a CHECK. Nothing of the transaction was committed.
    case constraintViolated(constraint: String?, sqlState: String)
    /// The database kept refusing the transaction as conflicting with concurrent ones (serialization failures or
    /// deadlocks) after the store's bounded retries. Nothing was committed; the request may be retried.
    case conflict(attempts: Int)
    /// Another process held the database's write lock for longer than the store waits for it (SQLite's busy
    /// timeout): an admin's open write transaction, say. Nothing of the transaction ran; the request may be retried.
    case locked(seconds: Int)
    /// The database could not be reached, or the connection failed before the commit was confirmed: nothing is
    /// known to be committed, so the change is not reported as done.
    case unavailable(String)
    /// The connection to the database ended while the transaction's `COMMIT` was on its way: it may or may not
    /// have committed, so the change is neither reported as done nor taken as undone. Its request must stay
    /// resumable, and a caller without an idempotency key must read what it would have changed before sending it
    /// again (the sweeper completes a payment or a refund that did commit).
    case commitUnknown(String)
    /// The database's storage refused the write: its disk (or the file size it may reach) is full, or an I/O error.
    /// Nothing of the transaction was committed; the request may be retried once the storage is mended.
    case storage
    /// A file of the database was removed or replaced while the process ran (its `-wal` too): the transaction was
    /// not written, so that nothing is committed to a file no restart would find. The message says which file.
    case fileDisplaced(String)

    public var description: String {
        switch self {
        case .constraintViolated(let constraint, let sqlState):
            "The database refused the change: constraint \(constraint ?? "unnamed") (SQLSTATE \(sqlState))."
        case .conflict(let attempts):
            "The database refused the transaction as conflicting with concurrent ones \(attempts) times."
        case .unavailable(let reason):
            "The database is unavailable: \(reason)"
        case .locked(let seconds):
            "Another process held a lock this request needed (SQLite's write lock, or a PostgreSQL row or table lock) "
                + "for more than \(seconds) s."
        case .commitUnknown(let reason):
            "The connection to the database ended while the transaction was being committed (\(reason))."
        case .storage:
            "The service's storage refused the write (a full disk, or an I/O error)."
        case .fileDisplaced(let message):
            message
        }
    }
}

/// A database whose schema is older than this version's (migrations it has not applied), opened by a command that
/// works on the data without migrating it: migrating is `payments migrate`'s and `payments serve`'s (see
/// ``MigrationPolicy``).
public struct MigrationsPending: Error, Sendable, Equatable, CustomStringConvertible {
    /// The database, as its store names it (a path, or a URL without its password).
    public let database: String
    /// The migrations not applied, in order.
    public let pending: [String]

    /// Creates the error.
    public init(database: String, pending: [String]) {
        self.database = database
        self.pending = pending
    }

    public var description: String {
        "The database \(database) has \(pending.count) migration\(pending.count == 1 ? "" : "s") of this version "
            + "still to apply (\(pending.joined(separator: ", "))). Run `payments migrate` (stop `payments serve` "
            + "first on a large database: some migrations rebuild tables, and hold the write lock meanwhile), or "
            + "start `payments serve`, which applies them; then run this again. Nothing was changed."
    }
}

/// What opening a store does about migrations its database has not applied.
public enum MigrationPolicy: Sendable {
    /// Applies them (`payments migrate`, `payments serve`).
    case apply
    /// Refuses to open with ``MigrationsPending`` (`sweep`, `recharge`, `vault`: a cron job's sweep migrated a
    /// large database beside the previous version's running server, whose writes then waited out the lock).
    case require
    /// Opens what is there, as it is (`payments report`, which reads and changes nothing).
    case ignore
}
