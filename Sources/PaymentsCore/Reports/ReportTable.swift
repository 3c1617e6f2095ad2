/// The rows of one report, in the view's column order.
public struct ReportTable: Sendable, Equatable {
    /// The report's name: the view's name without `report_`.
    public var name: String
    /// The view's column names, in order.
    public var columns: [String]
    /// One array of cells per row, each as long as `columns`.
    public var rows: [[ReportValue]]

    /// Creates a table.
    public init(name: String, columns: [String], rows: [[ReportValue]]) {
        self.name = name
        self.columns = columns
        self.rows = rows
    }

    /// The rows as dictionaries keyed by column, for tests and lookups.
    public var records: [[String: ReportValue]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns, row)) }
    }
}
