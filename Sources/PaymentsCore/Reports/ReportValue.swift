/// One cell of a report: SQLite's storage classes as they come out of a `report_*` view.
public enum ReportValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    /// The integer, when the cell holds one.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// Whether the cell holds a number (an integer or a real).
    public var isNumber: Bool {
        switch self {
        case .integer, .real: true
        case .null, .text: false
        }
    }

    /// The text, when the cell holds some.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}
