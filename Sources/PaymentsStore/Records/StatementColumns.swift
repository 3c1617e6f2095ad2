import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The columns of one result row, read by name: GRDB's `Row`, or ``StatementColumns`` where the store reads a row
/// in place. The row types decode from either with one handwritten initializer (``ColumnDecodable``).
protocol ColumnValues {
    /// The value of `column`, converted as GRDB's `Row` converts it: NULL (or a column the row does not have) is
    /// nil for an optional `Value`; a value that does not convert stops the process, as GRDB's `Row` does.
    subscript<Value: DatabaseValueConvertible>(_ column: String) -> Value { get }
}

extension Row: ColumnValues {}

/// A row type decoded by hand from ``ColumnValues``, by the store's reads (``StatementColumns``) and GRDB's
/// (`init(row:)`, which calls the same initializer) alike.
protocol ColumnDecodable: FetchableRecord {
    init<Columns: ColumnValues>(columns: Columns) throws
}

/// The current row of a statement the store steps itself, read in place.
///
/// GRDB wraps every fetched statement in a `Row` that lowercases and hashes the name of every column into a
/// dictionary, once per query: for a 30-column intent that cost more than decoding it (3% of `payments recharge`'s
/// CPU in `perf`, with the cursor around it 4%). Here the statement's column positions are computed once per SQL
/// text and checked at each use (``ColumnPositions``), and each value is read straight from the statement.
struct StatementColumns: ColumnValues {
    let statement: SQLiteStatement
    let positions: ColumnPositions

    /// Strings, integers and `Bool`s (and their optionals, NULL included: nearly every column of the row types) are
    /// read straight from the statement. Building a `DatabaseValue` for each column and converting it through
    /// `Optional`'s unspecialized conversion was 6.8% of a sweeper pass's writer thread in `perf` (it decodes 1,200
    /// intents of 30 columns), 4.0% without, most of the rest the lookup of the column's position. Each call site
    /// is specialized for one `Value`, so the type checks below are decided when compiling. Other types, and a value
    /// of another type than asked for, go through `DatabaseValue` as before.
    subscript<Value: DatabaseValueConvertible>(_ column: String) -> Value {
        guard let index = positions[column] else { return Self.decoded(.null, column) }
        switch sqlite3_column_type(statement, index) {
        case SQLITE_TEXT where Value.self == String.self || Value.self == String?.self:
            return Self.cast(String(cString: sqlite3_column_text(statement, index)))
        case SQLITE_INTEGER where Value.self == Int64.self || Value.self == Int64?.self:
            return Self.cast(sqlite3_column_int64(statement, index))
        case SQLITE_INTEGER where Value.self == Int.self || Value.self == Int?.self:
            return Self.cast(Int(sqlite3_column_int64(statement, index)))
        case SQLITE_INTEGER where Value.self == Bool.self || Value.self == Bool?.self:
            return Self.cast(sqlite3_column_int64(statement, index) != 0)
        case SQLITE_NULL where Value.self == String?.self:
            return Self.cast(String?.none)
        case SQLITE_NULL where Value.self == Int64?.self:
            return Self.cast(Int64?.none)
        case SQLITE_NULL where Value.self == Int?.self:
            return Self.cast(Int?.none)
        case SQLITE_NULL where Value.self == Bool?.self:
            return Self.cast(Bool?.none)
        default:
            return Self.decoded(DatabaseValue(sqliteStatement: statement, index: index), column)
        }
    }

    /// `value` as `Value`, which is its type or the optional of it (the cases above check which). Each use is
    /// specialized for one `Value`, where the cast is known to succeed and costs nothing.
    @inline(__always)
    private static func cast<Wrapped, Value>(_ value: Wrapped) -> Value {
        Value.self == Wrapped.self ? value as! Value : Optional(value) as! Value
    }

    /// `value` as a `Value`; stops the process when it is not one (NULL for a column that cannot be nil, or
    /// another type), as GRDB's `Row` does.
    private static func decoded<Value: DatabaseValueConvertible>(_ value: DatabaseValue, _ column: String) -> Value {
        guard let decoded = Value.fromDatabaseValue(value) else {
            preconditionFailure("column \(column) holds \(value), which is not a \(Value.self)")
        }
        return decoded
    }
}

/// The position of each column of a statement's result, by name, computed once per SQL text.
///
/// Each use checks the statement's column names against the ones the positions were computed from (a byte
/// comparison per column, far cheaper than building the map): a schema that changed under the same SQL text, or
/// another database whose table orders its columns differently, gets positions of its own.
final class ColumnPositions: Sendable {
    /// The columns' names as SQLite reports them, NUL-terminated.
    private let names: [[CChar]]
    private let positions: [String: CInt]

    private init(_ statement: SQLiteStatement) {
        var names: [[CChar]] = []
        var positions: [String: CInt] = [:]
        for index in 0..<sqlite3_column_count(statement) {
            let name = sqlite3_column_name(statement, index).map { String(cString: $0) } ?? ""
            names.append(Array(name.utf8CString))
            // The first column of a name wins, as in GRDB's `Row`
            let lowercase = name.lowercased()
            if positions[lowercase] == nil { positions[lowercase] = index }
        }
        self.names = names
        self.positions = positions
    }

    /// The position of `column` (a lowercase name, as the row types use), if the result has it.
    subscript(_ column: String) -> CInt? { positions[column] }

    /// Whether `statement`'s result has exactly these columns, in this order.
    private func describes(_ statement: SQLiteStatement) -> Bool {
        guard sqlite3_column_count(statement) == names.count else { return false }
        for (index, name) in names.enumerated() {
            guard let current = sqlite3_column_name(statement, CInt(index)),
                name.withUnsafeBufferPointer({ strcmp(current, $0.baseAddress!) }) == 0
            else { return false }
        }
        return true
    }

    private static let known = Mutex<[String: ColumnPositions]>([:])

    /// The positions of the result columns of `statement`, prepared from `sql`. (The SQL text the caller has is
    /// the key: GRDB's `Statement.sql` makes a new, trimmed string on every call.)
    static func of(_ statement: SQLiteStatement, sql: String) -> ColumnPositions {
        if let positions = known.withLock({ $0[sql] }), positions.describes(statement) { return positions }
        let positions = ColumnPositions(statement)
        known.withLock { $0[sql] = positions }
        return positions
    }
}

extension Database {
    /// Runs `sql` with `arguments` on its statement cached by this connection, and decodes each of its rows in
    /// place, at most `limit` of them.
    func fetch<Record: ColumnDecodable>(
        _ type: Record.Type,
        sql: String,
        _ arguments: StatementArguments,
        limit: Int = .max
    ) throws -> [Record] {
        let statement = try cachedStatement(sql: sql)
        try statement.setArguments(arguments)
        let sqlite = statement.sqliteStatement
        // A statement left stepping would hold its read of the database open
        defer { sqlite3_reset(sqlite) }
        let positions = ColumnPositions.of(sqlite, sql: sql)
        var records: [Record] = []
        while records.count < limit {
            switch sqlite3_step(sqlite) {
            case SQLITE_ROW:
                records.append(try Record(columns: StatementColumns(statement: sqlite, positions: positions)))
            case SQLITE_DONE:
                return records
            case let code:
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: sqliteConnection.map { String(cString: sqlite3_errmsg($0)) },
                    sql: sql,
                    arguments: arguments
                )
            }
        }
        return records
    }
}
