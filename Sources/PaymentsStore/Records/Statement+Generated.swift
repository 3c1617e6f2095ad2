import GRDB

extension Statement {
    /// Binds `arguments` to a statement the store built from a ``RowColumns`` list, without GRDB's check of the
    /// arguments against the statement's parameters: the statement's parameters and the arguments come from the
    /// same list of columns, so they agree by construction (a debug build still checks). The check looks up every
    /// parameter of every statement run, over a hundred in a multi-row statement, on the writer thread.
    func bind(_ arguments: StatementArguments) {
        assert((try? validateArguments(arguments)) != nil, "arguments that do not fit \(sql)")
        setUncheckedArguments(arguments)
    }

    /// Runs a statement the store built from a ``RowColumns`` list with `arguments`, the way that costs least for
    /// its number of `parameters`.
    ///
    /// GRDB binds at most ``temporaryBindingLimit`` arguments without copying them (SQLite's `SQLITE_STATIC`, valid
    /// while it runs the statement), checking them first; more, it copies them all into SQLite (`SQLITE_TRANSIENT`)
    /// after the same check. Up to the limit, GRDB's way is kept: a copy of each text argument costs more (a
    /// `malloc` each) than the check. Above it, the statement is bound without the check (``bind(_:)``).
    func run(_ arguments: StatementArguments, parameters: Int) throws {
        if parameters <= Self.temporaryBindingLimit {
            try execute(arguments: arguments)
        } else {
            bind(arguments)
            try execute()
        }
    }

    /// The most arguments GRDB's `execute(arguments:)` binds without copying them.
    static let temporaryBindingLimit = 20
}
