import GRDB
import GRDBSQLite

extension Statement {
    /// Binds `values` to a statement the store built from a ``RowColumns`` list, straight to SQLite.
    ///
    /// GRDB's `StatementArguments` wraps every value again, through a generic `map` that GRDB cannot specialize for
    /// the caller's types (a key path instantiated and every element converted through a protocol witness on each
    /// statement), and checks the arguments against the statement's parameters, each of them, on every run. Here the
    /// statement's parameters and the values come from the same list of columns, so they agree by construction (a
    /// debug build still checks); the values are copied into SQLite (`SQLITE_TRANSIENT`), as GRDB copies them.
    ///
    /// GRDB is told the statement's arguments are set (an empty list), so that its `execute()` and `fetchAll` run
    /// the statement as bound, with their usual bookkeeping.
    func bind(_ values: [DatabaseValue]) {
        assert((try? validateArguments(StatementArguments(values))) != nil, "values that do not fit \(sql)")
        setUncheckedArguments(StatementArguments())
        let statement = sqliteStatement
        for (offset, value) in values.enumerated() {
            let index = CInt(offset + 1)
            let code: CInt
            switch value.storage {
            case .null:
                code = sqlite3_bind_null(statement, index)
            case .int64(let integer):
                code = sqlite3_bind_int64(statement, index, integer)
            case .double(let double):
                code = sqlite3_bind_double(statement, index, double)
            case .string(let text):
                code = sqlite3_bind_text(statement, index, text, -1, Self.transient)
            case .blob(let data):
                code = data.withUnsafeBytes { bytes in
                    sqlite3_bind_blob(statement, index, bytes.baseAddress, CInt(bytes.count), Self.transient)
                }
            }
            // Binding never reads the file; it fails only on a wrong index or SQLite out of memory.
            precondition(code == SQLITE_OK, "binding parameter \(index) of \(sql) failed (\(code))")
        }
    }

    /// Runs a statement the store built from a ``RowColumns`` list with `values`, the way that costs least for
    /// their number.
    ///
    /// GRDB binds at most ``temporaryBindingLimit`` arguments without copying them (SQLite's `SQLITE_STATIC`, valid
    /// while it runs the statement), after checking them; above, it copies every one into SQLite. Up to the limit,
    /// GRDB's way is kept: a copy of each text costs more (a `malloc` each) than the check. Above it, ``bind(_:)``.
    func run(_ values: [DatabaseValue]) throws {
        if values.count <= Self.temporaryBindingLimit {
            // Through GRDB's initializer for optional existentials: its initializer for a sequence of one concrete
            // type maps with a key path, which Swift instantiates at run time, demangling its generic arguments, on
            // every call (5% of the writer thread's CPU under W1, `perf record --call-graph dwarf`).
            let existentials: [(any DatabaseValueConvertible)?] = values.map { $0 }
            try execute(arguments: StatementArguments(existentials))
        } else {
            bind(values)
            try execute()
        }
    }

    /// The most arguments GRDB's `execute(arguments:)` binds without copying them.
    static let temporaryBindingLimit = 20

    /// SQLite's `SQLITE_TRANSIENT`: copy the value before the bind returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
