import Crypto
import Foundation
import GRDB
import PaymentsArchive
import PaymentsPostgres
import PaymentsStore
import PostgresNIO
import TestSupport
import Testing

/// `payments import` refuses what it cannot import whole, and then leaves the target as it was: a target with
/// payment data, a damaged or cut archive, another migration set. Two imports at once into one database: one
/// wins, the other is refused.
@Suite("Import refusals", .archiveCluster)
struct ArchiveRefusalTests {
    static let logger = ArchiveCluster.logger

    @Test("a target that holds payment data is refused and keeps its rows (PostgreSQL and SQLite)")
    func nonEmptyTarget() async throws {
        // Given an archive, and a PostgreSQL database already filled from it
        let source = try await ArchiveRoundTripTests.sqliteWithEveryRow()
        let archive = try await ArchiveRoundTripTests.export(source)
        let target = try await ArchiveCluster.freshPostgres()
        _ = try await ArchiveImport(database: target, logger: Self.logger).run(input: archive.path)
        let before = try await ArchiveCluster.everything(in: target)

        // When the archive is imported again, into it and into the SQLite source itself
        let again = await #expect(throws: ArchiveError.self) {
            try await ArchiveImport(database: target, logger: Self.logger).run(input: archive.path)
        }
        let intoSource = await #expect(throws: ArchiveError.self) {
            try await ArchiveImport(database: source, logger: Self.logger).run(input: archive.path)
        }

        // Then both are refused as not empty, and the PostgreSQL rows are as they were
        guard case .targetNotEmpty(let table, let rows) = again else {
            Issue.record("expected targetNotEmpty, got \(String(describing: again))")
            return
        }
        #expect(table == "customers" && rows > 0)
        guard case .targetNotEmpty = intoSource else {
            Issue.record("expected targetNotEmpty, got \(String(describing: intoSource))")
            return
        }
        #expect(try await ArchiveCluster.everything(in: target) == before)
    }

    @Test(
        "an archive cut short, mid-row or after a whole table, is refused naming where, and the target stays untouched"
    )
    func truncatedArchive() async throws {
        // Given an archive
        let archive = try Data(contentsOf: try await ArchiveRoundTripTests.export(try await Self.smallSource()))
        let lines = archive.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let lastNewline = try #require(archive.dropLast().lastIndex(of: UInt8(ascii: "\n")))
        // A row line starts with `[`: the first one, cut after a few of its bytes
        let firstRow = try #require(archive.firstRange(of: Data("\n[".utf8))).lowerBound
        let cuts: [(String, Data)] = [
            ("mid-file", archive.prefix(archive.count / 2)),
            ("mid-row", archive.prefix(firstRow + 5)),
            ("without its last line", archive.prefix(lastNewline + 1)),
            ("after the header", Data(lines[0]) + Data("\n".utf8)),
            ("in its header", Data(lines[0].prefix(lines[0].count / 2))),
        ]
        for (label, cut) in cuts {
            // When the cut archive is imported into a new PostgreSQL database and a new SQLite path
            let file = try Self.write(cut)
            let postgres = try await ArchiveCluster.freshPostgres()
            let sqlite = try ArchiveCluster.freshSQLite()
            for target in [postgres, sqlite] {
                let error = await Self.refusal(importing: file, into: target, label)
                // Then it is refused as cut short, and nothing was written: not even the migrations
                guard case .truncated(_, let inside) = error else {
                    Issue.record("\(label): expected truncated, got \(String(describing: error))")
                    continue
                }
                // A cut among a table's rows names that table (it named the table before it)
                if label == "mid-row" { #expect(inside != nil, "\(String(describing: error))") }
                if label.hasPrefix("without") || label.hasPrefix("after") || label.hasPrefix("in its") {
                    #expect(inside == nil, "\(label): \(String(describing: error))")
                }
                #expect(try await Self.isUntouched(target), "\(label) \(target.kind)")
            }
        }
    }

    /// The error importing `file` into `target` throws (an issue recorded, naming `label`, when it throws none).
    static func refusal(importing file: URL, into target: ArchiveDatabase, _ label: String) async
        -> ArchiveError?
    {
        await #expect(throws: ArchiveError.self, "\(label)") {
            try await ArchiveImport(database: target, logger: Self.logger).run(input: file.path)
        }
    }

    @Test("a file that is no archive, even one short line without a newline, is refused as not an archive")
    func notAnArchive() async throws {
        let target = try ArchiveCluster.freshSQLite()
        for content in ["garbage", "", "customer,amount\ncus_1,100\n", "[1,2,3]"] {
            let error = await Self.refusal(importing: try Self.write(Data(content.utf8)), into: target, content)
            guard case .notAnArchive = error else {
                Issue.record("\(content): expected notAnArchive, got \(String(describing: error))")
                continue
            }
            #expect(try await Self.isUntouched(target), "\(content)")
        }
        // And a folder is said to be one (it was Foundation's `NSCocoaErrorDomain Code=256`)
        let folder = try TestPaths.temporaryFolder("payments-archive")
        let error = await Self.refusal(importing: folder, into: target, "a folder")
        #expect("\(error.map { String(describing: $0) } ?? "")".contains("is a folder"), "\(String(describing: error))")
        #expect(try await Self.isUntouched(target))
        // And a pipe or a device is said to be no file, without opening it (a pipe was read once by the check, and
        // the copy then found "its first line is not a payments archive header"; one without a writer hung the
        // import)
        let pipe = folder.appendingPathComponent("archive.pipe")
        try #require(mkfifo(pipe.path, 0o600) == 0)
        let fromPipe = await Self.refusal(importing: pipe, into: target, "a pipe")
        #expect(fromPipe == .notAFile(path: pipe.path, kind: "a pipe"), "\(String(describing: fromPipe))")
        let fromDevice = await Self.refusal(importing: URL(fileURLWithPath: "/dev/null"), into: target, "a device")
        #expect(fromDevice == .notAFile(path: "/dev/null", kind: "a device"), "\(String(describing: fromDevice))")
        #expect("\(fromPipe.map { String(describing: $0) } ?? "")".contains("save the archive to a file first"))
        #expect(try await Self.isUntouched(target))
    }

    @Test("a changed byte in a row, or in the header, is refused and the target stays untouched")
    func flippedByte() async throws {
        // Given an archive, and a migrated, empty PostgreSQL database
        let archive = try Data(contentsOf: try await ArchiveRoundTripTests.export(try await Self.smallSource()))
        let target = try await ArchiveCluster.freshPostgres()
        guard case .postgres(let settings, let folder) = target else { return }
        try await ArchiveCluster.withConnection(settings) { connection in
            _ = try await PostgresMigrator(migrations: try PostgresMigrationSet(folder: folder))
                .migrate(on: connection, logger: Self.logger)
        }
        let text = String(decoding: archive, as: UTF8.self)
        let amount = try #require(text.range(of: ",2000,\"usd\""), "a 2000 usd intent row")
        let changedAmount = text.replacingCharacters(in: amount, with: ",2900,\"usd\"")
        let header = try #require(text.range(of: "\"source\":\"sqlite\""))
        let changedHeader = text.replacingCharacters(in: header, with: "\"source\":\"sqliteX\"")
        let brokenJSON = text.replacingCharacters(in: amount, with: ",20:0,\"usd\"")

        for (label, changed, expected) in [
            ("amount", changedAmount, "checksum"), ("header", changedHeader, "archive"),
            ("JSON", brokenJSON, "malformed"),
        ] {
            // When the changed archive is imported
            let file = try Self.write(Data(changed.utf8))
            let error = await #expect(throws: ArchiveError.self, "\(label)") {
                try await ArchiveImport(database: target, logger: Self.logger).run(input: file.path)
            }

            // Then it is refused for its checksum (or as damaged where the row no longer parses), and the
            // database holds no row
            switch (expected, error) {
            case ("checksum", .checksumMismatch(let table, _, _)): #expect(table == "payment_intents", "\(label)")
            case ("archive", .archiveChecksumMismatch): break
            case ("malformed", .malformed): break
            default: Issue.record("\(label): expected a \(expected) mismatch, got \(String(describing: error))")
            }
            let counts = try await ArchiveCluster.everything(in: target)
            #expect(counts.values.allSatisfy { $0.isEmpty }, "\(label)")
        }
    }

    @Test("an edited archive whose checksums were made again, its rows refused by the schema, says so; untouched")
    func reSignedRowsRefused() async throws {
        // Given an archive whose customer row is repeated, or its `created` made text, and its checksums computed
        // again (a probe: SQLite's "UNIQUE constraint failed: customers.rowid" alone, not saying nothing went in)
        let archive = String(
            decoding: try Data(contentsOf: try await ArchiveRoundTripTests.export(try await Self.smallSource())),
            as: UTF8.self
        )
        var lines = archive.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(lines.firstIndex { $0.contains("\"table\":\"customers\"") })
        var repeatedLines = lines
        repeatedLines.insert(lines[start + 1], at: start + 1)
        let fields = lines[start + 1].split(separator: ",", omittingEmptySubsequences: false)
        let created = try #require(fields.firstIndex { Int($0) ?? 0 > 1_000_000_000 }, "a created time in \(fields)")
        var retyped = fields.map(String.init)
        retyped[created] = "\"yesterday\""
        lines[start + 1] = retyped.joined(separator: ",")
        for (label, edited) in [("a row twice", repeatedLines), ("a value of another type", lines)] {
            for target in [try ArchiveCluster.freshSQLite(), try await ArchiveCluster.freshPostgres()] {
                // When it is imported
                let file = try Self.write(Data(Self.signedAgain(edited).utf8))
                let error = await Self.outcome {
                    try await ArchiveImport(database: target, logger: Self.logger).run(input: file.path)
                }
                // Then the refusal says what the rows are and that nothing went in, and the target is untouched
                let text = error.map { String(describing: $0) } ?? "imported"
                #expect(text.contains("rows this database's schema refuses"), "\(label), \(target): \(text)")
                #expect(text.hasSuffix("Nothing was imported."), "\(label), \(target): \(text)")
                let untouched = try await Self.isUntouched(target)
                var empty = untouched
                if !untouched {
                    empty = try await ArchiveCluster.everything(in: target).values.allSatisfy { $0.isEmpty }
                }
                #expect(empty, "\(label), \(target)")
            }
        }
    }

    /// `lines` (an archive's, changed) with each table's trailer and the last line computed again for them, as
    /// someone who edited an archive on purpose would.
    static func signedAgain(_ lines: [String]) throws -> String {
        var output: [String] = []
        var tableHash = SHA256()
        var rows = 0
        var inTable: String?
        var tables = 0
        let body = lines.last == "" ? lines.dropLast(2) : lines.dropLast(1)
        for line in body {
            if line.hasPrefix("{\"columns\"") || line.hasPrefix("{\"table\""), let name = Self.value("table", in: line)
            {
                inTable = name
                tableHash = SHA256()
                rows = 0
                output.append(line)
            } else if line.hasPrefix("{\"end\""), let name = inTable {
                let digest = tableHash.finalize().map { String(format: "%02x", $0) }.joined()
                output.append("{\"end\":\"\(name)\",\"rows\":\(rows),\"sha256\":\"\(digest)\"}")
                inTable = nil
                tables += 1
            } else {
                if inTable != nil {
                    tableHash.update(data: Data((line + "\n").utf8))
                    rows += 1
                }
                output.append(line)
            }
        }
        var archiveHash = SHA256()
        for line in output { archiveHash.update(data: Data((line + "\n").utf8)) }
        let digest = archiveHash.finalize().map { String(format: "%02x", $0) }.joined()
        output.append("{\"end_of_archive\":true,\"sha256\":\"\(digest)\",\"tables\":\(tables)}")
        return output.joined(separator: "\n") + "\n"
    }

    /// The string value of `key` in a control line.
    static func value(_ key: String, in line: String) -> String? {
        guard let range = line.range(of: "\"\(key)\":\"") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != "\"" })
    }

    /// A folder with the repository's migrations but the last (`postgres` too: the PostgreSQL ones but the last),
    /// as an older version shipped them, and the names of all of them.
    static func olderMigrations() throws -> (folder: URL, all: [String]) {
        let folder = try TestPaths.temporaryFolder("payments-archive-migrations")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("postgres"),
            withIntermediateDirectories: true
        )
        var names: [String] = []
        for sub in ["", "/postgres"] {
            let all = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations + sub).filter {
                $0.hasSuffix(".sql")
            }.sorted()
            if sub.isEmpty { names = all.map { String($0.dropLast(4)) } }
            for file in all.dropLast() {
                try FileManager.default.copyItem(
                    atPath: TestPaths.migrations + sub + "/" + file,
                    toPath: folder.path + sub + "/" + file
                )
            }
        }
        return (folder, names)
    }

    /// An archive of a SQLite database an older version made (every migration but the last), holding a customer.
    static func olderArchive() async throws -> (archive: URL, all: [String]) {
        let (folder, all) = try olderMigrations()
        let path = folder.appendingPathComponent("old.sqlite").path
        let queue = try DatabaseQueue(path: path)
        var migrator = DatabaseMigrator()
        for name in all.dropLast() {
            let sql = try String(contentsOfFile: TestPaths.migrations + "/" + name + ".sql", encoding: .utf8)
            migrator.registerMigration(name) { db in try db.execute(sql: sql) }
        }
        try migrator.migrate(queue)
        try await queue.write { db in try db.execute(sql: "INSERT INTO customers (id, created) VALUES ('cus_1', 1)") }
        return (try await ArchiveRoundTripTests.export(.sqlite(path: path, migrations: folder.path)), all)
    }

    @Test("an older version's archive goes into a new database at its level, then this version's migrations apply")
    func olderArchiveBroughtUpToDate() async throws {
        // Given an archive an older version exported (a backup from before an upgrade)
        let (archive, all) = try await Self.olderArchive()
        // When it is imported into a new PostgreSQL database and a new SQLite file, with every migration
        for target in [try await ArchiveCluster.freshPostgres(), try ArchiveCluster.freshSQLite()] {
            let outcome = try await ArchiveImport(database: target, logger: Self.logger).importing(
                input: archive.path
            )
            let imported = outcome.counts
            // Then its rows are in, and the database is at this version's migrations (it was refused: "export and
            // import with the same version", no help when the archive is the only copy left)
            #expect(imported.first { $0.table == "customers" }?.rows == 1, "\(target.kind)")
            // And the import says which migrations brought them up to date (the command prints them)
            #expect(!outcome.laterMigrations.isEmpty, "\(target.kind)")
            #expect(outcome.laterMigrations.last == all.last, "\(target.kind): \(outcome.laterMigrations)")
            let rows = try await ArchiveCluster.everything(in: target)
            #expect(rows["customers"]?.count == 1, "\(target.kind)")
            switch target {
            case .sqlite(let path, _):
                let applied = try await DatabaseQueue(path: path).read { db in
                    try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                }
                #expect(applied == all)
            case .postgres(let settings, _):
                let count = try await ArchiveCluster.withConnection(settings) { connection in
                    try await ArchiveRoundTripTests.integer("SELECT count(*) FROM schema_migrations", on: connection)
                }
                #expect(count == all.count)
            }
        }
    }

    @Test("an older archive whose later migration fails says its rows are in and to run payments migrate")
    func olderArchiveWhoseLaterMigrationFails() async throws {
        // Given this version's archive, and a "newer" migrations folder whose next migration cannot run
        let source = try await ArchiveRoundTripTests.sqliteWithEveryRow()
        let archive = try await ArchiveRoundTripTests.export(source)
        let folder = try TestPaths.temporaryFolder("payments-archive-failing-migration")
        for file in try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations)
        where file.hasSuffix(".sql") {
            try FileManager.default.copyItem(
                atPath: TestPaths.migrations + "/" + file,
                toPath: folder.appendingPathComponent(file).path
            )
        }
        try "THIS IS NOT SQL;".write(
            to: folder.appendingPathComponent("9999_cannot_run.sql"),
            atomically: true,
            encoding: .utf8
        )
        let target = ArchiveDatabase.sqlite(
            path: folder.appendingPathComponent("t.sqlite").path,
            migrations: folder.path
        )
        // When it is imported there
        let error = await #expect(throws: ArchiveError.self) {
            try await ArchiveImport(database: target, logger: Self.logger).run(input: archive.path)
        }
        // Then the error says the rows are in and what finishes the import, rather than a bare SQLite error that
        // led to importing again, and being told the target held data
        guard case .laterMigrationsFailed(let rows, let reason) = error else {
            Issue.record("expected laterMigrationsFailed, got \(String(describing: error))")
            return
        }
        #expect(rows > 100)
        #expect(reason.contains("THIS IS NOT SQL") || reason.contains("syntax error"), "\(reason)")
        #expect(error.map { "\($0)" }?.contains("Run `payments migrate` on the target to finish") == true)
        let customers = try await ArchiveCluster.everything(in: target)["customers"]?.count ?? 0
        #expect(customers > 0)
    }

    @Test("a newer version's archive, or an older one into a database migrated past it, is refused untouched")
    func otherMigrationsRefused() async throws {
        // Given an archive of this version, and targets with an older version's migrations
        let source = try await ArchiveRoundTripTests.sqliteWithEveryRow()
        let current = try await ArchiveRoundTripTests.export(source)
        let (folder, all) = try Self.olderMigrations()
        let olderSQLite = ArchiveDatabase.sqlite(
            path: folder.appendingPathComponent("older-target.sqlite").path,
            migrations: folder.path
        )
        guard case .postgres(let settings, _) = try await ArchiveCluster.freshPostgres() else { return }
        let olderPostgres = ArchiveDatabase.postgres(settings, migrations: folder.path + "/postgres")
        for target in [olderPostgres, olderSQLite] {
            let error = await #expect(throws: ArchiveError.self) {
                try await ArchiveImport(database: target, logger: Self.logger).run(input: current.path)
            }
            // Then it is refused naming the migration this version lacks (it said "the target is at" the folder's
            // migrations, listing both sets whole, with no target made)
            guard case .newerArchive(let unknown) = error else {
                Issue.record("expected newerArchive, got \(String(describing: error))")
                continue
            }
            #expect(unknown == [all.last].compactMap { $0 }, "\(unknown)")
            #expect(error.map { "\($0)" }?.contains("exported by a newer version") == true)
            #expect(try await Self.isUntouched(target), "\(target.kind)")
        }
        // And an older version's archive into a database this version has already migrated: its rows would go
        // into tables past their level
        let (older, _) = try await Self.olderArchive()
        let migrated = try ArchiveCluster.freshSQLite()
        guard case .sqlite(let path, let migrations) = migrated else { return }
        _ = try PaymentDatabase(path: path, migrations: MigrationSet(folder: migrations))
        let error = await #expect(throws: ArchiveError.self) {
            try await ArchiveImport(database: migrated, logger: Self.logger).run(input: older.path)
        }
        guard case .migrationsDiffer = error else {
            Issue.record("expected migrationsDiffer, got \(String(describing: error))")
            return
        }
        #expect(error.map { "\($0)" }?.contains("already migrated past the archive") == true)
        #expect(error.map { "\($0)" }?.contains("the import run again: it makes and migrates a new database") == true)
        let customers = try await DatabaseQueue(path: path).read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM customers")
        }
        #expect(customers == 0)
    }

    @Test("two imports into one PostgreSQL database at once: one fills it, the other is refused")
    func concurrentImports() async throws {
        // Given an archive and a new PostgreSQL database
        let source = try await Self.smallSource()
        let archive = try await ArchiveRoundTripTests.export(source)
        let target = try await ArchiveCluster.freshPostgres()

        // When two imports of it run at once
        async let first = Self.outcome {
            try await ArchiveImport(database: target, logger: Self.logger).run(input: archive.path)
        }
        async let second = Self.outcome {
            try await ArchiveImport(database: target, logger: Self.logger).run(input: archive.path)
        }
        let outcomes = await [first, second]

        // Then exactly one succeeded, the other was refused for the rows the first wrote, and the database holds
        // the source's rows once
        #expect(outcomes.filter { $0 == nil }.count == 1, "\(outcomes)")
        #expect(outcomes.contains { if case .targetNotEmpty = $0 { true } else { false } }, "\(outcomes)")
        let sourceRows = try await ArchiveCluster.everything(in: source)
        #expect(try await ArchiveCluster.everything(in: target) == sourceRows)
    }

    // MARK: - Helpers

    /// A small SQLite source: one customer, one intent of 2000 usd paid with a test card, and its charge.
    static func smallSource() async throws -> ArchiveDatabase {
        let environment = try TestEnvironment()
        let customer = try await environment.customers.create(.init(email: "jenny@example.com"))
        _ = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", customer: customer.id, paymentMethod: "pm_card_visa", confirm: true)
        )
        return .sqlite(path: environment.database.path, migrations: TestPaths.migrations)
    }

    static func write(_ data: Data) throws -> URL {
        let file = try TestPaths.temporaryFolder("payments-archive").appendingPathComponent("changed.jsonl")
        try data.write(to: file)
        return file
    }

    /// Whether a new target is as it was made: no SQLite file, or a PostgreSQL database without any table.
    static func isUntouched(_ database: ArchiveDatabase) async throws -> Bool {
        switch database {
        case .sqlite(let path, _):
            return !FileManager.default.fileExists(atPath: path)
        case .postgres(let settings, _):
            return try await ArchiveCluster.withConnection(settings) { connection in
                let rows = try await connection.query(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()",
                    logger: Self.logger
                )
                for try await count in rows.decode(Int64.self) { return count == 0 }
                return false
            }
        }
    }

    /// nil when `body` succeeded, else its archive error.
    static func outcome(_ body: () async throws -> [(table: String, rows: Int64)]) async -> ArchiveError? {
        do {
            _ = try await body()
            return nil
        } catch let error as ArchiveError {
            return error
        } catch {
            return .database("\(error)")
        }
    }
}
