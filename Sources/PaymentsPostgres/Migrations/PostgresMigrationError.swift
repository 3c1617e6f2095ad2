/// Why a PostgreSQL migration run stopped.
public enum PostgresMigrationError: Error, Equatable, CustomStringConvertible {
    /// An applied file's bytes differ from those recorded when it was applied. Nothing was run.
    case changed(name: String)
    /// A statement of `name` failed on the server: that file was rolled back, the ones before it stay applied.
    /// `line` is where the statement starts in the file; `sqlState` is PostgreSQL's error code.
    case failed(name: String, line: Int, sqlState: String?, message: String)

    public var description: String {
        switch self {
        case .changed(let name):
            "Migration \(name) was changed after it was applied (its checksum differs from the one recorded in "
                + "schema_migrations). A migration once released is never edited: restore the file and put the "
                + "change in a new one."
        case .failed(let name, let line, let sqlState, let message):
            "Migration \(name) failed at line \(line): \(message)"
                + (sqlState.map { " (SQLSTATE \($0))" } ?? "") + ". Nothing of \(name) was applied."
        }
    }
}
