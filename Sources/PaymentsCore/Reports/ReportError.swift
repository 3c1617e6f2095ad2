/// Why a report cannot be run.
public enum ReportError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `report_NAME` view exists; `available` lists the names that do.
    case unknownReport(String, available: [String])
    /// The database file does not exist.
    case databaseMissing(String)
    /// The file cannot be read as a database, for the reason given.
    case unreadable(String, String)

    public var description: String {
        switch self {
        case .unknownReport(let name, let available):
            available.isEmpty
                ? "There is no report named '\(name)', and this database has no reports at all: run `payments "
                    + "migrate` to create them."
                : "There is no report named '\(name)'. Reports: \(available.joined(separator: ", "))."
        case .databaseMissing(let path):
            "There is no database at '\(path)'. Pass --db (or set PAYMENTS_DB), or start the server once to create it."
        case .unreadable(let path, let reason):
            "Cannot read '\(path)': \(reason)"
        }
    }
}
