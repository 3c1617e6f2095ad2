import Foundation
import GRDB
import TestSupport
import Testing

/// What `payments serve` prints and does before it takes requests: the keys line, and start-up recovery that
/// never keeps the server from starting.
@Suite("payments serve start-up")
struct ServeStartupTests {
    /// The built-in development keys (ServiceSettings' defaults).
    static let developmentKeys = ServerProcess.Keys(
        secret: "sk_test_development_51PaymentsLocalKeyDoNotUse",
        publishable: "pk_test_development_51PaymentsLocalKeyDoNotUse"
    )

    @Test("the built-in development keys are printed at start; a mix with a configured key is not")
    func developmentKeysPrinted() async throws {
        // Given a server running with both built-in development keys
        let server = try await ServerProcess.start(keys: Self.developmentKeys)
        defer { server.kill() }
        // Then it prints them, and they work
        #expect(
            server.output.contains(
                "development keys: secret sk_test_development_51PaymentsLocalKeyDoNotUse  publishable "
                    + "pk_test_development_51PaymentsLocalKeyDoNotUse"
            ),
            "\(server.output)"
        )
        #expect(!server.output.contains("API keys: configured"), "\(server.output)")
        #expect(try await server.client.get("/v1/payment_intents", auth: server.secret).status == 200)
        server.kill()
        server.removeFiles()

        // And a server with the development secret but a publishable key of its own prints neither key
        var mixed = Self.developmentKeys
        mixed.publishable = ServerProcess.Keys.random().publishable
        let other = try await ServerProcess.start(keys: mixed)
        defer { other.kill() }
        #expect(other.output.contains("API keys: configured (not shown)"), "\(other.output)")
        #expect(!other.output.contains("development keys"), "\(other.output)")
        #expect(!other.output.contains(mixed.publishable), "\(other.output)")
        other.kill()
        other.removeFiles()
    }

    /// The names of the server's threads that are SwiftNIO event loops of its singleton group.
    static func eventLoopThreads(_ server: ServerProcess) throws -> [String] {
        try ProcThreads.threads(ofProcess: "\(server.processIdentifier)").map(\.name).filter {
            $0.hasPrefix("NIO-SGLTN-")
        }
    }

    /// Runs `payments serve` on a fresh folder with `environment`, for a setting it must refuse.
    /// - Returns: how it ended, what it printed, and whether it created the database anyway.
    static func serve(refusing environment: [String: String], port: String = "0") async throws -> (
        termination: Termination, output: String, createdDatabase: Bool
    ) {
        let folder = try TestPaths.temporaryFolder("payments-e2e-refused-setting")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("p.sqlite").path
        let run = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--db", database, "--port", port],
            environment: PaymentsBinary.environment(environment),
            in: folder,
            timeout: .seconds(60)
        )
        return (run.termination, run.output, FileManager.default.fileExists(atPath: database))
    }

    @Test("a server on 0.0.0.0 without publicBaseURL (development) sends 3-D Secure links a browser can open")
    func wildcardHostLinks() async throws {
        let server = try await ServerProcess.start(store: .sqlite, arguments: ["--host", "0.0.0.0"])
        defer { server.kill() }
        let answer = try await server.client.postForm(
            "/v1/payment_intents",
            [
                ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_threeDSecure2Required"),
                ("confirm", "true"), ("return_url", "https://shop.example/done"),
            ],
            auth: server.secret
        )
        let link = try #require(answer.json()["next_action"]?["redirect_to_url"]?["url"]?.string, "\(answer)")
        // Then the link names the loopback, where it named http://0.0.0.0:PORT
        #expect(link.hasPrefix("http://127.0.0.1:\(server.port)/3ds/"), "\(link)")
        let opened = try await server.client.get(link)
        #expect(opened.status == 200, "\(opened)")
        // And the start line says the server is bound to every address (it showed 127.0.0.1 alone: a probe)
        #expect(server.output.contains("bound to every address, 0.0.0.0"), "\(server.output)")
    }

    @Test("a card network ledger that is the service's database, by any name, is refused before anything is opened")
    func ledgerOverDatabaseRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-ledger-over-database")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("p.sqlite").path
        // A new database, then one that exists (a link and a hard link name it then), with their tables counted
        for exists in [false, true] {
            if exists {
                let migrated = try await runToCompletion(
                    try PaymentsBinary.path(),
                    ["migrate", "--db", database],
                    environment: PaymentsBinary.environment([:]),
                    in: folder
                )
                try #require(migrated.termination.isCleanExit, "\(migrated.output)")
                try FileManager.default.createSymbolicLink(
                    atPath: folder.path + "/link.sqlite",
                    withDestinationPath: "p.sqlite"
                )
                try FileManager.default.linkItem(atPath: database, toPath: folder.path + "/hard.sqlite")
            }
            let ledgers =
                [
                    database, folder.path + "/./p.sqlite", folder.path + "/../\(folder.lastPathComponent)/p.sqlite",
                    database + "-wal",
                ]
                + (exists ? [folder.path + "/link.sqlite", folder.path + "/hard.sqlite"] : [])
            for ledger in ledgers {
                let run = try await runToCompletion(
                    try PaymentsBinary.path(),
                    ["serve", "--db", database, "--port", "0"],
                    environment: PaymentsBinary.environment(["PAYMENTS_NETWORK_LEDGER": ledger]),
                    in: folder,
                    timeout: .seconds(30)
                )
                #expect(run.termination.reason == .exit && run.termination.status == 1, "\(ledger): \(run)")
                #expect(
                    run.output.contains(
                        "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER) \(ledger) is"
                    ),
                    "\(run.output)"
                )
                #expect(FileManager.default.fileExists(atPath: database) == exists, "\(ledger)")
            }
        }
        // And a --db that names the ledger's own file, with no ledger setting, says the database named is the ledger
        // (it told its operator to name another ledger, which they never set: a probe)
        for command in [["migrate"], ["serve", "--port", "0"], ["vault", "status"]] {
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                command + ["--db", folder.path + "/card-network.sqlite"],
                environment: PaymentsBinary.environment([:]),
                in: folder,
                timeout: .seconds(30)
            )
            #expect(run.termination.status != 0, "\(command): \(run)")
            #expect(run.output.contains("is the card network's ledger (card-network.sqlite"), "\(command): \(run)")
            #expect(!run.output.contains("Name another file"), "\(command): \(run)")
        }
        let log = try await runToCompletion(
            try PaymentsBinary.path(),
            ["migrate", "--db", folder.path + "/card-network.sqlite-wal"],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(30)
        )
        #expect(log.output.contains("the file SQLite keeps beside the card network's ledger"), "\(log)")
        // And the database holds none of the network's tables
        let tables = try Ledgers(folder: folder).read("p.sqlite") { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE name = 'authorizations'")
        }
        #expect(tables.isEmpty)
    }

    @Test("a database or ledger path that is no regular file, or whose folder cannot be made, is refused, naming it")
    func unusableDatabasePaths() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-unusable-paths")
        defer { try? FileManager.default.removeItem(at: folder) }
        let pipe = folder.appendingPathComponent("pipe.sqlite").path
        #expect(mkfifo(pipe, 0o600) == 0)
        let file = folder.appendingPathComponent("file.txt").path
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let database = folder.appendingPathComponent("p.sqlite").path
        let text = folder.appendingPathComponent("notes.sqlite").path
        #expect(
            FileManager.default.createFile(
                atPath: text,
                contents: Data(String(repeating: "not a database\n", count: 100).utf8)
            )
        )
        // A database cut short after its third page: `SQLite error 11: database disk image is malformed`, naming
        // neither the file nor what to do
        let whole = folder.appendingPathComponent("whole.sqlite").path
        let migrated = try await runToCompletion(
            try PaymentsBinary.path(),
            ["migrate", "--db", whole],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(30)
        )
        #expect(migrated.termination.isCleanExit, "\(migrated)")
        try await DatabaseQueue(path: whole).writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let cut = folder.appendingPathComponent("cut.sqlite").path
        let cutBytes = try Data(contentsOf: URL(fileURLWithPath: whole)).prefix(4096 * 3)
        try cutBytes.write(to: URL(fileURLWithPath: cut))
        for (db, ledger, message) in [
            // A file that is not SQLite's, as the database or as the ledger: named, where SQLite's words named neither
            (text, nil, "The database (--db, PAYMENTS_DB) '\(text)' is not a SQLite database"),
            (
                cut, nil,
                "The database (--db, PAYMENTS_DB) '\(cut)' is damaged: SQLite finds it cut short or overwritten"
            ),
            (
                database, text,
                "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER) '\(text)' is not a SQLite database"
            ),
            (pipe, nil, "The database (--db, PAYMENTS_DB) '\(pipe)' is not a regular file"),
            (file + "/p.sqlite", nil, "The database (--db, PAYMENTS_DB) '\(file)/p.sqlite': cannot make its folder"),
            (
                database, file + "/ledger.sqlite",
                "The card network's ledger (networkLedger, PAYMENTS_NETWORK_LEDGER) '\(file)/ledger.sqlite': cannot "
                    + "make its folder '\(file)': it is a file, not a folder."
            ),
        ] {
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                ["serve", "--db", db, "--port", "0"],
                environment: PaymentsBinary.environment(ledger.map { ["PAYMENTS_NETWORK_LEDGER": $0] } ?? [:]),
                in: folder,
                timeout: .seconds(30)
            )
            #expect(run.termination.reason == .exit && run.termination.status == 1, "\(db): \(run)")
            #expect(run.output.contains(message), "\(run.output)")
            #expect(!run.output.contains("NSCocoaErrorDomain"), "\(run.output)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: cut)) == cutBytes)
        var status = stat()
        #expect(stat(pipe, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
        #expect(!FileManager.default.fileExists(atPath: pipe + "-journal"))
    }

    @Test("an empty database, ledger or vault key setting is refused, naming it, before anything is opened")
    func emptyFileNamesRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-empty-paths")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("p.sqlite").path
        for (arguments, environment, role) in [
            (["--db", database], ["PAYMENTS_NETWORK_LEDGER": ""], "The card network's ledger (networkLedger"),
            (["--db", database], ["PAYMENTS_NETWORK_LEDGER": " "], "The card network's ledger (networkLedger"),
            ([], ["PAYMENTS_DB": ""], "The database (db, --db, PAYMENTS_DB)"),
            (["--db", ""], [:], "The database (db, --db, PAYMENTS_DB)"),
            // It overrode the config file's key, and the cards were sealed under the development key
            (["--db", database], ["PAYMENTS_VAULT_KEY": ""], "The vault key, PAYMENTS_VAULT_KEY"),
            (["--db", database], ["PAYMENTS_CATALOG": ""], "The catalog (catalog, PAYMENTS_CATALOG)"),
            (["--db", database], ["PAYMENTS_HOST": ""], "The address to listen on"),
            // It started with a warning, every /checkout/ page a 404 (a probe)
            (["--db", database], ["PAYMENTS_PUBLIC_FOLDER": ""], "The checkout's folder (publicFolder"),
        ] {
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                ["serve", "--port", "0"] + arguments,
                environment: PaymentsBinary.environment(environment),
                in: folder,
                timeout: .seconds(30)
            )
            // Then it exits 1 before opening anything, saying which setting is empty
            #expect(run.termination.reason == .exit && run.termination.status == 1, "\(environment): \(run)")
            #expect(run.output.contains("\(role)"), "\(run.output)")
            #expect(run.output.contains("is set empty"), "\(run.output)")
            #expect(!FileManager.default.fileExists(atPath: database), "\(environment)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("data").path))
        }
    }

    @Test("serve on an IPv6 address prints its URL with the address in brackets")
    func ipv6ListeningLine() async throws {
        // Given a server on the IPv6 loopback (the last --host wins over the harness's own)
        let server = try await ServerProcess.start(port: 0, arguments: ["--host", "::1"])
        defer { server.kill() }
        // Then its line is a URL naming the address and port (it printed `http://::1:PORT`, which is not one)
        let port = try #require(server.baseURL.port, "\(server.output)")
        #expect(server.output.contains("payments listening on http://[::1]:\(port) "), "\(server.output)")
        #expect(URL(string: "http://[::1]:\(port)")?.port == port)
        // And, on its new database, which migrations it applied, in the log and on the start lines
        let migrations = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(server.output.contains("applied \(migrations.count) migration(s): 0001_initial"), "\(server.output)")
        #expect(server.output.contains("applied migrations"), "\(server.output)")
    }

    @Test("a limit, log or pool setting out of range is refused naming that setting and its variable")
    func outOfRangeSettingsNamed() async throws {
        // They named the setting alone, or two settings for one (`maxHeaderCount and maxFormParameters`)
        for (variable, value, message) in [
            (
                "PAYMENTS_MAX_FORM_PARAMETERS", "3",
                "maxFormParameters (PAYMENTS_MAX_FORM_PARAMETERS) must be at least 8"
            ),
            ("PAYMENTS_MAX_BODY_BYTES", "10", "maxBodyBytes (PAYMENTS_MAX_BODY_BYTES) must be at least 1024"),
            ("PAYMENTS_RATE_LIMIT_BURST", "-1", "rateLimitBurst (PAYMENTS_RATE_LIMIT_BURST) must be 0"),
            ("PAYMENTS_IDLE_TIMEOUT", "-1", "idleTimeout (PAYMENTS_IDLE_TIMEOUT) must be 0"),
            ("PAYMENTS_LOG_LEVEL", "loud", "logLevel (PAYMENTS_LOG_LEVEL) must be one of"),
            ("PAYMENTS_LOG_FORMAT", "xml", "logFormat (PAYMENTS_LOG_FORMAT) must be text or json"),
            ("PAYMENTS_SHUTDOWN_GRACE_PERIOD", "-1", "shutdownGracePeriod (PAYMENTS_SHUTDOWN_GRACE_PERIOD) must be 0"),
            ("PAYMENTS_DATABASE_POOL_SIZE", "0", "databasePoolSize (PAYMENTS_DATABASE_POOL_SIZE) must be at least 1"),
            // (inf is positive: it was told "must be 0 (off) or positive")
            ("PAYMENTS_RATE_LIMIT", "inf", "rateLimit (PAYMENTS_RATE_LIMIT) must be 0 (off) or a finite positive"),
        ] {
            let run = try await Self.serve(refusing: [variable: value])
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(variable): \(run)")
            #expect(run.output.contains(message), "\(variable): \(run.output)")
            #expect(!run.createdDatabase, "\(variable)")
        }
        // And `--port -1` is the port's own refusal, where the parser took -1 for an option: "Missing value for
        // '--port <port>'"
        let negative = try await Self.serve(refusing: [:], port: "-1")
        #expect(negative.termination.reason == .exit && negative.termination.status != 0, "\(negative)")
        #expect(negative.output.contains("port (PAYMENTS_PORT) must be at least 0, not -1"), "\(negative.output)")
        #expect(!negative.createdDatabase)
    }

    @Test("a port another process listens on is refused, naming the address and the setting")
    func portInUse() async throws {
        try await withServer { server in
            // When a second server is started on the first one's port
            let folder = try TestPaths.temporaryFolder("payments-e2e-port-in-use")
            defer { try? FileManager.default.removeItem(at: folder) }
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                ["serve", "--db", folder.appendingPathComponent("p.sqlite").path, "--port", String(server.port)],
                environment: PaymentsBinary.environment([:]),
                in: folder,
                timeout: .seconds(30)
            )
            // Then it exits 1, saying where and what to set (NIO's words named neither)
            #expect(run.termination == Termination(reason: .exit, status: 1), "\(run)")
            #expect(run.output.contains("Cannot listen on 127.0.0.1:\(server.port)"), "\(run.output)")
            #expect(run.output.contains("PAYMENTS_PORT") && !run.output.contains("descriptor"), "\(run.output)")
            // Before anything was opened: no database, no ledger (found by a probe: the bind came after the
            // migrations, the start-up's recovery and a sweeper pass, on the old release's database at an upgrade)
            #expect(run.output.contains("Nothing was changed."), "\(run.output)")
            let made = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".log") }
            #expect(made.isEmpty, "\(made)")
        }
    }

    /// A migrations folder as an older release shipped it, made in `folder`: the first `count` migrations of this
    /// release's `migrations/`, and of its `postgres/` in a `postgres/` folder of its own.
    /// - Returns: the folder, and the newest migration of `migrations/` (the one this build needs).
    static func olderMigrations(in folder: URL, count: Int = 9) throws -> (folder: URL, needed: String) {
        let older = folder.appendingPathComponent("oldmig")
        var needed = ""
        for store in ["", "postgres"] {
            let source = TestPaths.root.appendingPathComponent("migrations").appendingPathComponent(store)
            let target = older.appendingPathComponent(store)
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let files = try FileManager.default.contentsOfDirectory(atPath: source.path).filter { $0.hasSuffix(".sql") }
                .sorted()
            if store.isEmpty { needed = String(try #require(files.last).dropLast(4)) }
            for file in files.prefix(count) {
                try FileManager.default.copyItem(
                    at: source.appendingPathComponent(file),
                    to: target.appendingPathComponent(file)
                )
            }
        }
        return (older, needed)
    }

    @Test(
        "serve with an older release's migrations folder is refused, naming it, its newest, the one needed and what to do"
    )
    func olderMigrationsFolderRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-older-migrations")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Given the first nine migrations in a folder of their own
        let (older, needed) = try Self.olderMigrations(in: folder)
        let database = folder.appendingPathComponent("p.sqlite").path
        // When serve is started with it (it migrated to 0009, answered ready, and failed every payment with a 500:
        // `table payment_intents has no column named shipping`)
        let run = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--db", database, "--port", "0", "--migrations", older.path],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(60)
        )
        // Then it exits 1, as for a missing folder, saying which folder, what it holds, what is needed and what to do
        #expect(run.termination == Termination(reason: .exit, status: 1), "\(run)")
        for part in [
            "The migrations folder '\(older.path)' is older than this build", "its newest migration is 0009_",
            "this build needs \(needed)", "Copy the .sql files of this release's migrations folder into it",
        ] {
            #expect(run.output.contains(part), "\(part): \(run.output)")
        }
        // And it made neither the database nor the card network's ledger
        #expect(!FileManager.default.fileExists(atPath: database))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("card-network.sqlite").path))
    }

    @Test("a host that names no address is refused naming it and the setting, before any file is made")
    func unknownHostRefused() async throws {
        // By the variable (port 0: the check comes before a free port is picked)
        let byVariable = try await Self.serve(refusing: ["PAYMENTS_HOST": "999.1.1.1"])
        #expect(byVariable.termination == Termination(reason: .exit, status: 1), "\(byVariable)")
        #expect(byVariable.output.contains("Cannot listen on 999.1.1.1: 999.1.1.1 is neither"), "\(byVariable.output)")
        // NIO's words (`SocketAddressError.UnknownHost: ... for host 999.1.1.1, port P`) named no setting
        #expect(byVariable.output.contains("--host, PAYMENTS_HOST"), "\(byVariable.output)")
        #expect(!byVariable.output.contains("SocketAddressError"), "\(byVariable.output)")
        #expect(!byVariable.createdDatabase)

        // And by the flag, on a port of its own
        let folder = try TestPaths.temporaryFolder("payments-e2e-unknown-host")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("p.sqlite").path
        let byFlag = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--db", database, "--host", "999.1.1.1", "--port", "4999"],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(60)
        )
        #expect(byFlag.termination == Termination(reason: .exit, status: 1), "\(byFlag)")
        #expect(byFlag.output.contains("Cannot listen on 999.1.1.1:4999"), "\(byFlag.output)")
        #expect(byFlag.output.contains("--host, PAYMENTS_HOST"), "\(byFlag.output)")
        #expect(!FileManager.default.fileExists(atPath: database))
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("card-network.sqlite").path))

        // And an address of another machine (a documentation address) is said as such, naming the setting
        let elsewhere = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--db", database, "--host", "192.0.2.1", "--port", "4999"],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(60)
        )
        #expect(elsewhere.termination == Termination(reason: .exit, status: 1), "\(elsewhere)")
        #expect(
            elsewhere.output.contains("Cannot listen on 192.0.2.1:4999: 192.0.2.1 is not an address of this machine"),
            "\(elsewhere.output)"
        )
        #expect(elsewhere.output.contains("--host, PAYMENTS_HOST"), "\(elsewhere.output)")
    }

    @Test("serve says at start when the checkout's files folder does not exist; with it, it says nothing")
    func missingPublicFolder() async throws {
        let missing = "/nonexistent/public-\(UUID().uuidString)"
        let server = try await ServerProcess.start(environment: ["PAYMENTS_PUBLIC_FOLDER": missing])
        defer { server.kill() }
        #expect(try await server.client.get("/checkout/").status == 404)
        #expect(server.output.contains("the checkout's files folder does not exist"), "\(server.output)")
        #expect(server.output.contains(missing), "\(server.output)")
        server.kill()
        server.removeFiles()

        let usual = try await ServerProcess.start()
        defer { usual.kill() }
        #expect(try await usual.client.get("/checkout/").status == 200)
        #expect(!usual.output.contains("files folder does not exist"), "\(usual.output)")
    }

    @Test("serve moves its sockets on eventLoops threads: half the cores by default, PAYMENTS_EVENT_LOOPS when set")
    func eventLoops() async throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let byDefault = try await ServerProcess.start()
        defer { byDefault.kill() }
        #expect(try await byDefault.client.get("/health").status == 200)
        let loops = try Self.eventLoopThreads(byDefault)
        #expect(loops.count == max(1, cores / 2), "\(loops)")
        byDefault.kill()
        byDefault.removeFiles()

        let three = try await ServerProcess.start(environment: ["PAYMENTS_EVENT_LOOPS": "3"])
        defer { three.kill() }
        for _ in 0..<6 { #expect(try await three.client.get("/health").status == 200) }
        let threeLoops = try Self.eventLoopThreads(three)
        #expect(threeLoops.count == 3, "\(threeLoops)")
        three.kill()
        three.removeFiles()

        let refused = try await Self.serve(refusing: ["PAYMENTS_EVENT_LOOPS": "0"])
        #expect(refused.termination.reason == .exit && refused.termination.status != 0, "\(refused)")
        #expect(refused.output.contains("PAYMENTS_EVENT_LOOPS"), "\(refused.output)")
        #expect(!refused.createdDatabase)
    }

    /// The nice value of each of the server's threads whose name starts with `prefix`, by name.
    static func niceness(_ server: ServerProcess, threadsNamed prefix: String) throws -> [String: Int] {
        var found: [String: Int] = [:]
        for thread in try ProcThreads.threads(ofProcess: "\(server.processIdentifier)")
        where thread.name.hasPrefix(prefix) {
            found[thread.name] = try ProcThreads.niceness(thread.folder)
        }
        return found
    }

    @Test("serve commits at the process's priority by default, lower by PAYMENTS_WRITER_NICENESS; 20 is refused")
    func writerNiceness() async throws {
        let own = try ProcThreads.niceness("/proc/self")
        // By default at the test process's nice value (which a child inherits), and 10 higher when set
        for (environment, expected) in [([:], own), (["PAYMENTS_WRITER_NICENESS": "10"], min(19, own + 10))] {
            let server = try await ServerProcess.start(environment: environment)
            defer { server.kill() }
            #expect(try await server.client.get("/health").status == 200)
            #expect(
                try Self.niceness(server, threadsNamed: "commit-")
                    == ["commit-payments": expected, "commit-card-net": expected],
                "\(environment)"
            )
            server.kill()
            server.removeFiles()
        }

        let refused = try await Self.serve(refusing: ["PAYMENTS_WRITER_NICENESS": "20"])
        #expect(refused.termination.reason == .exit && refused.termination.status != 0, "\(refused)")
        #expect(refused.output.contains("PAYMENTS_WRITER_NICENESS"), "\(refused.output)")
        #expect(!refused.createdDatabase)
    }

    @Test(
        "a number or switch given as text that is not one is refused, naming the setting, never kept at its default",
        arguments: [
            ("PAYMENTS_RATE_LIMIT", "10/s", "rateLimit"), ("PAYMENTS_EVENT_LOOPS", "two", "eventLoops"),
            ("PAYMENTS_GROUP_COMMIT", "maybe", "groupCommit"),
            ("PAYMENTS_IDEMPOTENCY_LEASE", "30s", "idempotencyLease"), ("PAYMENTS_IDLE_TIMEOUT", "75s", "idleTimeout"),
        ]
    )
    func unreadableNumberRefused(_ variable: String, _ value: String, _ setting: String) async throws {
        let run = try await Self.serve(refusing: [variable: value])
        #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
        #expect(run.output.contains("\(setting) (\(variable))") && run.output.contains("'\(value)'"), "\(run.output)")
        #expect(!run.createdDatabase)
    }

    @Test(
        "settings a service would misread are refused at start: an unknown environment, values past their bounds",
        arguments: [
            (
                "PAYMENTS_ENVIRONMENT", "Production",
                // any case is production, with its checks (the development keys refused), never development
                "This configuration is for production but uses the development"
            ),
            ("PAYMENTS_ENVIRONMENT", "prod", "must be development or production, not 'prod'"),
            (
                "PAYMENTS_CONFIRMATION_WINDOW", "9223372036854775807",
                "confirmationWindow (PAYMENTS_CONFIRMATION_WINDOW) must be at most"
            ),
            (
                "PAYMENTS_IDEMPOTENCY_LEASE", "9223372036854775807",
                "idempotencyLease (PAYMENTS_IDEMPOTENCY_LEASE) must be at most"
            ),
            (
                "PAYMENTS_SWEEP_INTERVAL", "9223372036854775807",
                "sweepInterval (PAYMENTS_SWEEP_INTERVAL) must be at most"
            ),
            (
                "PAYMENTS_SHUTDOWN_GRACE_PERIOD", "1e12",
                "shutdownGracePeriod (PAYMENTS_SHUTDOWN_GRACE_PERIOD) must be at most 86400 seconds."
            ),
            (
                "PAYMENTS_PUBLIC_BASE_URL", "not a url",
                "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) must be an http or https URL"
            ),
            (
                "PAYMENTS_PUBLIC_BASE_URL", "javascript:alert(1)",
                "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) must be an http"
            ),
            // The challenge links' path landed in the query or the fragment, or carried the credentials to browsers
            (
                "PAYMENTS_PUBLIC_BASE_URL", "https://pay.example.com/?x=1",
                "with no query (?), fragment (#) or user name"
            ),
            (
                "PAYMENTS_PUBLIC_BASE_URL", "https://pay.example.com/app#",
                "with no query (?), fragment (#) or user name"
            ),
            ("PAYMENTS_PUBLIC_BASE_URL", "https://user:pw@pay.example.com", "with no query (?), fragment (#) or user"),
            // Below their bounds, each named with its variable (messages named no variable, two settings at once, or
            // another setting; a negative network latency was taken as 0)
            (
                "PAYMENTS_CONFIRMATION_WINDOW", "0",
                "confirmationWindow (PAYMENTS_CONFIRMATION_WINDOW) must be at least 1 s"
            ),
            ("PAYMENTS_SWEEP_INTERVAL", "-1", "sweepInterval (PAYMENTS_SWEEP_INTERVAL) must be at least 0 s, not -1."),
            ("PAYMENTS_SWEEPER_LEASE", "0", "sweeperLease (PAYMENTS_SWEEPER_LEASE) must be at least 1 s, not 0."),
            ("PAYMENTS_IDEMPOTENCY_LEASE", "2", "idempotencyLease (PAYMENTS_IDEMPOTENCY_LEASE) must be at least 3 s"),
            (
                "PAYMENTS_NETWORK_LATENCY", "-5",
                "networkLatency (PAYMENTS_NETWORK_LATENCY) must be at least 0 ms, not -5."
            ),
            ("PAYMENTS_SYNCHRONOUS", "OFF", "synchronous (PAYMENTS_SYNCHRONOUS) must be FULL or NORMAL, not 'OFF'."),
            ("PAYMENTS_NETWORK_TIMEOUT", "0", "networkTimeout (PAYMENTS_NETWORK_TIMEOUT) must be positive, not 0.0."),
            // Wrong however it is written: no advice about a config file's quotes (it came from the environment)
            (
                "PAYMENTS_SWEEP_INTERVAL", "1.5",
                "sweepInterval (PAYMENTS_SWEEP_INTERVAL) must be a whole number, not '1.5'."
            ),
        ]
    )
    func misreadSettingsRefused(_ variable: String, _ value: String, _ message: String) async throws {
        let run = try await Self.serve(refusing: [variable: value])
        #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
        #expect(run.output.contains(message), "\(run.output)")
        #expect(!run.output.contains("in quotes"), "\(run.output)")
        #expect(!run.output.contains("Fatal error") && !run.output.contains("runtime failure"), "\(run.output)")
        #expect(!run.createdDatabase)
    }

    @Test("a config file's unknown setting, a setting outside payments, or a value of the wrong JSON type is refused")
    func configFileMistakesRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-config-names")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (content, message) in [
            (
                #"{"payments": {"confirmWindow": 60}}"#,
                "a setting 'payments.confirmWindow' that this service does not know"
            ),
            (#"{"payments": {}, "port": 8080}"#, "has 'port' outside \"payments\""),
            (
                #"{"payments": {"sweepInterval": 60.5}}"#,
                "sweepInterval (PAYMENTS_SWEEP_INTERVAL) must be a whole number, not 60.5"
            ),
            (
                #"{"payments": {"networkLatency": [5]}}"#,
                "networkLatency (PAYMENTS_NETWORK_LATENCY) must be a whole number, not"
            ),
            (#"{"payments": {"sweepInterval": "60"}}"#, "write it in the config file without quotes"),
            // JSON's true is not 1, nor 1 true, and a number is not text: each was read as another value or none
            (#"{"payments": {"port": true}}"#, "port (PAYMENTS_PORT) must be a whole number, not true"),
            (#"{"payments": {"groupCommit": 1}}"#, "groupCommit (PAYMENTS_GROUP_COMMIT) must be true or false, not 1"),
            (#"{"payments": {"host": 5}}"#, "host (PAYMENTS_HOST) must be text in quotes, not 5"),
            (#"{"payments": {"logLevel": null}}"#, "logLevel (PAYMENTS_LOG_LEVEL) must be text in quotes, not null"),
            (#"{"payments": 5}"#, "must hold its settings in an object"),
            // Read as no settings at all, every one at its default
            (#"{"payments": null}"#, #"has "payments": null"#),
        ] {
            let file = folder.appendingPathComponent("settings.json")
            try content.write(to: file, atomically: true, encoding: .utf8)
            let run = try await Self.serve(refusing: ["PAYMENTS_CONFIG": file.path])
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(content): \(run)")
            #expect(run.output.contains(message), "\(content): \(run.output)")
            #expect(!run.createdDatabase)
        }
        // And a folder named as the config file is said to be one (it was "not a JSON object of settings", with
        // Foundation's error dump: a probe)
        let run = try await Self.serve(refusing: ["PAYMENTS_CONFIG": folder.path])
        #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
        #expect(run.output.contains("is a folder; name the JSON file"), "\(run.output)")
        #expect(!run.output.contains("NSCocoaErrorDomain"), "\(run.output)")
    }

    @Test("a config file's unknown settings are all named in one refusal")
    func everyUnknownSettingNamed() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-config-unknowns")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("settings.json")
        try #"{"payments": {"confirmWindow": 60, "port": 4242, "sweepIntervall": 5, "zz": 1}}"#.write(
            to: file,
            atomically: true,
            encoding: .utf8
        )
        let run = try await Self.serve(refusing: ["PAYMENTS_CONFIG": file.path])
        #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
        #expect(
            run.output.contains(
                "has 3 settings that this service does not know: 'payments.confirmWindow' (did you mean "
                    + "'confirmationWindow'?), 'payments.sweepIntervall' (did you mean 'sweepInterval'?), 'payments.zz';"
            ),
            "\(run.output)"
        )
        #expect(!run.createdDatabase)
    }

    @Test("a catalog file that is missing, a folder or not a catalog is refused in plain words, naming the file")
    func unreadableCatalogRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-catalog")
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("missing.json").path
        let noItems = folder.appendingPathComponent("no-items.json")
        try #"{"default": "book"}"#.write(to: noItems, atomically: true, encoding: .utf8)
        let wrongType = folder.appendingPathComponent("wrong-type.json")
        try #"{"default": "book", "items": [{"id": 5}]}"#.write(to: wrongType, atomically: true, encoding: .utf8)
        for (path, reason) in [
            (missing, "it does not exist."), (folder.path, "it is a folder."),
            (noItems.path, #"items is missing; it must be {"default": ID, "items": ["#),
            (wrongType.path, "items[0].id has the wrong type;"),
        ] {
            let run = try await Self.serve(refusing: ["PAYMENTS_CATALOG": path])
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(path): \(run)")
            let expected = "The catalog file '\(path)' (setting catalog, PAYMENTS_CATALOG) cannot be read: \(reason)"
            #expect(run.output.contains(expected), "\(run.output)")
            #expect(!run.output.contains("NSCocoaErrorDomain") && !run.output.contains("keyNotFound"), "\(run.output)")
            #expect(!run.createdDatabase)
        }
    }

    @Test("a catalog with an item /pay could not charge is refused at start, naming the item and why")
    func unchargeableCatalogRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-unchargeable-catalog")
        defer { try? FileManager.default.removeItem(at: folder) }
        func item(_ id: String, _ amount: String, _ currency: String) -> String {
            #"{"id": "\#(id)", "name": "Thing", "amount": \#(amount), "currency": "\#(currency)"}"#
        }
        // Before, each started, published its items on /checkout/config.json, and every payment of them was a 400
        for (items, reason) in [
            ([item("a", "-5", "usd")], "item 'a' costs -5 usd, which cannot be charged: Invalid positive integer."),
            (
                [item("a", "5", "usd")],
                "item 'a' costs 5 usd, which cannot be charged: Amount must be at least $0.50 usd."
            ),
            (
                [item("a", "1000000000000000", "usd")],
                "item 'a' costs 1000000000000000 usd, which cannot be charged: Amount must be no more than"
            ),
            ([item("a", "500", "xyz")], "item 'a' has the currency 'xyz', which is not one Stripe charges in."),
            ([item("a", "500", "usd"), item("a", "900", "usd")], "two items have the id 'a'."),
            // a three-decimal amount not ending in 0 (the message ended "..")
            ([item("a", "1005", "bhd")], "item 'a' costs 1005 bhd, which cannot be charged: "),
        ] {
            let file = folder.appendingPathComponent("catalog-\(UUID().uuidString.prefix(8)).json")
            let json = #"{"default": "a", "items": [\#(items.joined(separator: ", "))]}"#
            try json.write(to: file, atomically: true, encoding: .utf8)
            let run = try await Self.serve(refusing: ["PAYMENTS_CATALOG": file.path])
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(json): \(run)")
            #expect(run.output.contains("The catalog (catalog, PAYMENTS_CATALOG): \(reason)"), "\(run.output)")
            let said = run.output.split(separator: "\n").first { $0.contains("The catalog") } ?? ""
            #expect(!said.hasSuffix("..") && !said.contains("not JSON"), "\(said)")
        }
        // A number that is no whole number is named; Foundation's decoder said the file was "not JSON"
        let fraction = folder.appendingPathComponent("fraction.json")
        try #"{"default": "a", "items": [\#(item("a", "500", "usd")), \#(item("b", "10.5", "usd"))]}"#
            .write(to: fraction, atomically: true, encoding: .utf8)
        let refused = try await Self.serve(refusing: ["PAYMENTS_CATALOG": fraction.path])
        #expect(refused.termination.reason == .exit && refused.termination.status != 0, "\(refused)")
        #expect(
            refused.output.contains("items[1].amount is 10.5, not a whole number of the currency's minor unit"),
            "\(refused.output)"
        )
        #expect(!refused.output.contains("not JSON"), "\(refused.output)")
        // And a catalog whose items can be charged starts (uppercase currency codes included)
        let good = folder.appendingPathComponent("good.json")
        try #"{"default": "a", "items": [\#(item("a", "500", "USD")), \#(item("b", "1000", "jpy"))]}"#
            .write(to: good, atomically: true, encoding: .utf8)
        let server = try await ServerProcess.start(environment: ["PAYMENTS_CATALOG": good.path])
        defer { server.kill() }
        #expect(try await server.client.get("/checkout/config.json").status == 200)
    }

    @Test("a setting under a name no setting has is warned about, with the name meant; serve and the commands go on")
    func unknownSettingsWarned() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-unknown-settings")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Before, each was ignored without a word: the setting kept its default (a config file's are refused)
        let environment = ["PAYMENTS_RATE_LIMT": "5", "PAYMENTS_COLOUR": "blue", "PAYMENTS_LOG_LEVEL": "info"]
        let server = try await ServerProcess.start(environment: environment)
        defer { server.kill() }
        #expect(try await server.client.get("/health").status == 200)
        let said = server.output
        #expect(
            said.contains(
                "The environment variable PAYMENTS_RATE_LIMT is no setting of payments, and is ignored; did you mean "
                    + "PAYMENTS_RATE_LIMIT?"
            ),
            "\(said)"
        )
        #expect(
            said.contains("The environment variable PAYMENTS_COLOUR is no setting of payments, and is ignored."),
            "\(said)"
        )
        // the names it reads are not warned about
        #expect(!said.contains("PAYMENTS_LOG_LEVEL is no"))
        // And a command other than serve says it on standard error, then runs
        let migrated = try await runToCompletion(
            try PaymentsBinary.path(),
            ["migrate", "--db", folder.appendingPathComponent("m.sqlite").path],
            environment: PaymentsBinary.environment(["PAYMENTS_SWEEP_INTERVALL": "60"]),
            in: folder,
            timeout: .seconds(60)
        )
        #expect(migrated.termination.reason == .exit && migrated.termination.status == 0, "\(migrated)")
        #expect(
            migrated.output.contains(
                "payments: warning: The environment variable PAYMENTS_SWEEP_INTERVALL is no setting of payments, and "
                    + "is ignored; did you mean PAYMENTS_SWEEP_INTERVAL?"
            ),
            "\(migrated.output)"
        )
    }

    @Test("a config file that is not a JSON object is refused, naming the file and what is wrong with it")
    func unreadableConfigFile() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-config-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (content, reason) in [
            (#"{"payments": {"port": 4242"#, "Unexpected end of file"), ("[1, 2]", "must be an object"),
        ] {
            let file = folder.appendingPathComponent("settings.json")
            try content.write(to: file, atomically: true, encoding: .utf8)
            let run = try await Self.serve(refusing: ["PAYMENTS_CONFIG": file.path])
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
            #expect(run.output.contains("The config file '\(file.path)' is not a JSON object"), "\(run.output)")
            #expect(run.output.contains(reason), "\(run.output)")
            #expect(!run.createdDatabase)
        }
    }

    @Test("a pending attempt whose card is missing from the vault does not stop serve from starting")
    func unsettleableAttemptDoesNotBlockStart() async throws {
        // Given a database with one succeeded payment, stopped
        let first = try await ServerProcess.start()
        defer { first.kill() }
        let paid = try await first.client.postForm(
            "/v1/payment_intents",
            IdempotencyTests.visaIntent,
            auth: first.secret
        )
        #expect(paid.status == 200, "\(paid)")
        let paidID = try #require(try paid.json()["id"]?.string)
        let card = try await first.createPaymentMethod(card: SeedCard.succeeds)
        #expect(await first.stop()?.isCleanExit == true, "\(first.diagnostics)")

        // And, written by hand, an intent in processing with a pending attempt whose card is gone from the vault
        let tag = String(UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16))
        let intentID = "pi_e2eStuck\(tag)"
        let chargeID = "ch_e2eStuck\(tag)"
        let now = Int(Date().timeIntervalSince1970)
        do {
            let database = try DatabaseQueue(path: first.db.path)
            try await database.write { db in
                try db.execute(sql: "DELETE FROM card_vault WHERE payment_method = ?", arguments: [card])
                try db.execute(
                    sql: """
                        INSERT INTO payment_intents (id, created, amount, currency, status, capture_method,
                            confirmation_method, client_secret, payment_method, latest_charge)
                        VALUES (?, ?, 1500, 'usd', 'processing', 'automatic', 'automatic', ?, ?, ?)
                        """,
                    arguments: [intentID, now, "\(intentID)_secret_e2e", card, chargeID]
                )
                try db.execute(
                    sql: """
                        INSERT INTO charges (id, created, payment_intent, payment_method, amount, currency, status,
                            capture)
                        VALUES (?, ?, ?, ?, 1500, 'usd', 'pending', 1)
                        """,
                    arguments: [chargeID, now, intentID, card]
                )
            }
            try database.close()
        }

        // When the server starts again on it
        let server = try await ServerProcess.start(folder: first.folder, keys: first.keys)
        defer { server.kill() }

        // Then it takes requests, and says the attempt is left for the sweeper
        #expect(
            server.output.contains("1 pending attempt(s) could not be settled yet; the sweeper retries"),
            "\(server.output)"
        )
        let health = try await server.client.get("/health")
        #expect(health.status == 200, "\(health)")
        // And nothing was invented for the attempt: still pending, never sent to the network
        let ledgers = Ledgers(folder: server.folder)
        #expect(try await ledgers.pendingCharges() == 1)
        let asked = try ledgers.read("card-network.sqlite") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM authorizations WHERE attempt_id = ?", arguments: [chargeID])
        }
        #expect(asked == 0)
        #expect(try await server.paymentIntent(intentID)["status"]?.string == "processing")
        // And the rest is served as before
        #expect(try await server.paymentIntent(paidID)["status"]?.string == "succeeded")
        let another = try await server.client.postForm(
            "/v1/payment_intents",
            IdempotencyTests.visaIntent,
            auth: server.secret
        )
        #expect(another.status == 200, "\(another)\n\(server.diagnostics)")
        #expect(try another.json()["status"]?.string == "succeeded", "\(another)")
        server.kill()
        server.removeFiles()
    }
}
