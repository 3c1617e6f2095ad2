import Logging
import PostgresNIO

/// Applies the migrations of `migrations/postgres/` to a PostgreSQL database, as GRDB's migrator does for SQLite:
/// the pending files in order, each in its own transaction, each recorded in `schema_migrations` with the checksum
/// of its bytes.
///
/// Many instances may start at once on one database: the whole run holds a session advisory lock
/// (`pg_advisory_lock`), so the first migrates and the others wait, then find nothing left to do. An applied file
/// that has changed since is refused before anything runs. Migrations the database has and the folder lacks (a
/// newer instance's, during a rolling deploy) are left alone, as GRDB leaves them.
public struct PostgresMigrator: Sendable {
    /// The files to apply.
    public let migrations: PostgresMigrationSet

    /// The advisory lock every instance takes for a migration run: "payments" in ASCII, a number no other
    /// application on the database is likely to pick.
    public static let lockKey: Int64 = 0x7061_796D_656E_7473

    /// What a run found and did.
    public struct Outcome: Sendable, Equatable {
        /// The migrations this run applied, in order (empty when the database was up to date).
        public var applied: [String]
        /// Every migration the database has now, in the order they were applied.
        public var current: [String]
    }

    public init(migrations: PostgresMigrationSet) {
        self.migrations = migrations
    }

    /// Applies the pending migrations on `connection`, holding the advisory lock for the whole run.
    /// - Throws: ``PostgresMigrationError`` for a changed file or a failed statement (that file is rolled back,
    ///   the ones before it stay applied); PostgresNIO's errors when the connection fails.
    public func migrate(on connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
        do {
            let outcome = try await migrateHoldingLock(on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            return outcome
        } catch {
            // The lock is the session's: released here, or by the server when the connection closes.
            _ = try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
            throw error
        }
    }

    /// The migrations the database has, in the order they were applied (none before the first run).
    public func appliedMigrations(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await recorded(on: connection, logger: logger).map(\.name)
    }

    // MARK: - The run

    private func migrateHoldingLock(on connection: PostgresConnection, logger: Logger) async throws -> Outcome {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                name TEXT PRIMARY KEY NOT NULL,
                checksum TEXT NOT NULL,
                applied_at BIGINT NOT NULL DEFAULT (extract(epoch FROM now())::BIGINT)
            )
            """,
            logger: logger
        )
        let recorded = try await recorded(on: connection, logger: logger)
        let checksums = Dictionary(recorded.map { ($0.name, $0.checksum) }, uniquingKeysWith: { first, _ in first })
        for migration in migrations.migrations {
            if let checksum = checksums[migration.name], checksum != migration.checksum {
                throw PostgresMigrationError.changed(name: migration.name)
            }
        }
        let known = Set(migrations.migrations.map(\.name))
        for name in recorded.map(\.name) where !known.contains(name) {
            logger.notice("The database has a migration this folder lacks", metadata: ["migration": "\(name)"])
        }
        var applied: [String] = []
        for migration in migrations.migrations where checksums[migration.name] == nil {
            try await apply(migration, on: connection, logger: logger)
            logger.info("Applied migration", metadata: ["migration": "\(migration.name)"])
            applied.append(migration.name)
        }
        return Outcome(applied: applied, current: recorded.map(\.name) + applied)
    }

    /// Runs one file's statements and records it, in one transaction.
    private func apply(_ migration: PostgresMigrationSet.Migration, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query("BEGIN", logger: logger)
        do {
            for statement in SQLScript(migration.sql).statements {
                do {
                    try await connection.query(PostgresQuery(unsafeSQL: statement.sql), logger: logger)
                } catch let error as PSQLError where error.serverInfo != nil {
                    throw PostgresMigrationError.failed(
                        name: migration.name,
                        line: statement.line,
                        sqlState: error.serverInfo?[.sqlState],
                        message: error.serverInfo?[.message] ?? "unknown error"
                    )
                }
            }
            try await connection.query(
                "INSERT INTO schema_migrations (name, checksum) VALUES (\(migration.name), \(migration.checksum))",
                logger: logger
            )
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// The rows of `schema_migrations`, oldest first.
    private func recorded(on connection: PostgresConnection, logger: Logger) async throws -> [(
        name: String, checksum: String
    )] {
        var exists = false
        let table = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
        for try await found in table.decode(Bool.self) { exists = found }
        guard exists else { return [] }
        let rows = try await connection.query(
            "SELECT name, checksum FROM schema_migrations ORDER BY applied_at, name",
            logger: logger
        )
        var recorded: [(name: String, checksum: String)] = []
        for try await (name, checksum) in rows.decode((String, String).self) {
            recorded.append((name, checksum))
        }
        return recorded
    }
}
