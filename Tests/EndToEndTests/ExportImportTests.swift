import Foundation
import GRDB
import Logging
import PaymentsPostgres
import PostgresNIO
import TestSupport
import Testing

/// Moving a real server's data from SQLite to PostgreSQL with the built binary: payments made over HTTP, the
/// server stopped, `payments export`, `payments import` into a new PostgreSQL database; the same rows in every
/// table and the same report rows, no card number in the archive, and a second import refused.
@Suite("payments export and import, end to end")
struct ExportImportTests {
    static let logger = Logger(label: "payments.e2e.archive") { _ in SwiftLogNoOpLogHandler() }

    /// The tables of the schema (every one the archive carries).
    static let tables = [
        "customers", "payment_methods", "card_vault", "payment_intents", "charges", "refunds", "idempotency_keys",
        "events", "setup_intents", "vault_secrets",
    ]

    @Test("a server's payments on SQLite move to PostgreSQL: every table's rows and every report view agree")
    func sqliteServerToPostgres() async throws {
        // Given a server on SQLite that took a payment, a 3-D Secure payment, a refund, a decline, a saved card and an
        // authorization left uncaptured
        let server = try await ServerProcess.start()
        let paid = try await Self.pay(server, card: CardData.all[0], key: "order-1")
        let challenged = try await Self.pay(server, card: CardData.all[1], key: "order-2")
        #expect(challenged["status"]?.string == "requires_action", "\(challenged)")
        let answer = try await server.answerChallenge(at: try server.challengeURL(of: challenged), outcome: "complete")
        #expect(answer.status == 200, "\(answer)")
        let declined = try await Self.pay(server, card: CardData.all[2], key: "order-3")
        #expect(declined["error"]?["decline_code"]?.string == "insufficient_funds", "\(declined)")
        let refund = try await server.client.postForm(
            "/v1/refunds",
            [("payment_intent", try #require(paid["id"]?.string)), ("amount", "500")],
            auth: server.secret,
            headers: ["Idempotency-Key": "refund-1"]
        )
        #expect(refund.status == 200, "\(refund)")
        let saved = try await Self.pay(server, card: CardData.all[3], key: "order-4", saveFor: "off_session")
        #expect(saved["status"]?.string == "succeeded", "\(saved)")
        let authorized = try await Self.pay(
            server,
            card: CardData.all[0],
            key: "order-5",
            extra: [("capture_method", "manual")]
        )
        #expect(authorized["status"]?.string == "requires_capture", "\(authorized)")
        #expect(await server.stop()?.isCleanExit == true, "\(server.diagnostics)")

        // When the stopped server's database is exported and imported into a new PostgreSQL database
        let archive = server.folder.appendingPathComponent("payments.archive")
        let export = try await Self.run(
            ["export", "--db", server.db.path, "--output", archive.path],
            in: server.folder
        )
        #expect(export.termination.isCleanExit, "\(export.output)")
        #expect(export.output.contains("exported sqlite"), "\(export.output)")
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let url = cluster.url(database: try await cluster.newDatabase())
        let imported = try await Self.run(
            ["import", "--database-url", url, "--input", archive.path],
            in: server.folder
        )
        #expect(imported.termination.isCleanExit, "\(imported.output)")
        #expect(!imported.output.contains(cluster.password), "the password is never printed")

        // Then every table has the same number of rows on both, none empty but setup_intents
        let queue = try DatabaseQueue(path: server.db.path)
        let settings = try PostgresSettings(url: url)
        let connection = try await settings.connect(logger: Self.logger)
        for table in Self.tables {
            let sqlite = try await Self.cells("SELECT count(*) FROM \(table)", queue)
            let postgres = try await Self.cells("SELECT count(*) FROM \(table)", connection)
            #expect(sqlite == postgres, "\(table)")
            if table != "setup_intents" { #expect(sqlite != [["0"]], "\(table)") }
        }

        // And every report view gives the same rows
        let views = try await queue.read { db in
            try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'report\\_%' ESCAPE '\\'"
            )
        }
        #expect(views.count == 7)
        for view in views {
            let sqlite = try await Self.cells("SELECT * FROM \(view)", queue)
            #expect(!sqlite.isEmpty, "\(view)")
            #expect(try await Self.cells("SELECT * FROM \(view)", connection) == sqlite, "\(view)")
        }

        // And the archive holds none of the test cards' numbers or CVCs
        let bytes = try Data(contentsOf: archive)
        #expect(CardData.leaks(of: CardData.all, in: bytes).isEmpty, "\(CardData.leaks(of: CardData.all, in: bytes))")

        // And a second import into the now-filled database is refused with exit 1, changing nothing
        let intents = try await Self.cells("SELECT count(*) FROM payment_intents", connection)
        let again = try await Self.run(["import", "--database-url", url, "--input", archive.path], in: server.folder)
        #expect(again.termination.reason == .exit && again.termination.status == 1, "\(again.output)")
        #expect(again.output.contains("already holds payment data"), "\(again.output)")
        #expect(try await Self.cells("SELECT count(*) FROM payment_intents", connection) == intents)

        // And export finds the PostgreSQL database through a config file's databaseURL, as every command does
        let config = server.folder.appendingPathComponent("postgres.json")
        try Data(#"{"payments": {"databaseURL": "\#(url)"}}"#.utf8).write(to: config)
        let fromConfig = server.folder.appendingPathComponent("from-config.archive")
        let exported = try await Self.run(
            ["export", "--config", config.path, "--output", fromConfig.path],
            in: server.folder
        )
        #expect(exported.termination.isCleanExit, "\(exported.output)")
        #expect(exported.output.contains("exported postgres"), "\(exported.output)")
        #expect(!exported.output.contains(cluster.password), "the password is never printed")
        try await connection.close()
        server.removeFiles()
    }

    @Test("two exports to one file at once each write a whole archive of their own; the file is one of them")
    func twoExportsToOneFile() async throws {
        // Given two migrated SQLite databases of 30,000 and 40,000 intents
        let folder = try TestPaths.temporaryFolder("payments-e2e-archive")
        var databases: [(path: String, intents: Int)] = []
        for (name, intents) in [("a", 30_000), ("b", 40_000)] {
            let db = folder.appendingPathComponent("\(name).sqlite").path
            try await Self.migratedFile(db, intents: intents, named: "pi_\(name)", in: folder)
            databases.append((db, intents))
        }

        // When both are exported to one file at once
        let archive = folder.appendingPathComponent("shared.archive").path
        let exports = try await withThrowingTaskGroup(of: (termination: Termination, output: String).self) { group in
            for database in databases {
                group.addTask {
                    try await Self.run(["export", "--db", database.path, "--output", archive], in: folder)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        // Then each finished (the second failed to rename a temporary file the first had renamed, after the first
        // had put the second's half-written file in place), no temporary file is left, and the file is a whole
        // archive of one of the two databases
        for export in exports { #expect(export.termination.isCleanExit, "\(export.output)") }
        #expect(Self.temporaryFiles(of: archive).isEmpty)
        let target = folder.appendingPathComponent("target.sqlite").path
        let imported = try await Self.run(["import", "--db", target, "--input", archive], in: folder)
        #expect(imported.termination.isCleanExit, "\(imported.output)")
        let queue = try DatabaseQueue(path: target)
        let count = try await queue.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_intents") }
        try queue.close()
        #expect(databases.map(\.intents).contains(count ?? -1), "\(String(describing: count))")
        try? FileManager.default.removeItem(at: folder)
    }

    @Test("export and import killed with SIGKILL midway leave no archive and an empty target; run again, they finish")
    func killedMidway() async throws {
        // Given a migrated SQLite database of 100,000 intents
        let folder = try TestPaths.temporaryFolder("payments-e2e-archive")
        let db = folder.appendingPathComponent("payments.sqlite")
        let intents = 100_000
        try await Self.migratedFile(db.path, intents: intents, named: "pi_kill", in: folder)

        // When an export is killed once it has written part of the archive (to a file with no name yet: seen
        // through the process's open files)
        let archive = folder.appendingPathComponent("payments.archive")
        let killedExport = try await Self.killMidway(["export", "--db", db.path, "--output", archive.path], in: folder)
        { pid in
            Self.openUnnamedFileSizes(of: pid).contains { $0 > 0 }
        }

        // Then there is neither an archive nor a temporary file; and a new export writes a whole archive
        #expect(killedExport.killed, "the export ended before it could be killed: \(killedExport.output)")
        #expect(!FileManager.default.fileExists(atPath: archive.path))
        #expect(Self.temporaryFiles(of: archive.path).isEmpty, "the killed export left a partial file")
        let export = try await Self.run(["export", "--db", db.path, "--output", archive.path], in: folder)
        #expect(export.termination.isCleanExit, "\(export.output)")
        #expect(Self.temporaryFiles(of: archive.path).isEmpty, "the new export's temporary file is renamed")

        // When an import into a new PostgreSQL database is killed while it copies the rows
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let url = cluster.url(database: try await cluster.newDatabase())
        let connection = try await PostgresSettings(url: url).connect(logger: Self.logger)
        do {
            try await Self.killImport(url: url, archive: archive, intents: intents, folder: folder, on: connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
        try? FileManager.default.removeItem(at: folder)
    }

    @Test("export refuses to write over the database it reads, its -wal, a link to it, or the ledger; nothing is lost")
    func exportOverDatabaseRefused() async throws {
        // Given a server that took a payment
        let server = try await ServerProcess.start()
        defer { server.kill() }
        let first = try await Self.pay(server, card: CardData.all[0], key: "first")
        #expect(first["status"]?.string == "succeeded", "\(first)")
        let db = server.folder.appendingPathComponent("payments.sqlite").path
        let link = server.folder.appendingPathComponent("link.sqlite").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: db)
        let ledger = server.folder.appendingPathComponent("card-network.sqlite").path
        #expect(FileManager.default.fileExists(atPath: db + "-wal") && FileManager.default.fileExists(atPath: ledger))

        // When an export names the database, another name for it, its log, or the ledger as its output
        for output in [db, link, db + "-wal", ledger] {
            let export = try await Self.run(["export", "--db", db, "--output", output], in: server.folder)
            // Then it is refused, naming why, and writes nothing
            #expect(!export.termination.isCleanExit, "\(output): \(export.output)")
            #expect(export.output.contains("Refusing to write the archive to \(output)"), "\(export.output)")
            #expect(Self.temporaryFiles(of: output).isEmpty)
        }

        // And with the server stopped (no -wal or -shm on disk) their names are refused all the same: the next open
        // of the database deleted an archive written there. A stopped server usually leaves no -wal or -shm, but not
        // always (its pool closes when the last reference goes, which a late one can put off past the exit, as in two
        // runs of this session); a connection opened and closed here ends the log as the server's would have
        #expect(await server.stop()?.isCleanExit == true, "\(server.diagnostics)")
        try DatabaseQueue(path: db).close()
        for suffix in ["-wal", "-shm", "-journal"] {
            #expect(!FileManager.default.fileExists(atPath: db + suffix), "\(suffix) is there with the server stopped")
            let export = try await Self.run(["export", "--db", db, "--output", db + suffix], in: server.folder)
            #expect(!export.termination.isCleanExit, "\(suffix): \(export.output)")
            #expect(export.output.contains("the database's \(suffix) file"), "\(export.output)")
        }
        let again = try await ServerProcess.start(folder: server.folder, keys: server.keys)
        defer { again.kill() }

        // And the server goes on: a payment after the refusals is kept with the first across a restart
        let second = try await Self.pay(again, card: CardData.all[0], key: "second")
        #expect(second["status"]?.string == "succeeded", "\(second)")
        #expect(await again.stop()?.isCleanExit == true, "\(again.diagnostics)")
        let restarted = try await ServerProcess.start(folder: server.folder, keys: server.keys)
        defer { restarted.kill() }
        for payment in [first, second] {
            let id = try #require(payment["id"]?.string)
            #expect(try await restarted.paymentIntent(id)["status"]?.string == "succeeded")
        }
        // and an export to a new file still works
        let archive = server.folder.appendingPathComponent("payments.archive").path
        let export = try await Self.run(["export", "--db", db, "--output", archive], in: server.folder)
        #expect(export.termination.isCleanExit, "\(export.output)")
        restarted.kill()
        restarted.removeFiles()
    }

    @Test("a database imported without its card network ledger is refused at start; with the ledger it captures")
    func importWithoutLedgerRefused() async throws {
        // Given a server holding an authorization to capture, exported while stopped
        let server = try await ServerProcess.start()
        defer { server.kill() }
        let held = try await Self.pay(server, card: CardData.all[0], key: "held", extra: [("capture_method", "manual")])
        let id = try #require(held["id"]?.string, "\(held)")
        #expect(held["status"]?.string == "requires_capture", "\(held)")
        #expect(await server.stop()?.isCleanExit == true, "\(server.diagnostics)")
        let archive = server.folder.appendingPathComponent("payments.archive").path
        let export = try await Self.run(
            ["export", "--db", server.db.path, "--output", archive],
            in: server.folder
        )
        #expect(export.termination.isCleanExit, "\(export.output)")
        let target = try TestPaths.temporaryFolder("payments-import")
        defer { try? FileManager.default.removeItem(at: target) }
        let imported = target.appendingPathComponent("payments.sqlite").path
        let `import` = try await Self.run(["import", "--db", imported, "--input", archive], in: target)
        #expect(`import`.termination.isCleanExit, "\(`import`.output)")

        // When the server starts on the imported database without the ledger
        // Then it refuses, naming the ledger, and makes no empty one: on an empty ledger the capture below canceled
        // the intent
        do {
            let started = try await ServerProcess.start(folder: target, keys: server.keys)
            started.kill()
            Issue.record("The server started on a ledger without the database's payments:\n\(started.diagnostics)")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("is not this database's ledger"), "\(message)")
            #expect(message.contains(target.appendingPathComponent("card-network.sqlite").path), "\(message)")
        }
        let ledger = target.appendingPathComponent("card-network.sqlite")
        #expect(!FileManager.default.fileExists(atPath: ledger.path))
        // And so does a one-shot command that moves money, on an empty ledger that is there
        #expect(FileManager.default.createFile(atPath: ledger.path, contents: nil))
        let sweep = try await Self.run(["sweep", "--db", imported], in: target)
        #expect(!sweep.termination.isCleanExit, "\(sweep.output)")
        #expect(sweep.output.contains("does not hold 1 of the 1 newest approved charges"), "\(sweep.output)")
        let intent = try await DatabaseQueue(path: imported).read { db in
            try String.fetchOne(db, sql: "SELECT status FROM payment_intents WHERE id = ?", arguments: [id])
        }
        #expect(intent == "requires_capture")

        // And with the ledger copied beside it, the server starts and the authorization is captured
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: ledger.path + suffix) }
        try FileManager.default.copyItem(at: server.folder.appendingPathComponent("card-network.sqlite"), to: ledger)
        let again = try await ServerProcess.start(folder: target, keys: server.keys)
        defer { again.kill() }
        let captured = try await again.client.postForm(
            "/v1/payment_intents/\(id)/capture",
            [],
            auth: again.secret
        )
        #expect(try captured.json()["status"]?.string == "succeeded", "\(captured)")
    }

    @Test("a backup with VACUUM INTO while the server runs: the database then the ledger starts; the other order not")
    func backupOrder() async throws {
        // Given a running server that has taken a payment
        let server = try await ServerProcess.start()
        defer { server.kill() }
        _ = try await Self.pay(server, card: CardData.all[0], key: "before")
        /// Copies the live `name` into `folder` as README's backup does, in one read transaction.
        func copy(_ name: String, into folder: URL) throws {
            var configuration = Configuration()
            configuration.readonly = true
            let source = try DatabaseQueue(
                path: server.folder.appendingPathComponent(name).path,
                configuration: configuration
            )
            try source.inDatabase { db in
                try db.execute(sql: "VACUUM INTO ?", arguments: [folder.appendingPathComponent(name).path])
            }
        }
        let (right, wrong) = (
            try TestPaths.temporaryFolder("payments-backup-right"),
            try TestPaths.temporaryFolder("payments-backup-wrong")
        )
        defer { for folder in [right, wrong] { try? FileManager.default.removeItem(at: folder) } }

        // When one backup copies the database, then (after another payment) the ledger
        try copy("payments.sqlite", into: right)
        let between = try await Self.pay(server, card: CardData.all[0], key: "between-right")
        try copy("card-network.sqlite", into: right)
        // And another copies the ledger first, then (after another payment) the database
        try copy("card-network.sqlite", into: wrong)
        let paidBetween = try await Self.pay(server, card: CardData.all[0], key: "between-wrong")
        try copy("payments.sqlite", into: wrong)

        // Then a server starts on the first pair, and holds what was paid before its database was copied
        let restored = try await ServerProcess.start(folder: right, keys: server.keys)
        defer { restored.kill() }
        #expect(try await restored.query("SELECT count(*) FROM payment_intents") == [["1"]])
        #expect(try #require(between["status"]?.string) == "succeeded")
        // And it warns at start that its ledger holds a payment the database does not (it started without a word,
        // and a retry of that payment with its key paid again)
        #expect(restored.output.contains("holds 1 of its 2 newest approved charges that"), "\(restored.output)")
        #expect(restored.output.components(separatedBy: "newest approved charges that").count == 2, "once")
        #expect(!server.output.contains("newest approved charges that"), "\(server.output)")
        // And the second pair is refused: its database holds a payment its ledger does not, which the message says
        do {
            let started = try await ServerProcess.start(folder: wrong, keys: server.keys)
            started.kill()
            Issue.record("The server started on a ledger older than its database:\n\(started.diagnostics)")
        } catch {
            let message = String(describing: error)
            #expect(message.contains("a copy older than the database's"), "\(message)")
            #expect(message.contains("copy the database first, then the ledger"), "\(message)")
        }
        #expect(try #require(paidBetween["status"]?.string) == "succeeded")

        // And a new database in the server's folder, whose default ledger is the server's, is warned the ledger is
        // shared with another database, not that it is a backup older than the ledger (a probe)
        let other = server.folder.appendingPathComponent("other.sqlite").path
        try #require(try await Self.run(["migrate", "--db", other], in: server.folder).termination.isCleanExit)
        let sweep = try await Self.run(["sweep", "--db", other], in: server.folder)
        #expect(sweep.termination.isCleanExit, "\(sweep.output)")
        #expect(sweep.output.contains("the ledger is shared with another database"), "\(sweep.output)")
        #expect(!sweep.output.contains("backup older than the ledger"), "\(sweep.output)")
    }

    @Test("export refuses an output that is a named pipe, a link or a folder, or no name, without opening it")
    func exportOverOtherThanFilesRefused() async throws {
        // Given a migrated database, a named pipe, a link to a file, and a folder
        let folder = try TestPaths.temporaryFolder("payments-e2e-export-special")
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("payments.sqlite").path
        try #require(try await Self.run(["migrate", "--db", db], in: folder).termination.isCleanExit)
        let pipe = folder.appendingPathComponent("pipe").path
        try #require(mkfifo(pipe, 0o600) == 0)
        let target = folder.appendingPathComponent("target.txt").path
        try Data("kept".utf8).write(to: URL(fileURLWithPath: target))
        let link = folder.appendingPathComponent("link.archive").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)

        // When an export names each as its output (a pipe hung the export for ever; a link, or a device named as
        // root, was replaced by the archive)
        for (output, kind) in [
            (pipe, "a named pipe"), (link, "a symbolic link"), (folder.path, "a folder"), ("", "name a file"),
        ] {
            let export = try await runToCompletion(
                try PaymentsBinary.path(),
                ["export", "--db", db, "--output", output],
                environment: PaymentsBinary.environment([:]),
                in: folder,
                timeout: .seconds(30)
            )
            // Then it is refused at once, saying why, and each is as it was
            #expect(export.termination == Termination(reason: .exit, status: 1), "\(output): \(export.output)")
            #expect(export.output.contains("Refusing to write the archive to"), "\(export.output)")
            #expect(export.output.contains(kind), "\(export.output)")
        }
        var status = stat()
        #expect(lstat(pipe, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "kept")

        // And an output in a folder that does not exist names the output, not only its temporary name, and a --db
        // that is no SQLite database (an archive) says what it is (SQLite's "file is not a database": a probe)
        let missing = folder.appendingPathComponent("no-such-folder/x.archive").path
        let archive = folder.appendingPathComponent("a.archive").path
        try Data("{\"format\":\"payments-archive\"}\n".utf8).write(to: URL(fileURLWithPath: archive))
        for (arguments, says) in [
            (["--db", db, "--output", missing], "Cannot create the archive \(missing)"),
            (
                ["--db", archive, "--output", folder.appendingPathComponent("b.archive").path],
                "payments import --input"
            ),
        ] {
            let export = try await Self.run(["export"] + arguments, in: folder)
            #expect(!export.termination.isCleanExit, "\(arguments): \(export.output)")
            #expect(export.output.contains(says), "\(arguments): \(export.output)")
        }
    }

    @Test("an import into a new SQLite file that is refused while copying leaves no file behind")
    func refusedImportLeavesNoFile() async throws {
        // Given an archive whose rows break a foreign key (a payment method of a customer that does not exist),
        // exported from a file written with foreign keys off
        let folder = try TestPaths.temporaryFolder("payments-e2e-import-refused")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.sqlite").path
        let migrate = try await Self.run(["migrate", "--db", source], in: folder)
        #expect(migrate.termination.isCleanExit, "\(migrate.output)")
        let queue = try DatabaseQueue(path: source)
        try await queue.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            try db.execute(
                sql: """
                    INSERT INTO payment_methods (id, created, customer, brand, last4, exp_month, exp_year, fingerprint,
                        funding)
                    VALUES ('pm_orphan', 1, 'cus_missing', 'visa', '4242', 12, 2034, 'fp', 'credit')
                    """
            )
        }
        try queue.close()
        let archive = folder.appendingPathComponent("orphan.archive").path
        let export = try await Self.run(["export", "--db", source, "--output", archive], in: folder)
        #expect(export.termination.isCleanExit, "\(export.output)")

        // When it is imported into a file that does not exist yet
        let target = folder.appendingPathComponent("new.sqlite").path
        let run = try await Self.run(["import", "--db", target, "--input", archive], in: folder)

        // Then the import is refused, and leaves no file (it left an empty migrated one), so it reads as unchanged
        #expect(run.termination == Termination(reason: .exit, status: 1), "\(run.output)")
        for suffix in ["", "-wal", "-shm"] {
            #expect(!FileManager.default.fileExists(atPath: target + suffix), "\(suffix): \(run.output)")
        }
    }

    @Test("two imports at once into a new SQLite file: one fills it, the other is refused and leaves it filled")
    func twoImportsAtOnce() async throws {
        // Given an archive of 20,000 intents (long enough to check that both imports start before either makes the
        // file)
        let folder = try TestPaths.temporaryFolder("payments-e2e-import-twice")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = folder.appendingPathComponent("source.sqlite").path
        let intents = 20_000
        try await Self.migratedFile(source, intents: intents, named: "pi_twice", in: folder)
        let archive = folder.appendingPathComponent("twice.archive").path
        let export = try await Self.run(["export", "--db", source, "--output", archive], in: folder)
        try #require(export.termination.isCleanExit, "\(export.output)")

        // When two imports into the same new file start at once
        let target = folder.appendingPathComponent("new.sqlite").path
        async let first = Self.run(["import", "--db", target, "--input", archive], in: folder)
        async let second = Self.run(["import", "--db", target, "--input", archive], in: folder)
        let runs = try await [first, second]

        // Then one filled the file and the other was refused, and the refused one left the file as the first filled
        // it (it removed the file it had not made, with every row the first had imported)
        let succeeded = runs.filter { $0.termination.isCleanExit }
        #expect(succeeded.count == 1, "\(runs.map(\.output))")
        #expect(FileManager.default.fileExists(atPath: target), "\(runs.map(\.output))")
        let imported = try DatabaseQueue(path: target)
        defer { try? imported.close() }
        #expect(try await Self.cells("SELECT count(*) FROM payment_intents", imported) == [["\(intents)"]])
    }

    /// The import half of ``killedMidway()``: killed while it copies, then run again.
    static func killImport(
        url: String,
        archive: URL,
        intents: Int,
        folder: URL,
        on connection: PostgresConnection
    ) async throws {
        let copying = """
            SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY %' AND pid <> pg_backend_pid()
            """
        let killedImport = try await Self.killMidway(
            ["import", "--database-url", url, "--input", archive.path],
            in: folder
        ) { _ in
            ((try? await Self.cells(copying, connection)) ?? [["0"]]) != [["0"]]
        }

        // Then the database holds no row, and a new import copies every one
        #expect(killedImport.killed, "the import ended before it could be killed: \(killedImport.output)")
        #expect(try await Self.cells("SELECT count(*) FROM payment_intents", connection) == [["0"]])
        let imported = try await Self.run(["import", "--database-url", url, "--input", archive.path], in: folder)
        #expect(imported.termination.isCleanExit, "\(imported.output)")
        #expect(try await Self.cells("SELECT count(*) FROM payment_intents", connection) == [["\(intents)"]])
    }

    // MARK: - Helpers

    /// Creates a payment method from `card` with the publishable key (its CVC as sent), then an intent confirmed
    /// with it under the idempotency key `key`.
    /// - Returns: the intent, or the error object of a decline.
    static func pay(
        _ server: ServerProcess,
        card: CardData,
        key: String,
        saveFor usage: String? = nil,
        extra: [(String, String)] = []
    ) async throws -> JSON {
        let method = try await server.client.postForm(
            "/v1/payment_methods",
            [
                ("type", "card"), ("card[number]", card.number), ("card[exp_month]", "12"),
                ("card[exp_year]", "2034"), ("card[cvc]", card.cvc),
            ],
            auth: server.publishable
        )
        let pm = try #require(try method.json()["id"]?.string, "\(method)")
        var form = [("amount", "2000"), ("currency", "usd"), ("payment_method", pm), ("confirm", "true")] + extra
        if let usage {
            let customer = try await server.client.postForm("/v1/customers", [], auth: server.secret)
            form += [("customer", try #require(try customer.json()["id"]?.string)), ("setup_future_usage", usage)]
        }
        let answer = try await server.client.postForm(
            "/v1/payment_intents",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        return try answer.json()
    }

    /// The temporary files of exports to `output` in its folder (`output.<8 hex digits>.tmp`), by path.
    static func temporaryFiles(of output: String) -> [String] {
        let url = URL(fileURLWithPath: output)
        let folder = url.deletingLastPathComponent().path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix(url.lastPathComponent + ".") && $0.hasSuffix(".tmp") }.sorted()
            .map { folder + "/" + $0 }
    }

    /// The sizes of the files process `pid` has open that have no name (Linux's `O_TMPFILE`: `/proc` shows them as
    /// `/folder/#inode (deleted)`).
    static func openUnnamedFileSizes(of pid: pid_t) -> [Int] {
        let descriptors = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: descriptors)) ?? []
        return names.compactMap { name in
            let link = descriptors + "/" + name
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link),
                target.contains("/#"), target.hasSuffix(" (deleted)")
            else { return nil }
            var status = stat()
            return stat(link, &status) == 0 ? Int(status.st_size) : nil
        }
    }

    /// Starts the built binary with `arguments`, waits until `reached` holds for its process id (checked every 5 ms,
    /// for at most a minute), then kills it with SIGKILL. Its output goes to a log in `folder`.
    /// - Returns: whether it was still running when `reached` held (so the kill was mid-way), and its output.
    static func killMidway(
        _ arguments: [String],
        in folder: URL,
        until reached: (pid_t) async -> Bool
    ) async throws -> (killed: Bool, output: String) {
        let logURL = folder.appendingPathComponent("killed-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        let process = ChildProcess(
            executableURL: URL(fileURLWithPath: try PaymentsBinary.path()),
            arguments: arguments,
            environment: PaymentsBinary.environment([:]),
            currentDirectoryURL: TestPaths.root,
            output: log
        )
        try ChildRegistry.launch(process)
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline, !(await reached(process.processIdentifier)) {
            try await Task.sleep(for: .milliseconds(5))
        }
        let midway = process.isRunning
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        ChildRegistry.remove(process.processIdentifier)
        let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        return (midway && process.terminationReason == .uncaughtSignal, output)
    }

    /// A SQLite file at `path` made by `payments migrate`, then holding `count` open intents
    /// (``insertIntents(_:named:into:)``).
    static func migratedFile(_ path: String, intents count: Int, named prefix: String, in folder: URL) async throws {
        let migrate = try await run(["migrate", "--db", path], in: folder)
        #expect(migrate.termination.isCleanExit, "\(migrate.output)")
        let queue = try DatabaseQueue(path: path)
        try await insertIntents(count, named: prefix, into: queue)
        try queue.close()
    }

    /// Inserts `count` open intents of 2,000 usd, `prefix0` to `prefix(count - 1)`, straight into a migrated file.
    static func insertIntents(_ count: Int, named prefix: String, into queue: DatabaseQueue) async throws {
        try await queue.write { db in
            let insert = try db.makeStatement(
                sql: """
                    INSERT INTO payment_intents (id, created, amount, currency, status, capture_method,
                        confirmation_method, client_secret)
                    VALUES (?, ?, 2000, 'usd', 'requires_payment_method', 'automatic', 'automatic', ?)
                    """
            )
            for index in 0..<count {
                try insert.execute(arguments: [
                    "\(prefix)\(index)", 1_767_225_600 + index, "\(prefix)\(index)_secret_x",
                ])
            }
        }
    }

    /// Runs the built binary to its end in `folder`.
    static func run(_ arguments: [String], in folder: URL) async throws -> (termination: Termination, output: String) {
        try await runToCompletion(
            try PaymentsBinary.path(),
            arguments,
            environment: PaymentsBinary.environment([:]),
            in: folder
        )
    }

    /// The rows of `sql` on SQLite, each cell as text (NULL as "NULL").
    static func cells(_ sql: String, _ queue: DatabaseQueue) async throws -> [[String]] {
        try await queue.read { db in
            try Row.fetchAll(db, sql: sql).map { row in
                row.databaseValues.map { value in
                    switch value.storage {
                    case .null: "NULL"
                    case .int64(let integer): "\(integer)"
                    case .string(let text): text
                    case .double(let real): "REAL \(real)"
                    case .blob(let data): "BLOB \(data.base64EncodedString())"
                    }
                }
            }
        }
    }

    /// The rows of `sql` on PostgreSQL, each cell as text as ``cells(_:_:)-(_,DatabaseQueue)`` writes it.
    static func cells(_ sql: String, _ connection: PostgresConnection) async throws -> [[String]] {
        var result: [[String]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
            var cells: [String] = []
            for cell in row {
                guard cell.bytes != nil else {
                    cells.append("NULL")
                    continue
                }
                switch cell.dataType {
                case .int8: cells.append("\(try cell.decode(Int64.self))")
                case .text, .varchar: cells.append(try cell.decode(String.self))
                case .bytea:
                    var buffer = try cell.decode(ByteBuffer.self)
                    cells.append(
                        "BLOB \(Data(buffer.readBytes(length: buffer.readableBytes) ?? []).base64EncodedString())"
                    )
                default: cells.append("\(cell.dataType) in \(cell.columnName)")
                }
            }
            result.append(cells)
        }
        return result
    }
}
