import ArgumentParser
import Foundation
import PaymentsArchive
import PaymentsPostgres

/// The database `payments export` reads and `payments import` fills: the SQLite file (`--db`, as the other commands)
/// or a PostgreSQL database (`--database-url`).
struct ArchiveDatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "The SQLite database file (default data/payments.sqlite, or PAYMENTS_DB).")
    var db: String?

    @Option(
        name: .customLong("database-url"),
        help: "A PostgreSQL database, postgres://user:password@host:port/database?sslmode=… (or PAYMENTS_DATABASE_URL)."
    )
    var databaseURL: String?

    @Option(name: .long, help: "The config file (default config/development.json, or PAYMENTS_CONFIG).")
    var config: String?

    @Option(
        name: .long,
        help: "The folder of numbered .sql migrations (default migrations; PostgreSQL's are in its postgres/ folder)."
    )
    var migrations: String?

    func validate() throws {
        if db != nil && databaseURL != nil { throw ValidationError("Pass --db or --database-url, not both.") }
    }

    /// The database these options name: the SQLite file of `--db` (even beside a `PAYMENTS_DATABASE_URL`, which
    /// every other command refuses: here `--db` and the URL may name the two ends of a move), else the PostgreSQL
    /// database of `--database-url`, `PAYMENTS_DATABASE_URL` or the config file's `databaseURL`, else the SQLite file
    /// of the settings (`PAYMENTS_DB`, the config file, `data/payments.sqlite`).
    func database(environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> ArchiveDatabase {
        let settings = try await ServiceSettings.load(
            .init(
                config: config,
                db: db,
                migrations: migrations,
                databaseURL: databaseURL,
                databaseURLBesideDB: .ignored,
                usesKeys: false,
                usesLedger: false
            ),
            environment: environment
        )
        if let postgres = settings.databaseURL {
            return .postgres(postgres, migrations: settings.migrations + "/postgres")
        }
        return .sqlite(path: settings.db, migrations: settings.migrations)
    }
}
