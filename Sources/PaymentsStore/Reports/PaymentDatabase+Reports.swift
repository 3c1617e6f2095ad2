import GRDB
import PaymentsCore

// MARK: - Reports

extension PaymentDatabase {
    /// The names of the reports (views named `report_*`, without the prefix), sorted.
    public func reportNames() async throws -> [String] {
        try await writer.read { db in try Reports.names(db) }
    }

    /// Runs the report `name` on a reader: a consistent snapshot that never waits for the writer.
    /// - Throws: ``ReportError/unknownReport(_:available:)`` unless `name` is one of ``reportNames()``.
    public func report(_ name: String) async throws -> ReportTable {
        try await writer.read { db in try Reports.run(name, in: db) }
    }
}
