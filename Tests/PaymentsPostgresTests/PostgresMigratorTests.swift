import Foundation
import PaymentsPostgres
import PostgresNIO
import TestSupport
import Testing

/// The migration runner on a real PostgreSQL server: the service's own files on fresh databases, and small folders
/// of its own for changed and failing files.
@Suite("PostgreSQL migrations", .postgresCluster)
struct PostgresMigratorTests {
    static let logger = PostgresCluster.logger

    /// The service's migrations.
    static func serviceMigrations() throws -> PostgresMigrationSet {
        try PostgresMigrationSet(folder: PostgresCluster.migrations)
    }

    /// A temporary folder holding `files` (name → SQL).
    static func folder(_ files: [String: String]) throws -> URL {
        let folder = try TestPaths.temporaryFolder("payments-pg-migrations")
        for (name, sql) in files {
            try Data(sql.utf8).write(to: folder.appendingPathComponent(name))
        }
        return folder
    }

    @Test("a fresh database gets every file, in order, each recorded with its checksum")
    func freshDatabase() async throws {
        // Given a new empty database and the service's migrations
        let settings = try await PostgresCluster.freshDatabase()
        let migrations = try Self.serviceMigrations()
        #expect(migrations.migrations.map(\.name).first == "0001_initial")
        #expect(migrations.migrations.count == 16)

        // When they run
        let outcome = try await PostgresCluster.withConnection(settings) { connection in
            try await PostgresMigrator(migrations: migrations).migrate(on: connection, logger: Self.logger)
        }

        // Then every file applied once, in order, with its checksum recorded, and the tables and views exist
        #expect(outcome.applied == migrations.migrations.map(\.name))
        #expect(outcome.current == outcome.applied)
        try await PostgresCluster.withConnection(settings) { connection in
            let rows = try await connection.query(
                "SELECT name, checksum FROM schema_migrations ORDER BY name",
                logger: Self.logger
            )
            var recorded: [String: String] = [:]
            for try await (name, checksum) in rows.decode((String, String).self) { recorded[name] = checksum }
            #expect(recorded == Dictionary(uniqueKeysWithValues: migrations.migrations.map { ($0.name, $0.checksum) }))
            for name in [
                "payment_intents", "idempotency_keys", "events", "setup_intents", "vault_secrets",
                "report_daily_volume", "report_payments", "report_events_by_day",
            ] {
                #expect(try await PostgresCluster.exists(name, on: connection), "\(name)")
            }
            // (0003 rebuilds idempotency_keys as SQLite does; its constraints take the final table's names.)
            let leftover = try await PostgresCluster.integer(
                "SELECT count(*) FROM pg_constraint WHERE conname LIKE '%v3%'",
                on: connection
            )
            #expect(leftover == 0)
            #expect(
                try await PostgresMigrator(migrations: migrations).appliedMigrations(
                    on: connection,
                    logger: Self.logger
                )
                    == outcome.applied
            )
        }
    }

    @Test("a second run applies nothing")
    func secondRun() async throws {
        // Given a migrated database
        let settings = try await PostgresCluster.freshDatabase()
        let migrator = PostgresMigrator(migrations: try Self.serviceMigrations())
        let first = try await PostgresCluster.withConnection(settings) { connection in
            try await migrator.migrate(on: connection, logger: Self.logger)
        }

        // When the migrations run again, on a new connection
        let second = try await PostgresCluster.withConnection(settings) { connection in
            try await migrator.migrate(on: connection, logger: Self.logger)
        }

        // Then nothing was applied and the database is where it was
        #expect(first.applied.count == 16)
        #expect(second.applied.isEmpty)
        #expect(second.current == first.current)
        let count = try await PostgresCluster.withConnection(settings) { connection in
            try await PostgresCluster.integer("SELECT count(*) FROM schema_migrations", on: connection)
        }
        #expect(count == 16)
    }

    @Test("two runners starting at once apply each file exactly once")
    func concurrentRunners() async throws {
        // Given a new database, and the advisory lock held by a third connection so that both runners are surely
        // waiting at the same time
        let settings = try await PostgresCluster.freshDatabase()
        let migrator = PostgresMigrator(migrations: try Self.serviceMigrations())
        let holder = try await settings.connect(id: 99, logger: Self.logger)
        try await holder.query("SELECT pg_advisory_lock(\(PostgresMigrator.lockKey))", logger: Self.logger)

        // When two runners on two connections start, and the lock is then released
        async let first = PostgresCluster.withConnection(settings, id: 1) { connection in
            try await migrator.migrate(on: connection, logger: Self.logger)
        }
        async let second = PostgresCluster.withConnection(settings, id: 2) { connection in
            try await migrator.migrate(on: connection, logger: Self.logger)
        }
        // (Advisory locks belong to one database; other tests migrate their own meanwhile.)
        var waiting: Int64 = 0
        for _ in 0..<100 where waiting < 2 {
            try await Task.sleep(for: .milliseconds(50))
            waiting = try await PostgresCluster.integer(
                """
                SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """,
                on: holder
            )
        }
        let createdMeanwhile = try await PostgresCluster.exists("schema_migrations", on: holder)
        try await holder.query("SELECT pg_advisory_unlock(\(PostgresMigrator.lockKey))", logger: Self.logger)
        let outcomes = try await [first, second]
        try await holder.close()

        // Then both waited for the lock, one applied every file and the other found nothing to do
        #expect(waiting == 2)
        #expect(!createdMeanwhile)
        let all = try Self.serviceMigrations().migrations.map(\.name)
        #expect(outcomes.map(\.applied.count).sorted() == [0, all.count])
        #expect(outcomes.flatMap(\.applied) == all)
        #expect(outcomes.allSatisfy { $0.current == all })
        let count = try await PostgresCluster.withConnection(settings) { connection in
            try await PostgresCluster.integer("SELECT count(*) FROM schema_migrations", on: connection)
        }
        #expect(count == Int64(all.count))
    }

    @Test("an applied file that changed is refused before anything runs")
    func changedFile() async throws {
        // Given a database migrated from a folder
        let folder = try Self.folder([
            "0001_first.sql": "CREATE TABLE first_table (id BIGINT PRIMARY KEY);",
            "0002_second.sql": "CREATE TABLE second_table (id BIGINT PRIMARY KEY);",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try await PostgresCluster.freshDatabase()
        _ = try await PostgresCluster.withConnection(settings) { connection in
            try await PostgresMigrator(migrations: try PostgresMigrationSet(folder: folder.path))
                .migrate(on: connection, logger: Self.logger)
        }

        // When an applied file is edited (one comment added) and a new file added
        try Data("CREATE TABLE second_table (id BIGINT PRIMARY KEY); -- edited".utf8)
            .write(to: folder.appendingPathComponent("0002_second.sql"))
        try Data("CREATE TABLE third_table (id BIGINT PRIMARY KEY);".utf8)
            .write(to: folder.appendingPathComponent("0003_third.sql"))
        let changed = try PostgresMigrationSet(folder: folder.path)

        // Then the run is refused, naming the file, and the new file was not applied
        await #expect(throws: PostgresMigrationError.changed(name: "0002_second")) {
            try await PostgresCluster.withConnection(settings) { connection in
                try await PostgresMigrator(migrations: changed).migrate(on: connection, logger: Self.logger)
            }
        }
        let (third, recorded) = try await PostgresCluster.withConnection(settings) { connection in
            (
                try await PostgresCluster.exists("third_table", on: connection),
                try await PostgresCluster.integer("SELECT count(*) FROM schema_migrations", on: connection)
            )
        }
        #expect(!third)
        #expect(recorded == 2)
    }

    @Test("a failing file is rolled back whole, names its line, and leaves the lock free")
    func failingFile() async throws {
        // Given a folder whose second file fails at its second statement
        let folder = try Self.folder([
            "0001_good.sql": "CREATE TABLE good_table (id BIGINT PRIMARY KEY);",
            "0002_bad.sql": """
            -- A table, then a typo.
            CREATE TABLE half_table (id BIGINT PRIMARY KEY);

            CREATE TABEL typo_table (id BIGINT);
            """,
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let settings = try await PostgresCluster.freshDatabase()
        let migrator = PostgresMigrator(migrations: try PostgresMigrationSet(folder: folder.path))

        // When it runs
        let error = await #expect(throws: PostgresMigrationError.self) {
            try await PostgresCluster.withConnection(settings) { connection in
                try await migrator.migrate(on: connection, logger: Self.logger)
            }
        }

        // Then the error names the file, the statement's line and PostgreSQL's code (syntax error); the first file
        // stays applied, nothing of the second is, and another connection can take the lock at once
        guard case .failed(let name, let line, let sqlState, _) = error else {
            Issue.record("expected .failed, got \(String(describing: error))")
            return
        }
        #expect(name == "0002_bad")
        #expect(line == 4)
        #expect(sqlState == "42601")
        try await PostgresCluster.withConnection(settings) { connection in
            #expect(try await PostgresCluster.exists("good_table", on: connection))
            #expect(try await !PostgresCluster.exists("half_table", on: connection))
            let names = try await migrator.appliedMigrations(on: connection, logger: Self.logger)
            #expect(names == ["0001_good"])
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(\(PostgresMigrator.lockKey))",
                logger: Self.logger
            )
            for try await taken in rows.decode(Bool.self) { #expect(taken) }
        }
    }
}
