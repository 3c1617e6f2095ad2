import Foundation
import GRDB
import PaymentsCore

/// A read-only connection for running reports from outside the server (`payments report`).
///
/// It opens the file with `SQLITE_OPEN_READONLY` and runs no migrations, so it can never change the database,
/// and in WAL mode its reads neither wait for the server's writes nor hold them up.
public struct ReportReader: Sendable {
    private let queue: DatabaseQueue

    /// How long a read waits when SQLite reports the file busy (a checkpoint resetting the WAL, for instance):
    /// such moments last milliseconds, so five seconds only ever runs out when something is wrong.
    static let busyTimeout: TimeInterval = 5

    /// Opens the database at `path` read-only.
    /// - Throws: ``ReportError/databaseMissing(_:)`` when there is no file at `path`.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ReportError.databaseMissing(path) }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.label = "payments.reports"
        self.queue = try DatabaseQueue(path: path, configuration: configuration)
    }

    /// The names of the reports this database has (view names without `report_`), sorted.
    public func reportNames() throws -> [String] {
        try queue.read { db in try Reports.names(db) }
    }

    /// Runs the report `name` (`daily_volume`, or `report_daily_volume`).
    /// - Throws: ``ReportError/unknownReport(_:available:)`` for a name that is not a report.
    public func report(_ name: String) throws -> ReportTable {
        try queue.read { db in try Reports.run(name, in: db) }
    }
}
