import Foundation
import TestSupport
import Testing

/// The process around the API: health, the listening line, graceful shutdown, restarts and `migrate`.
@Suite("Server process lifecycle")
struct LifecycleTests {
    @Test("GET /health answers 200 once the server takes requests", arguments: TestStore.allCases)
    func health(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let answer = try await server.client.get("/health")
            #expect(answer.status == 200, "\(answer)")
            #expect(try answer.json()["status"]?.string == "ok", "\(answer)")
            #expect(answer.header("Request-Id")?.hasPrefix("req_") == true, "\(answer.headers)")
        }
    }

    @Test(
        "--port 0 listens on a free port, prints it, and builds challenge URLs with it",
        arguments: TestStore.allCases
    )
    func portZero(_ store: TestStore) async throws {
        try await withServer(store: store, port: 0) { server in
            #expect(server.port != 0, "\(server.output)")
            let health = try await server.client.get("/health")
            #expect(health.status == 200, "\(health)")
            // Keys of its own (not the built-in development keys) are never printed, whatever the environment.
            #expect(server.output.contains("API keys: configured (not shown)"), "\(server.output)")
            #expect(!server.output.contains(server.secretKey), "the configured secret key was printed")
            #expect(!server.output.contains("development keys"))

            let answer = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "1099"), ("currency", "usd"), ("payment_method", "pm_card_authenticationRequired"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            )
            let intent = try answer.json()
            #expect(intent["status"]?.string == "requires_action", "\(intent)")
            let url = try #require(intent["next_action"]?["redirect_to_url"]?["url"]?.string, "\(intent)")
            #expect(
                url.hasPrefix("\(server.baseURL.absoluteString)/3ds/"),
                "the challenge URL must be on the address the server listens on (\(server.baseURL)), not \(url)"
            )
        }
    }

    @Test(
        "SIGTERM exits 0 promptly; a restart on the same database serves the same intents unchanged",
        arguments: TestStore.allCases
    )
    func restartKeepsData(_ store: TestStore) async throws {
        let first = try await ServerProcess.start(store: store)
        defer { first.kill() }
        let folder = first.folder
        var created: [String: JSON] = [:]
        for (card, expected) in [
            (SeedCard.succeeds, 200), (SeedCard.needsAuthentication, 200), (SeedCard.insufficientFunds, 402),
        ] {
            let paymentMethod = try await first.createPaymentMethod(card: card)
            let answer = try await first.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "2500"), ("currency", "eur"), ("payment_method", paymentMethod),
                    ("confirmation_method", "manual"), ("confirm", "true"),
                    ("metadata[order]", "order-\(card.suffix(4))"),
                ],
                auth: first.secret
            )
            #expect(answer.status == expected, "\(answer)")
            let json = try answer.json()
            let id = try #require(json["id"]?.string ?? json["error"]?["payment_intent"]?["id"]?.string, "\(answer)")
            created[id] = try await first.paymentIntent(id)
        }
        let listedBefore = try await first.client.get("/v1/payment_intents", auth: first.secret).json()

        let termination = await first.stop(signal: SIGTERM, timeout: .seconds(10))
        #expect(termination != nil, "payments serve was still running 10 s after SIGTERM\n\(first.diagnostics)")
        #expect(termination?.isCleanExit == true, "after SIGTERM: \(termination.map { "\($0)" } ?? "killed")")

        // Same data, same keys, same port (so the challenge URLs stay the same).
        let second = try await ServerProcess.start(store: store, folder: folder, port: first.port, keys: first.keys)
        defer { second.kill() }
        for (id, before) in created {
            let after = try await second.paymentIntent(id)
            #expect(after == before, "intent \(id) changed across the restart:\nbefore \(before)\nafter  \(after)")
        }
        let listedAfter = try await second.client.get("/v1/payment_intents", auth: second.secret).json()
        let ids = listedAfter["data"]?.array?.compactMap { $0["id"]?.string } ?? []
        #expect(Set(ids) == Set(created.keys), "\(listedAfter)")
        #expect(listedAfter == listedBefore, "the list, in the same order, across the restart")
        #expect(await second.stop()?.isCleanExit == true, "\(second.diagnostics)")
        second.removeFiles()
    }

    /// SIGHUP (the terminal or ssh session that started it closed) killed it at once, cutting requests in flight.
    @Test(
        "SIGINT and SIGHUP stop the server as gracefully as SIGTERM",
        arguments: TestStore.allCases,
        [SIGINT, SIGHUP]
    )
    func sigint(_ store: TestStore, signal: Int32) async throws {
        let server = try await ServerProcess.start(store: store)
        defer { server.kill() }
        #expect(try await server.client.get("/health").status == 200)
        let termination = await server.stop(signal: signal, timeout: .seconds(10))
        #expect(
            termination?.isCleanExit == true,
            "after \(signal): \(String(describing: termination))\n\(server.output)"
        )
        server.removeFiles()
    }

    @Test("three payments migrate at once on a fresh file all exit 0, with every migration applied once")
    func migrateAtOnce() async throws {
        let binary = try PaymentsBinary.path()
        let environment = PaymentsBinary.environment([:])
        let expected = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations)
            .filter { $0.hasSuffix(".sql") }.count
        // Half the rounds had one of two fail before (`table customers already exists`): a few rounds of three
        for round in 0..<4 {
            let folder = try TestPaths.temporaryFolder("payments-e2e-migrate-\(round)")
            defer { try? FileManager.default.removeItem(at: folder) }
            let db = folder.appendingPathComponent("payments.sqlite")
            let arguments = ["migrate", "--db", db.path]
            async let a = runToCompletion(binary, arguments, environment: environment, in: folder)
            async let b = runToCompletion(binary, arguments, environment: environment, in: folder)
            async let c = runToCompletion(binary, arguments, environment: environment, in: folder)
            for run in try await [a, b, c] {
                #expect(run.termination.isCleanExit, "round \(round): \(run.termination)\n\(run.output)")
            }
            let applied = try Ledgers(folder: folder).read("payments.sqlite") { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations")
            }
            #expect(applied == expected)
        }
    }

    @Test("payments migrate on a fresh file, then again: both exit 0 and agree")
    func migrateTwice() async throws {
        let binary = try PaymentsBinary.path()
        let folder = try TestPaths.temporaryFolder("payments-e2e-migrate")
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("nested/payments.sqlite")
        let environment = PaymentsBinary.environment([:])

        let first = try await runToCompletion(
            binary,
            ["migrate", "--db", db.path],
            environment: environment,
            in: folder
        )
        #expect(first.termination.isCleanExit, "first migrate: \(first.termination)\n\(first.output)")
        #expect(FileManager.default.fileExists(atPath: db.path), "the database file (and its folder) is created")
        // It reports where the database now is: the newest file in migrations/.
        let newest = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations)
            .filter { $0.hasSuffix(".sql") }.sorted().last.map { String($0.dropLast(4)) }
        let expected = try #require(newest, "no .sql files in \(TestPaths.migrations)")
        #expect(first.output.contains(expected), "migrate should report migration \(expected):\n\(first.output)")

        let second = try await runToCompletion(
            binary,
            ["migrate", "--db", db.path],
            environment: environment,
            in: folder
        )
        #expect(second.termination.isCleanExit, "second migrate: \(second.termination)\n\(second.output)")
        // Both say where the database is; the first what it applied, the second that nothing was left
        let firstLines = first.output.split(separator: "\n")
        let secondLines = second.output.split(separator: "\n")
        #expect(
            firstLines.first == secondLines.first,
            "both name the same migration:\n\(first.output)\n\(second.output)"
        )
        #expect(firstLines.contains { $0.hasPrefix("Applied ") && $0.hasSuffix("\(expected).") }, "\(first.output)")
        #expect(secondLines.last == "Nothing to apply.", "a second migrate applies nothing new:\n\(second.output)")

        // The migrated file serves at once.
        let server = try await ServerProcess.start(folder: db.deletingLastPathComponent())
        defer { server.kill() }
        #expect(try await server.client.get("/health").status == 200, "\(server.diagnostics)")
    }

    @Test("a database a newer build migrated: migrate counts only what it knows and names the rest; serve says so")
    func newerBuildsMigrations() async throws {
        let (binary, folder, db, environment, first) = try await Self.migratedFile()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Given a migration this build does not have, as a newer build records it
        try await Ledgers(folder: folder).execute(
            "INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')"
        )

        // When migrate runs on it
        let again = try await runToCompletion(
            binary,
            ["migrate", "--db", db.path],
            environment: environment,
            in: folder
        )

        // Then it exits 0 with the same count of its own migrations (it said one more, and the newest its own),
        // and names the other
        #expect(again.termination.isCleanExit, "\(again.output)")
        let firstLine = try #require(first.split(separator: "\n").first)
        #expect(again.output.hasPrefix(firstLine + "\n"), "\(first)\n\(again.output)")
        #expect(
            again.output.contains("1 migration(s) this build does not know (9999_from_the_future)"),
            "\(again.output)"
        )
        // And serve starts on it, saying the same
        let server = try await ServerProcess.start(folder: folder)
        defer { server.kill() }
        #expect(server.output.contains("this build does not know (9999_from_the_future)"), "\(server.diagnostics)")
    }

    @Test("a database file this user cannot write is refused by migrate, serve and sweep, naming the file and why")
    func unwritableDatabase() async throws {
        let (binary, folder, db, environment, _) = try await Self.migratedFile()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Given the file read-only to the user that runs the commands: root writes whatever the mode says, so as root
        // they run as `nobody`, who may read the file (and the repository) and write neither it nor its folder
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db.path)
        let (executable, prefix) = getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "nobody", "--", binary]) : (binary, [])
        for command in [["migrate"], ["sweep"], ["serve", "--port", "0"]] {
            // When the command starts on it
            let run = try await runToCompletion(
                executable,
                prefix + command + ["--db", db.path],
                environment: environment,
                in: folder
            )
            // Then it exits 1 naming the file and the cause, not GRDB's words for the first write that failed
            #expect(!run.termination.isCleanExit, "\(command): \(run.output)")
            #expect(run.output.contains("'\(db.path)' cannot be written"), "\(command): \(run.output)")
            #expect(!run.output.contains("grdb_issue_102"), "\(command): \(run.output)")
        }
    }

    @Test("an export of a database in a folder this user cannot write says what SQLite needs and what to do")
    func exportFromUnwritableFolder() async throws {
        let (binary, folder, db, environment, _) = try await Self.migratedFile()
        let outputs = try TestPaths.temporaryFolder("payments-e2e-export-out")
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder.path)
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: outputs)
        }
        // Given the database and its folder read-only to the user that exports (as root: `nobody`), who may write
        // the archive elsewhere
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: db.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.path)
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: outputs.path)
        let (executable, prefix) = getuid() == 0 ? ("/usr/sbin/runuser", ["-u", "nobody", "--", binary]) : (binary, [])
        let archive = outputs.appendingPathComponent("payments.archive").path
        // When it exports
        let run = try await runToCompletion(
            executable,
            prefix + ["export", "--db", db.path, "--output", archive],
            environment: environment,
            in: outputs
        )
        // Then it exits 1 saying why SQLite writes beside the file and what to do, not SQLite's bare words
        #expect(!run.termination.isCleanExit, "\(run.output)")
        #expect(run.output.contains("this user may not write to the file or its folder"), "\(run.output)")
        #expect(run.output.contains(".backup COPY"), "\(run.output)")
        #expect(!run.output.contains("attempt to write a readonly database"), "\(run.output)")
        #expect(!FileManager.default.fileExists(atPath: archive))
    }

    /// A new folder holding `payments.sqlite` made by `payments migrate`: the binary, the folder, the file, the
    /// commands' environment and what migrate printed.
    static func migratedFile() async throws -> (
        binary: String, folder: URL, db: URL, environment: [String: String], output: String
    ) {
        let binary = try PaymentsBinary.path()
        let folder = try TestPaths.temporaryFolder("payments-e2e-migrate")
        let db = folder.appendingPathComponent("payments.sqlite")
        let environment = PaymentsBinary.environment([:])
        let made = try await runToCompletion(
            binary,
            ["migrate", "--db", db.path],
            environment: environment,
            in: folder
        )
        #expect(made.termination.isCleanExit, "\(made.output)")
        return (binary, folder, db, environment, made.output)
    }
}
