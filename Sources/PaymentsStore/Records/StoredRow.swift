import GRDB
import Synchronization

/// A row type the store reads and writes with its own SQL on GRDB's fast layer: decoded by a handwritten
/// `init(row:)`, written by the INSERT and full-row UPDATE of its ``columns``.
///
/// GRDB's Codable records encode the whole value into a dictionary and build their statement's SQL from it on every
/// write; on the single writer thread that cost more than SQLite's own work. The statements here are built once and
/// prepared once per connection (`cachedStatement`): a write only computes its arguments.
protocol StoredRow: ColumnDecodable, TableRecord {
    /// The table's columns and the value each takes from a row.
    static var columns: RowColumns<Self> { get }
}

/// The columns a row type writes, with the value each takes from a row, and the INSERT and full-row UPDATE built
/// from them once. Both statements come from this one list, so they cannot drift apart.
///
/// The statements number their parameters in the list's order (`?1`, `?2`, ...), so one argument list serves both:
/// the UPDATE sets every column but the primary key and finds the row by the primary key's parameters. A column
/// of the table missing from the list keeps its default on INSERT and its value on UPDATE.
///
/// Values are stored as GRDB's Codable records stored them, so rows written before read back the same: enums as
/// their raw values, Bool as 0/1, `Data` as a blob and nested values as JSON text (``RowValue/jsonText(_:)``).
struct RowColumns<Record>: Sendable {
    /// How a column's value is taken from a row, as stored (``RowValue/stored(_:)``): a `DatabaseValue` rather
    /// than `any DatabaseValueConvertible`, so that building a statement's arguments boxes nothing and calls
    /// nothing dynamically (arguments built from existentials were 4% of W1's samples in `perf`).
    typealias Value = @Sendable (Record) throws -> DatabaseValue

    /// The table's name.
    let table: String
    /// `INSERT INTO table (...) VALUES (?1, ...)`.
    let insertSQL: String
    /// `UPDATE table SET column = ?N, ... WHERE key = ?K`: every column but the primary key, by the primary key.
    let updateSQL: String
    /// How many columns the statements write (their parameters, in order).
    private let count: Int
    private let values: [Value]
    /// The columns' names, in the list's order.
    private let names: [String]
    /// The primary key's columns, with their positions in the list.
    private let primaryKey: [(name: String, index: Int)]
    /// One row's `VALUES` tuple of a multi-row INSERT: `(?, ?, ...)`, with the expressions of `insertedAs`.
    private let tuple: String
    /// ``insertSQL(rows:)`` for the row counts the store's multi-row INSERTs use, built once.
    private let multiRowInsertSQL: [Int: String]
    /// ``updateSQL(changing:whereStill:)`` for each set of columns asked for so far: a handful per table.
    private let changingSQL = BuiltSQL<ChangingKey>()

    private struct ChangingKey: Hashable, Sendable {
        let changed: [Int]
        let still: Int?
    }

    /// Lists the columns of `table` in the order of their parameters; `primaryKey` names those that find a row.
    /// - Parameter insertedAs: for a column, the SQL expression its INSERTs store instead of its parameter, `?`
    ///   standing for the parameter (the events' `created` raised to the newest event's).
    init(
        table: String,
        primaryKey: [String],
        _ columns: KeyValuePairs<String, Value>,
        insertedAs: [String: String] = [:]
    ) {
        let names = columns.map(\.key)
        let key = primaryKey.map { column in
            guard let index = names.firstIndex(of: column) else {
                preconditionFailure("\(table): the primary key column \(column) is not listed")
            }
            return (name: column, index: index)
        }
        let quoted = names.map { "\"\($0)\"" }
        let parameters = names.indices.map { "?\($0 + 1)" }
        func inserted(_ index: Int, _ parameter: String) -> String {
            insertedAs[names[index]].map { $0.replacingOccurrences(of: "?", with: parameter) } ?? parameter
        }
        let set = names.indices.filter { !primaryKey.contains(names[$0]) }.map { "\(quoted[$0]) = \(parameters[$0])" }
        let find = key.map { "\(quoted[$0.index]) = \(parameters[$0.index])" }
        self.table = table
        self.insertSQL = """
            INSERT INTO "\(table)" (\(quoted.joined(separator: ", "))) \
            VALUES (\(names.indices.map { inserted($0, parameters[$0]) }.joined(separator: ", ")))
            """
        self.updateSQL = """
            UPDATE "\(table)" SET \(set.joined(separator: ", ")) WHERE \(find.joined(separator: " AND "))
            """
        self.count = names.count
        self.values = columns.map(\.value)
        self.names = names
        self.primaryKey = key
        let insertSQL = self.insertSQL
        let tuple = "(" + names.indices.map { inserted($0, "?") }.joined(separator: ", ") + ")"
        self.tuple = tuple
        self.multiRowInsertSQL = Dictionary(
            uniqueKeysWithValues: SQLiteTransaction.batchSizes.filter { $0 > 1 }.map { rows in
                (rows, Self.insertSQL(insertSQL, tuple: tuple, rows: rows))
            }
        )
    }

    /// ``updateSQL`` that also requires `column` to still hold the value of one more parameter, after the row's:
    /// a compare-and-set and the save in one statement.
    func updateSQL(whereStill column: String) -> String {
        updateSQL + " AND \"\(column)\" = ?\(count + 1)"
    }

    /// An UPDATE of one row that sets only the columns at `changed` (positions in the list), found by its primary
    /// key: `UPDATE table SET c = ?2, ... WHERE key = ?1 [AND still = ?N]`. Its arguments are the key's value, then
    /// the values at `changed` in order, then (with `still`) the value the column at that position must still hold.
    ///
    /// SQLite updates an index, and checks a CHECK constraint, only when the statement sets one of its columns, so
    /// a full-row UPDATE rewrites every index of the table and evaluates every constraint: an intent's full UPDATE
    /// (six indexes, then four `IN (...)` checks) cost three times one that sets its status. The shapes are few (the
    /// sets of columns a state change or an API update touches), each built once here and prepared once per
    /// connection.
    /// - Precondition: a single-column primary key, and `changed` in increasing order.
    func updateSQL(changing changed: [Int], whereStill still: Int?) -> String {
        changingSQL.sql(for: ChangingKey(changed: changed, still: still)) {
            let set = changed.enumerated().map { offset, index in "\"\(names[index])\" = ?\(offset + 2)" }
            var sql = "UPDATE \"\(table)\" SET \(set.joined(separator: ", ")) WHERE \"\(primaryKey[0].name)\" = ?1"
            if let still { sql += " AND \"\(names[still])\" = ?\(changed.count + 2)" }
            return sql
        }
    }

    /// An INSERT of `rows` rows in one statement: ``insertSQL``'s columns, with one `VALUES` tuple per row. Its
    /// parameters are anonymous (`?`), bound in order: GRDB looks up the name of every numbered parameter (`?N`)
    /// of a statement on each run, hundreds in a statement of twenty rows.
    func insertSQL(rows: Int) -> String {
        multiRowInsertSQL[rows] ?? Self.insertSQL(insertSQL, tuple: tuple, rows: rows)
    }

    private static func insertSQL(_ insertSQL: String, tuple: String, rows: Int) -> String {
        let head = insertSQL[..<insertSQL.range(of: " VALUES ")!.upperBound]
        return head + Array(repeating: tuple, count: rows).joined(separator: ", ")
    }

    /// The position of the column `name` in the list.
    func position(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The stored value of the column at `position` for `row`.
    func value(at position: Int, of row: Record) throws -> DatabaseValue {
        try values[position](row)
    }

    /// The columns whose stored value differs between `before` and `after`: their positions, and `after`'s values
    /// of them (each computed once: some are JSON text).
    func changes(from before: Record, to after: Record) throws -> (positions: [Int], values: [DatabaseValue]) {
        var changes: (positions: [Int], values: [DatabaseValue]) = ([], [])
        for (position, value) in values.enumerated() {
            let new = try value(after)
            guard try value(before) != new else { continue }
            changes.positions.append(position)
            changes.values.append(new)
        }
        return changes
    }

    /// The stored value of the primary key's (first) column for `row`.
    func keyValue(of row: Record) throws -> DatabaseValue {
        try values[primaryKey[0].index](row)
    }

    /// An UPDATE of `rows` rows in one statement, setting only the columns at `changed` (positions in the list), its
    /// arguments each row's key, the value its `still` column must hold (when given) and its values at `changed`:
    /// `UPDATE table SET column = v.columnN, ... FROM (VALUES (key, expected, value, ...), ...) AS v WHERE key =
    /// v.column1 [AND still = v.column2] RETURNING key`. With `still`, a row is saved only if that column still holds
    /// the value given (a compare-and-set); the statement returns the keys of the rows it saved.
    /// - Precondition: a single-column primary key.
    func updateSQL(rows: Int, changed: [Int], whereStill still: String?) -> String {
        let key = "\"\(primaryKey[0].name)\""
        let first = still == nil ? 2 : 3
        let set = changed.enumerated().map { offset, index in "\"\(names[index])\" = v.column\(first + offset)" }
        let width = first - 1 + changed.count
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        var sql = "UPDATE \"\(table)\" SET \(set.joined(separator: ", ")) FROM (VALUES "
        sql += Array(repeating: tuple, count: rows).joined(separator: ", ")
        sql += ") AS v WHERE \"\(table)\".\(key) = v.column1"
        if let still { sql += " AND \"\(table)\".\"\(still)\" = v.column2" }
        return sql + " RETURNING \"\(table)\".\(key)"
    }

    /// The values of ``insertSQL(rows:)``'s parameters for `rows`, one row's after another's.
    func values(of rows: some Collection<Record>) throws -> [DatabaseValue] {
        var values: [DatabaseValue] = []
        values.reserveCapacity(rows.count * count)
        for row in rows {
            for value in self.values { values.append(try value(row)) }
        }
        return values
    }

    /// The values of ``insertSQL`` and ``updateSQL``'s parameters for `row`.
    func values(of row: Record) throws -> [DatabaseValue] {
        try values.map { try $0(row) }
    }

    /// The primary key of `row`, as GRDB's `RecordError` names a row.
    func key(of row: Record) throws -> [String: DatabaseValue] {
        var key: [String: DatabaseValue] = [:]
        for column in primaryKey {
            key[column.name] = try values[column.index](row)
        }
        return key
    }
}

/// SQL text built on first use and kept, by what it was built for: the few shapes of a table's partial UPDATEs.
private final class BuiltSQL<Key: Hashable & Sendable>: Sendable {
    private let built = Mutex<[Key: String]>([:])

    func sql(for key: Key, build: () -> String) -> String {
        if let sql = built.withLock({ $0[key] }) { return sql }
        let sql = build()
        built.withLock { $0[key] = sql }
        return sql
    }
}
