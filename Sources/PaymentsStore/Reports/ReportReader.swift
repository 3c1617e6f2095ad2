import Foundation
import GRDB
import PaymentsCore
import PaymentsSQLite

/// A read-only connection for running reports from outside the server (`payments report`).
///
/// It opens the file with `SQLITE_OPEN_READONLY` and runs no migrations, so it can never change the database,
/// and in WAL mode its reads neither wait for the server's writes nor hold them up.
public struct ReportReader: Sendable {
    private let queue: DatabaseQueue
    private let path: String

    /// How long a read waits when SQLite reports the file busy (a checkpoint resetting the WAL, for instance):
    /// such moments last milliseconds, so five seconds only ever runs out when something is wrong.
    static let busyTimeout: TimeInterval = 5

    /// Opens the database at `path` read-only.
    /// - Throws: ``ReportError/databaseMissing(_:)`` when there is no file at `path`.
    public init(path: String) throws {
        // Before anything opens it: SQLite deletes the log beside a missing or empty file on a read-only open too
        try SQLiteFilePath.refuseOrphanedLog(path, role: "The database (--db, PAYMENTS_DB)")
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ReportError.databaseMissing(path)
        }
        guard !isFolder.boolValue else { throw ReportError.unreadable(path, "it is a folder, not a database file.") }
        self.path = path
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "payments.reports"
        self.queue = try Self.reading(path) { try DatabaseQueue(path: path, configuration: configuration) }
    }

    /// The names of the reports this database has (view names without `report_`), sorted.
    public func reportNames() throws -> [String] {
        try Self.reading(path) {
            try queue.read { db in
                try refuseForeign(db)
                return try Reports.names(db)
            }
        }
    }

    /// Runs the report `name` (`daily_volume`, or `report_daily_volume`).
    /// - Throws: ``ReportError/unknownReport(_:available:)`` for a name that is not a report.
    public func report(_ name: String) throws -> ReportTable {
        try Self.reading(path) {
            try queue.read { db in
                try refuseForeign(db)
                return try Reports.run(name, in: db)
            }
        }
    }

    /// Refuses a file with tables of another program's and none of the service's migrations (the card network's
    /// ledger, named by mistake): it was told it had no reports and to run `payments migrate`, which refuses it.
    private func refuseForeign(_ db: Database) throws {
        let tables = try NotAPaymentsDatabase.foreignTables(in: db)
        guard !tables.isEmpty else { return }
        throw ReportError.unreadable(path, "it " + NotAPaymentsDatabase(path: path, tables: tables).reason)
    }

    /// Runs `body`, saying what SQLite's bare codes mean for a report's reader (`SQLite error 8: attempt to write a
    /// readonly database` named neither the file nor what to do).
    static func reading<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            switch error.resultCode {
            case .SQLITE_NOTADB:
                throw ReportError.unreadable(path, "it is not an SQLite database.")
            case .SQLITE_CORRUPT:
                throw ReportError.unreadable(path, "SQLite finds it damaged (cut short, or overwritten).")
            case .SQLITE_READONLY, .SQLITE_CANTOPEN:
                throw ReportError.unreadable(
                    path,
                    "SQLite cannot open it read-only here. A database in WAL mode needs its -shm file beside it, "
                        + "which SQLite creates when missing: run the report as a user who may write to the folder "
                        + "(the server's data folder; the file itself stays unchanged), or on a copy in a folder you "
                        + "own (`sqlite3 DB \".backup COPY\"`)."
                )
            default:
                throw error
            }
        }
    }
}
