import GRDB
import PaymentsCore

/// The admin reports: SQL views named `report_*` (created by `migrations/0002_reports.sql`), listed and run by
/// name.
///
/// A name is never pasted into SQL as given: it is looked up among the `report_%` views the database actually has,
/// and only a name found there is run. Both ``PaymentDatabase`` (on its pool's readers) and ``ReportReader`` (a
/// read-only connection for `payments report`) run reports through here.
enum Reports {
    /// The prefix every report view's name has.
    static let prefix = "report_"

    /// The names of the reports in `db` (view names without `report_`), sorted.
    static func names(_ db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql:
                "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'report\\_%' ESCAPE '\\' ORDER BY name"
        )
        .map { String($0.dropFirst(prefix.count)) }
    }

    /// Runs the report `name` (with or without the `report_` prefix).
    /// - Throws: ``ReportError/unknownReport(_:available:)`` when `db` has no such view.
    static func run(_ name: String, in db: Database) throws -> ReportTable {
        let short = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
        let available = try names(db)
        guard available.contains(short) else { throw ReportError.unknownReport(name, available: available) }
        // `short` is one of the view names read from sqlite_master just above, so quoting it (its own quotes
        // doubled: an admin's view named with a `"` broke the statement) is enough.
        let statement = try db.makeStatement(sql: "SELECT * FROM \(SQLIdentifier.quoted(prefix + short))")
        let columns = statement.columnNames
        let rows = try Row.fetchAll(statement).map { row in
            (0..<columns.count).map { index in value(row[index] as DatabaseValue) }
        }
        return ReportTable(name: short, columns: columns, rows: rows)
    }

    /// A cell as a ``ReportValue``.
    static func value(_ value: DatabaseValue) -> ReportValue {
        switch value.storage {
        case .null: .null
        case .int64(let integer): .integer(integer)
        case .double(let real): .real(real)
        case .string(let text): .text(text)
        case .blob(let data): .text(String(decoding: data, as: UTF8.self))
        }
    }
}
