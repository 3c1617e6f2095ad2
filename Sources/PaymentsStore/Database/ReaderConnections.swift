import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The connections reads run on: SQLite connections in WAL mode (each read a snapshot that never waits for the
/// writer), handed out from a free list under a mutex and used on the calling thread.
///
/// GRDB's `DatabasePool` serves readers through a barrier dispatch queue, a semaphore and a dispatch group per read,
/// which under concurrent reads made threads wait on one another: a replay answered without its read took half the
/// CPU of one that read its key row (`perf stat`, W3 in `scripts/bench`). A read here takes a connection from the
/// list (or opens one when every connection is busy: as many exist as reads ever ran at once, at most the threads
/// that call in), runs, and puts it back. Each connection is `query_only`: a read can never write.
final class ReaderConnections: Sendable {
    private let free = Mutex<[Reader]>([])
    private let path: String
    private let busyTimeout: TimeInterval
    /// Connections kept when they come back; more are closed (only after a burst of more concurrent reads).
    private let kept: Int

    init(path: String, busyTimeout: TimeInterval, kept: Int) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.kept = kept
    }

    /// Connections free to lend now (for tests).
    var idle: Int { free.withLock { $0.count } }

    /// Runs `body` in a read transaction (a snapshot taken at its first read) on a free connection, on the calling
    /// thread.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let reader = try free.withLock { $0.popLast() } ?? open()
        // A connection left inside a transaction (its ROLLBACK failed) is not lent again: its next BEGIN would fail.
        var reusable = false
        defer {
            if reusable {
                free.withLock { list in
                    if list.count < kept { list.append(reader) }
                }
            }
        }
        return try reader.connection.inDatabase { db in
            defer { reusable = !db.isInsideTransaction }
            try reader.begin.run(db)
            let value: T
            do {
                value = try body(db)
            } catch {
                try? reader.rollback.run(db)
                throw error
            }
            try reader.commit.run(db)
            return value
        }
    }

    private func open() throws -> Reader {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "payments.reader"
        // The read's transaction is this type's to end; a connection left inside one is closed, not lent again
        // (GRDB would otherwise stop the process when a read returns inside a transaction).
        configuration.allowsUnsafeTransactions = true
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA query_only = ON") }
        return try Reader(DatabaseQueue(path: path, configuration: configuration))
    }
}

/// One reader connection, with the statements of its read transactions compiled once.
///
/// Beginning and ending a read through GRDB's `Statement.execute` (its checks and bookkeeping around each step, and
/// the statement cache's lookup by SQL text) was 4% of a retrieve's CPU under W2 in `perf`, as much as the SQLite
/// work of its `SELECT`. These run straight on SQLite. GRDB does not see them, and needs not: it reads the
/// transaction state from SQLite when asked (`isInsideTransaction`), and a reader has no transaction observers.
///
/// Used by one thread at a time (taken from the free list, on the connection's own queue), hence `@unchecked`.
private final class Reader: @unchecked Sendable {
    let connection: DatabaseQueue
    let begin: RawStatement
    let commit: RawStatement
    let rollback: RawStatement

    init(_ connection: DatabaseQueue) throws {
        self.connection = connection
        (begin, commit, rollback) = try connection.inDatabase { db in
            (
                try RawStatement(db, "BEGIN DEFERRED TRANSACTION"),
                try RawStatement(db, "COMMIT TRANSACTION"),
                try RawStatement(db, "ROLLBACK TRANSACTION")
            )
        }
    }
}

/// A statement without arguments or results, compiled by GRDB (which finalizes it with the connection) and stepped
/// straight on SQLite.
private struct RawStatement {
    private let statement: Statement

    init(_ db: Database, _ sql: String) throws {
        statement = try db.makeStatement(sql: sql)
    }

    /// Runs the statement to its end.
    func run(_ db: Database) throws {
        let sqlite = statement.sqliteStatement
        let code = sqlite3_step(sqlite)
        guard code == SQLITE_DONE else {
            // The message first: it belongs to the connection, and the reset may replace it
            let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
            sqlite3_reset(sqlite)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
        sqlite3_reset(sqlite)
    }
}
