/// The columns a row type writes, with the value each takes from a row, and the INSERT and full-row UPDATE built
/// from them once: the PostgreSQL twin of the SQLite store's `RowColumns`, listing the same columns in the same
/// encodings, so that a row written by either store looks the same to an admin's SQL and to the `report_*` views.
///
/// Parameters are numbered in the list's order (`$1`, `$2`, ...), so one argument list serves both statements: the
/// UPDATE sets every column but the primary key and finds the row by the primary key's parameters. Values are
/// always bound, never pasted into the SQL text.
struct PostgresColumns<Record>: Sendable {
    /// How a column's value is taken from a row, as stored.
    typealias Value = @Sendable (Record) throws -> any PostgresValueConvertible

    /// The table's name.
    let table: String
    /// `INSERT INTO table (...) VALUES ($1, ...)`.
    let insertSQL: String
    /// `UPDATE table SET column = $N, ... WHERE key = $K`.
    let updateSQL: String
    private let count: Int
    private let values: [Value]

    /// Lists the columns of `table` in the order of their parameters; `primaryKey` names those that find a row.
    init(table: String, primaryKey: [String], _ columns: KeyValuePairs<String, Value>) {
        let names = columns.map(\.key)
        let quoted = names.map { "\"\($0)\"" }
        let parameters = names.indices.map { "$\($0 + 1)" }
        let set = names.indices.filter { !primaryKey.contains(names[$0]) }.map { "\(quoted[$0]) = \(parameters[$0])" }
        let find = names.indices.filter { primaryKey.contains(names[$0]) }.map {
            "\(quoted[$0]) = \(parameters[$0])"
        }
        self.table = table
        self.insertSQL = """
            INSERT INTO "\(table)" (\(quoted.joined(separator: ", "))) VALUES (\(parameters.joined(separator: ", ")))
            """
        self.updateSQL = """
            UPDATE "\(table)" SET \(set.joined(separator: ", ")) WHERE \(find.joined(separator: " AND "))
            """
        self.count = names.count
        self.values = columns.map(\.value)
    }

    /// ``updateSQL`` that also requires `column` to still hold the value of one more parameter, after the row's:
    /// a compare-and-set and the save in one statement.
    func updateSQL(whereStill column: String) -> String {
        updateSQL + " AND \"\(column)\" = $\(count + 1)"
    }

    /// An INSERT of `rows` rows in one statement: ``insertSQL``'s columns, with one `VALUES` tuple per row, its
    /// parameters numbered on from the previous row's.
    func insertSQL(rows: Int) -> String {
        let tuples = (0..<rows).map { row in
            "(" + (1...count).map { "$\(row * count + $0)" }.joined(separator: ", ") + ")"
        }
        let head = insertSQL[..<insertSQL.range(of: " VALUES ")!.upperBound]
        return head + tuples.joined(separator: ", ")
    }

    /// The arguments of ``insertSQL(rows:)`` for `rows`, one row's after another's.
    func arguments(for rows: some Collection<Record>) throws -> [PostgresValue] {
        var arguments: [PostgresValue] = []
        arguments.reserveCapacity(rows.count * count)
        for row in rows { arguments += try self.arguments(for: row) }
        return arguments
    }

    /// The arguments of ``insertSQL`` and ``updateSQL`` for `row`.
    func arguments(for row: Record) throws -> [PostgresValue] {
        try values.map { try $0(row).postgresValue }
    }
}
