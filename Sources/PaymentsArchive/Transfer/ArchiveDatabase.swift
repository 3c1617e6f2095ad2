import PaymentsPostgres

/// The database an export reads or an import fills: the SQLite file, or a PostgreSQL database.
public enum ArchiveDatabase: Sendable, CustomStringConvertible {
    /// A SQLite file, with the folder of its migrations (`migrations/`).
    case sqlite(path: String, migrations: String)
    /// A PostgreSQL database, with the folder of its migrations (`migrations/postgres/`).
    case postgres(PostgresSettings, migrations: String)

    /// `sqlite` or `postgres`, as the archive's header names its source.
    public var kind: String {
        switch self {
        case .sqlite: "sqlite"
        case .postgres: "postgres"
        }
    }

    /// The file's path, or the URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path, _): path
        case .postgres(let settings, _): settings.redactedURL
        }
    }
}
