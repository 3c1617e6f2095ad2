import PaymentsCore
import PostgresNIO

/// The PostgreSQL store's own failures, and how PostgresNIO's errors become the store-neutral ``StoreError`` that
/// the layers above see (they never import PostgresNIO).
enum PostgresStoreError: Error, CustomStringConvertible {
    /// A full-row update found no row with the row's key (the SQLite store throws GRDB's `recordNotFound`).
    case rowMissing(table: String)
    /// The server refused a statement; `message` is the server's primary message (never the statement's values,
    /// which PostgreSQL puts in the error's detail, left out here).
    case server(sqlState: String, message: String)
    /// COMMIT answered something else than COMMIT (PostgreSQL answers ROLLBACK to the COMMIT of a transaction
    /// that had failed): nothing was committed.
    case notCommitted(String)

    var description: String {
        switch self {
        case .rowMissing(let table): "No row of \(table) has the key of the row saved."
        case .server(let sqlState, let message): "PostgreSQL refused a statement: \(message) (SQLSTATE \(sqlState))."
        case .notCommitted(let tag): "The transaction was not committed: COMMIT answered \(tag)."
        }
    }

    /// What a statement's PSQLError means for the transaction.
    enum Mapped {
        /// A serialization failure (40001) or a deadlock (40P01): the whole transaction may run again.
        case conflict(any Error)
        /// Any other failure, as thrown to the body.
        case other(any Error)

        var error: any Error {
            switch self {
            case .conflict(let error), .other(let error): error
            }
        }
    }

    /// Maps a driver error: constraint violations (class 23) to ``StoreError/constraintViolated(constraint:sqlState:)``,
    /// a lock waited on too long to ``StoreError/locked(seconds:)``, conflicts to ``Mapped/conflict(_:)``, other server errors to ``server(sqlState:message:)``, and failures of the
    /// connection itself to ``StoreError/unavailable(_:)``.
    static func map(_ error: PSQLError) -> Mapped {
        guard let info = error.serverInfo, let sqlState = info[.sqlState] else {
            return .other(StoreError.unavailable("\(error.code)"))
        }
        if sqlState == "40001" || sqlState == "40P01" {
            return .conflict(PostgresStoreError.server(sqlState: sqlState, message: info[.message] ?? ""))
        }
        if sqlState == "55P03" {
            // lock_not_available: a lock held past ``PostgresPaymentStore/lockTimeout``
            return .other(StoreError.locked(seconds: Int(PostgresPaymentStore.lockTimeout.components.seconds)))
        }
        if sqlState.hasPrefix("23") {
            return .other(StoreError.constraintViolated(constraint: info[.constraintName], sqlState: sqlState))
        }
        return .other(PostgresStoreError.server(sqlState: sqlState, message: info[.message] ?? "unknown error"))
    }

    /// Whether `error` says the session itself ended: the connection closed or failed, or PostgreSQL ended the
    /// backend (class 57P: `pg_terminate_backend`, a shutdown or crash) or the connection (class 08).
    static func endsSession(_ error: PSQLError) -> Bool {
        if let sqlState = error.serverInfo?[.sqlState] {
            return sqlState.hasPrefix("57P") || sqlState.hasPrefix("08")
        }
        return [.serverClosedConnection, .connectionError, .uncleanShutdown].contains(error.code)
    }
}
