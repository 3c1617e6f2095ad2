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
            Self.bind(value, to: statement, at: CInt(offset + 1), Self.transient) {}
        }
    }

    /// Runs a statement the store built from a ``RowColumns`` list with `values`.
    ///
    /// Up to ``temporaryBindingLimit`` values are bound without copying them, as GRDB's `execute(arguments:)` binds
    /// them (SQLite's `SQLITE_STATIC`: each text and blob is read in place while the statement runs, then the
    /// bindings are cleared), but without GRDB's conversions: its `StatementArguments` boxes every value into an
    /// existential and maps them back through a generic, unspecialized `map` (2% of the writer thread's CPU under
    /// W1, `perf record --call-graph dwarf`). Above the limit, where nesting a closure per value would grow the stack
    /// without bound, ``bind(_:)`` copies them.
    func run(_ values: [DatabaseValue]) throws {
        assert((try? validateArguments(StatementArguments(values))) != nil, "values that do not fit \(sql)")
        setUncheckedArguments(StatementArguments())
        if values.count <= Self.temporaryBindingLimit {
            let statement = sqliteStatement
            // Never leave the statement pointing at memory that is gone
            defer { sqlite3_clear_bindings(statement) }
            try Self.withBindings(values[...], to: statement, from: 1) { try execute() }
        } else {
            bind(values)
            try execute()
        }
    }

    /// Binds `values` from position `index` on without copying them, then runs `body` while they are in place.
    private static func withBindings(
        _ values: ArraySlice<DatabaseValue>,
        to statement: SQLiteStatement,
        from index: CInt,
        _ body: () throws -> Void
    ) throws {
        guard let value = values.first else { return try body() }
        // nil: SQLite's SQLITE_STATIC, each text and blob stays where it is until the bindings are cleared.
        try bind(value, to: statement, at: index, nil) {
            try withBindings(values.dropFirst(), to: statement, from: index + 1, body)
        }
    }

    /// Binds `value` at `index` (with `destructor`: ``transient`` has SQLite copy a text or blob, nil reads it in
    /// place), then runs `body` while a text's or blob's bytes are still where they were bound from.
    ///
    /// A text goes through `withCString`, a native string's own bytes: handing the `String` to the C parameter
    /// directly made Swift copy it into a new array first.
    private static func bind(
        _ value: DatabaseValue,
        to statement: SQLiteStatement,
        at index: CInt,
        _ destructor: sqlite3_destructor_type?,
        _ body: () throws -> Void
    ) rethrows {
        let code: CInt
        switch value.storage {
        case .null:
            code = sqlite3_bind_null(statement, index)
        case .int64(let integer):
            code = sqlite3_bind_int64(statement, index, integer)
        case .double(let double):
            code = sqlite3_bind_double(statement, index, double)
        case .string(let text):
            return try text.withCString { pointer in
                checked(sqlite3_bind_text(statement, index, pointer, -1, destructor), index: index)
                try body()
            }
        case .blob(let data):
            return try data.withUnsafeBytes { bytes in
                checked(
                    sqlite3_bind_blob(statement, index, bytes.baseAddress, CInt(bytes.count), destructor),
                    index: index
                )
                try body()
            }
        }
        checked(code, index: index)
        try body()
    }

    /// Binding never reads the file; it fails only on a wrong index or SQLite out of memory.
    private static func checked(_ code: CInt, index: CInt) {
        precondition(code == SQLITE_OK, "binding parameter \(index) failed (\(code))")
    }

    /// The most values ``run(_:)`` binds in place, one nested closure each (GRDB's own limit for the same).
    static let temporaryBindingLimit = 20

    /// SQLite's `SQLITE_TRANSIENT`: copy the value before the bind returns.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
}
