import Foundation
import GRDB
import Payments
import PaymentsArchive
import PaymentsCore
import PaymentsPostgres
import PostgresNIO
import TestSupport
import Testing

/// An archive carries every row from one store to the other and back unchanged: the same rows, the same
/// `report_*` rows, and PostgreSQL's identities set past the imported rowids.
@Suite("Export and import between SQLite and PostgreSQL", .archiveCluster)
struct ArchiveRoundTripTests {
    static let logger = ArchiveCluster.logger

    /// A fixed export time, so tests see the header they expect.
    static let exportedAt: Int64 = 1_767_312_000

    @Test("SQLite → archive → PostgreSQL → archive: the same rows, the same report rows, identities past the rows")
    func sqliteToPostgres() async throws {
        // Given a SQLite database with every kind of row
        let source = try await Self.sqliteWithEveryRow()

        // When it is exported, imported into a new PostgreSQL database and exported again
        let first = try await Self.export(source)
        let target = try await ArchiveCluster.freshPostgres()
        let imported = try await ArchiveImport(database: target, logger: Self.logger).run(input: first.path)
        let second = try await Self.export(target)

        // Then the two archives hold the same lines but the header (its source) and the last line (whose hash
        // covers the header)
        let firstLines = try Self.lines(first)
        let secondLines = try Self.lines(second)
        #expect(firstLines.count > 100)
        Self.expectSameLines(firstLines, secondLines)
        #expect(try Self.header(first).source == "sqlite")
        #expect(try Self.header(second).source == "postgres")
        #expect(try Self.header(second).migrations == (try Self.header(first).migrations))
        #expect(try Self.header(first).exportedAt == Self.exportedAt)

        // And every table holds the same rows on both, none of the tables is empty, and so does every report view
        #expect(imported.count == ArchiveCluster.tableOrders.count)
        #expect(imported.allSatisfy { $0.rows > 0 }, "\(imported)")
        let sourceRows = try await ArchiveCluster.everything(in: source)
        let targetRows = try await ArchiveCluster.everything(in: target)
        for (table, _) in ArchiveCluster.tableOrders {
            #expect(sourceRows[table] == targetRows[table], "\(table)")
        }
        try await Self.expectSameReports(source, target)

        // And a row inserted afterwards gets a rowid past the imported ones
        guard case .postgres(let settings, _) = target else { return }
        try await ArchiveCluster.withConnection(settings) { connection in
            for table in ["customers", "events"] {
                let highest = try await Self.integer("SELECT max(rowid) FROM \(table)", on: connection)
                let next = try await Self.integer(
                    table == "customers"
                        ? "INSERT INTO customers (id, created) VALUES ('cus_after_import', 1) RETURNING rowid"
                        : "INSERT INTO events (id, created, type, object_type, object_id, snapshot) "
                            + "VALUES ('evt_after_import', 1, 'customer.created', 'customer', 'cus_x', '{}') "
                            + "RETURNING rowid",
                    on: connection
                )
                #expect(next > highest, "\(table): \(next) after \(highest)")
            }
        }
    }

    @Test("PostgreSQL → archive → SQLite → archive: the same rows and report rows")
    func postgresToSQLite() async throws {
        // Given a PostgreSQL database filled from a SQLite database with every kind of row
        let original = try await Self.sqliteWithEveryRow()
        let postgres = try await ArchiveCluster.freshPostgres()
        _ = try await ArchiveImport(database: postgres, logger: Self.logger).run(input: try Self.export(original).path)

        // When it is exported, imported into a new SQLite file and exported again
        let first = try await Self.export(postgres)
        let target = try ArchiveCluster.freshSQLite()
        _ = try await ArchiveImport(database: target, logger: Self.logger).run(input: first.path)
        let second = try await Self.export(target)

        // Then the two archives hold the same lines but the header (its source) and the last line (whose hash
        // covers the header)
        Self.expectSameLines(try Self.lines(first), try Self.lines(second))
        #expect(try Self.header(second).source == "sqlite")

        // And the new SQLite file holds the PostgreSQL rows, and the original's, with the same report rows
        let postgresRows = try await ArchiveCluster.everything(in: postgres)
        let targetRows = try await ArchiveCluster.everything(in: target)
        let originalRows = try await ArchiveCluster.everything(in: original)
        for (table, _) in ArchiveCluster.tableOrders {
            #expect(postgresRows[table] == targetRows[table], "\(table)")
            #expect(originalRows[table] == targetRows[table], "\(table)")
        }
        try await Self.expectSameReports(postgres, target)
    }

    @Test("a new archive is readable by its owner only; one written over an archive keeps that file's mode")
    func archiveMode() async throws {
        // Given a database, and an archive made readable by its group (it holds customers' emails and secrets)
        let environment = try TestEnvironment()
        let database = ArchiveDatabase.sqlite(path: environment.database.path, migrations: TestPaths.migrations)
        let file = try await Self.export(database)
        func mode() throws -> Int {
            (try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int) ?? -1
        }
        // Then the new archive is 0600, whatever the umask
        #expect(try mode() == 0o600)
        // And written again over an archive of mode 0640, it keeps 0640 (it came out 0644: readable by everyone)
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: file.path)
        _ = try await ArchiveExport(database: database, clock: .fixed(Self.exportedAt), logger: Self.logger)
            .run(output: file.path)
        #expect(try mode() == 0o640)
    }

    @Test("a SQLite file of another program (the card network's ledger) is not exported; nothing is written")
    func foreignSourceRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-archive")
        let ledger = folder.appendingPathComponent("card-network.sqlite").path
        try await DatabaseQueue(path: ledger).write { db in
            try db.execute(
                sql: "CREATE TABLE authorizations (id TEXT PRIMARY KEY); INSERT INTO authorizations VALUES ('a')"
            )
        }
        let output = folder.appendingPathComponent("ledger.archive").path
        let error = await #expect(throws: ArchiveError.self) {
            _ = try await ArchiveExport(
                database: .sqlite(path: ledger, migrations: TestPaths.migrations),
                clock: .fixed(Self.exportedAt),
                logger: Self.logger
            ).run(output: output)
        }
        #expect("\(error.map { String(describing: $0) } ?? "")".contains("is not a payments database"))
        // It exited 0 with an archive that import refused, once the source might be gone
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["card-network.sqlite"])
    }

    @Test("the rowid tables are those whose PostgreSQL table has the identity rowid column")
    func rowidTables() async throws {
        // Given a migrated PostgreSQL database
        let database = try await ArchiveCluster.freshPostgres()
        guard case .postgres(let settings, let folder) = database else { return }
        let identities = try await ArchiveCluster.withConnection(settings) { connection in
            _ = try await PostgresMigrator(migrations: try PostgresMigrationSet(folder: folder))
                .migrate(on: connection, logger: Self.logger)
            var tables: Set<String> = []
            let rows = try await connection.query(
                """
                SELECT table_name::text FROM information_schema.columns
                WHERE table_schema = current_schema() AND column_name = 'rowid' AND is_identity = 'YES'
                """,
                logger: Self.logger
            )
            for try await table in rows.decode(String.self) { tables.insert(table) }
            return tables
        }

        // Then those tables are exactly the ones whose rowid the archive carries
        #expect(identities == ArchiveSchema.tablesWithRowid)
    }

    // MARK: - The source

    /// A SQLite database with every kind of row: the report script's two days of payments (intents, charges,
    /// refunds, declines, 3-D Secure, events), a setup intent, a card saved through the use case (sealed), the
    /// sample rows of both shapes, idempotency keys with saved responses, and a vault secret.
    static func sqliteWithEveryRow() async throws -> ArchiveDatabase {
        let made = try await ReportScript.twoDays()
        let environment = made.environment
        _ = try await environment.setupIntents.create(.init(customer: made.customer.id))
        let saved = try await environment.paymentMethods.create(
            .init(card: .init(number: "4000002500003155", expMonth: 12, expYear: 2034, cvc: "864"))
        )
        _ = try await environment.paymentMethods.attach(saved.id, customer: made.customer.id)
        try await environment.database.write { tx in
            try SampleRows(.full, suffix: "sample_full").insert(in: tx)
            try SampleRows(.bare, suffix: "sample_bare").insert(in: tx)
        }
        let queue = try DatabaseQueue(path: environment.database.path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    INSERT INTO idempotency_keys (api_key, key, created, expires_at, method, path, fingerprint,
                        recovery_point, payment_intent, request_id, response_status, response_body)
                    VALUES ('scope_a', 'key "ü" \\ tab\t', 100, 86500, 'POST', '/v1/payment_intents', 'f',
                        'finished', 'pi_x', 'req_1', 402, ?),
                        ('recharge', 'ref-1', 100, NULL, 'POST', '/recharge', 'g', 'started', NULL, 'req_2',
                        NULL, NULL)
                    """,
                arguments: [Data("{\"error\":\"ü\"}\n".utf8) + Data([0, 255, 10, 13, 92])]
            )
            try db.execute(
                sql: "INSERT INTO vault_secrets (name, key_id, sealed) VALUES ('fingerprint', 'vk_1', ?)",
                arguments: [Data([1, 2, 3, 0, 254])]
            )
        }
        return .sqlite(path: environment.database.path, migrations: TestPaths.migrations)
    }

    // MARK: - Helpers

    /// Exports `database` to a new file.
    static func export(_ database: ArchiveDatabase) async throws -> URL {
        let file = try TestPaths.temporaryFolder("payments-archive").appendingPathComponent("archive.jsonl")
        _ = try await ArchiveExport(database: database, clock: .fixed(exportedAt), logger: logger)
            .run(output: file.path)
        let left = try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path)
        #expect(left == [file.lastPathComponent], "the temporary file is renamed, nothing else is left")
        return file
    }

    static func lines(_ file: URL) throws -> [Substring] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    }

    static func header(_ file: URL) throws -> ArchiveLines.Header {
        let first = try #require(try lines(file).first)
        return try JSONDecoder().decode(ArchiveLines.Header.self, from: Data(first.utf8))
    }

    /// The same lines in the same order between the header and the last line (the archive's hash, which covers
    /// the header); a difference is reported by its first differing line, not the whole files.
    static func expectSameLines(_ one: [Substring], _ other: [Substring]) {
        #expect(one.count == other.count)
        #expect(one.count > 3)
        let rows = Array(one.dropFirst().dropLast(2))
        let otherRows = Array(other.dropFirst().dropLast(2))
        if let index = zip(rows, otherRows).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            Issue.record("line \(index + 2) differs:\n\(rows[index])\n\(otherRows[index])")
        }
        #expect(rows.count == otherRows.count)
    }

    /// Every report view gives the same rows, and at least one row, on both databases.
    static func expectSameReports(_ one: ArchiveDatabase, _ other: ArchiveDatabase) async throws {
        for view in ArchiveCluster.reportViews {
            let first = try await ArchiveCluster.rows("SELECT * FROM \(view)", in: one)
            let second = try await ArchiveCluster.rows("SELECT * FROM \(view)", in: other)
            #expect(!first.isEmpty, "\(view)")
            #expect(first == second, "\(view)")
        }
    }

    static func integer(_ sql: String, on connection: PostgresConnection) async throws -> Int64 {
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            .decode(Int64.self)
        {
            return value
        }
        throw ArchiveError.database("no row for \(sql)")
    }
}
