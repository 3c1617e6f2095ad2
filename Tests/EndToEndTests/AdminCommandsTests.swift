import Foundation
import GRDB
import TestSupport
import Testing

/// `payments sweep` and `payments report` with the built binary against a database the server has open, and an
/// admin's read-only connection that never blocks the server.
@Suite("Admin commands beside a running server")
struct AdminCommandsTests {
    static func run(_ server: ServerProcess, _ arguments: [String]) async throws -> (
        termination: Termination, output: String
    ) {
        try await runToCompletion(
            try PaymentsBinary.path(),
            arguments + server.databaseArguments,
            environment: server.commandEnvironment(),
            in: server.folder
        )
    }

    /// Runs `arguments` with standard output a pipe whose reader is gone, then `/dev/full`: it ends by SIGPIPE, as
    /// any filter does (PostgreSQL's commands trapped in Foundation's `FileHandle.write`, SIGPIPE being ignored
    /// there), and exits 1 on the full disk (every store trapped).
    static func expectQuietEndsOfOutput(
        _ arguments: [String],
        environment: [String: String],
        in folder: URL,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        let closed = try await runToCompletion(
            try PaymentsBinary.path(),
            arguments,
            environment: environment,
            in: folder,
            output: pipe.fileHandleForWriting
        )
        try pipe.fileHandleForWriting.close()
        #expect(
            closed.termination == Termination(reason: .uncaughtSignal, status: SIGPIPE),
            sourceLocation: sourceLocation
        )
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"), sourceLocation: sourceLocation)
        defer { try? full.close() }
        let onFullDisk = try await runToCompletion(
            try PaymentsBinary.path(),
            arguments,
            environment: environment,
            in: folder,
            output: full
        )
        #expect(onFullDisk.termination == Termination(reason: .exit, status: 1), sourceLocation: sourceLocation)
    }

    @Test("report, sweep, vault status and migrate whose output is gone end by SIGPIPE, and exit 1 on a full disk")
    func quietEndsOfOutput() async throws {
        try await withServer { server in
            // migrate exited 0 on a full disk, saying nothing
            for arguments in [["report", "--list"], ["sweep"], ["vault", "status"], ["migrate"]] {
                try await Self.expectQuietEndsOfOutput(
                    arguments + server.databaseArguments,
                    environment: server.commandEnvironment(),
                    in: server.folder
                )
            }
        }
    }

    @Test("vault status and vault rotate make no card network ledger beside the database, as migrate makes none")
    func vaultCommandsMakeNoLedger() async throws {
        try await withServer { server in
            // Given a migrated database in a folder of its own, and no ledger named
            let folder = server.folder.appendingPathComponent("elsewhere")
            let db = folder.appendingPathComponent("payments.sqlite").path
            var environment = server.commandEnvironment()
            environment["PAYMENTS_NETWORK_LEDGER"] = nil
            let binary = try PaymentsBinary.path()
            let migrated = try await runToCompletion(
                binary,
                ["migrate", "--db", db],
                environment: environment,
                in: server.folder
            )
            #expect(migrated.termination.status == 0, "\(migrated.output)")
            // When the vault commands run on it
            for arguments in [["vault", "status"], ["vault", "rotate"]] {
                let ran = try await runToCompletion(
                    binary,
                    arguments + ["--db", db],
                    environment: environment,
                    in: server.folder
                )
                #expect(ran.termination.status == 0, "\(arguments): \(ran.output)")
            }
            // Then no ledger was made beside it: an empty one was, and a later sweep or serve there found a ledger
            // that did not hold the database's payments instead of none
            let ledger = folder.appendingPathComponent("card-network.sqlite").path
            #expect(!FileManager.default.fileExists(atPath: ledger))
        }
    }

    @Test("report, export and import naming the card network's ledger as their database say it is not one")
    func ledgerNamedAsTheDatabase() async throws {
        try await withServer(store: .sqlite) { server in
            #expect(try await HealthEndToEndTests.payVisa(server).status == 200)
            let ledger = server.folder.appendingPathComponent("card-network.sqlite").path
            let binary = try PaymentsBinary.path()
            let archive = server.folder.appendingPathComponent("ledger.archive").path
            for (arguments, ledgerSetting) in [
                (["report", "daily_volume"], nil), (["report", "--list"], nil), (["export", "--output", archive], nil),
                (["export", "--output", archive], ledger), (["report", "daily_volume"], ledger),
            ] as [([String], String?)] {
                let environment = server.commandEnvironment(
                    ledgerSetting.map { ["PAYMENTS_NETWORK_LEDGER": $0] } ?? [:]
                )
                let run = try await runToCompletion(
                    binary,
                    arguments + ["--db", ledger],
                    environment: environment,
                    in: server.folder
                )
                // Then each is refused as not a payments database: a report was told to run `payments migrate`
                // (which refuses the file), and with the ledger's setting at its default beside the file, or named,
                // export was told that the ledger was its database
                #expect(run.termination == Termination(reason: .exit, status: 1), "\(arguments): \(run.output)")
                #expect(run.output.contains("is not a payments database"), "\(arguments): \(run.output)")
                #expect(!run.output.contains("payments migrate"), "\(arguments): \(run.output)")
            }
            #expect(!FileManager.default.fileExists(atPath: archive))
        }
    }

    @Test("sweep, recharge and vault on a database with migrations to apply exit 2 naming them; report reads it")
    func pendingMigrationsRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-pending-migrations")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Given a database an earlier version made: migrated up to all but the newest migration (by GRDB's migrator,
        // as the service's own runs them: `payments migrate` refuses an older release's folder)
        let all = try FileManager.default.contentsOfDirectory(
            atPath: TestPaths.root.appendingPathComponent("migrations").path
        ).filter { $0.hasSuffix(".sql") }.sorted()
        let newest = try #require(all.last)
        let db = folder.appendingPathComponent("payments.sqlite").path
        var migrator = DatabaseMigrator()
        for file in all.dropLast() {
            let sql = try String(
                contentsOf: TestPaths.root.appendingPathComponent("migrations").appendingPathComponent(file),
                encoding: .utf8
            )
            migrator.registerMigration(String(file.dropLast(4))) { db in try db.execute(sql: sql) }
        }
        try migrator.migrate(try DatabaseQueue(path: db))
        let environment = PaymentsBinary.environment([
            "PAYMENTS_NETWORK_LEDGER": folder.appendingPathComponent("card-network.sqlite").path
        ])
        let binary = try PaymentsBinary.path()
        func run(_ arguments: [String]) async throws -> (termination: Termination, output: String) {
            try await runToCompletion(binary, arguments + ["--db", db], environment: environment, in: folder)
        }
        func applied() throws -> Int {
            try DatabaseQueue(path: db).read { try Int.fetchOne($0, sql: "SELECT count(*) FROM grdb_migrations") ?? 0 }
        }
        #expect(try applied() == all.count - 1)
        let input = folder.appendingPathComponent("rows.csv")
        try "customer,amount,currency,reference\ncus_x,1000,usd,r-1\n".write(
            to: input,
            atomically: true,
            encoding: .utf8
        )
        // When this version's commands on existing data run on it
        for arguments in [["sweep"], ["recharge", "--input", input.path], ["vault", "status"], ["vault", "rotate"]] {
            let refused = try await run(arguments)
            // Then each exits 2 naming the migration and what to run, and changes nothing (each migrated it, saying
            // nothing: a cron job's sweep rebuilt tables beside the older version's running server)
            #expect(refused.termination == Termination(reason: .exit, status: 2), "\(arguments): \(refused.output)")
            #expect(refused.output.contains(String(newest.dropLast(4))), "\(arguments): \(refused.output)")
            #expect(refused.output.contains("Run `payments migrate`"), "\(arguments): \(refused.output)")
            #expect(try applied() == all.count - 1, "\(arguments)")
        }
        // Another program's file (the card network's ledger, say) is named as not a payments database, not sent to
        // `payments migrate`, which refuses it too
        let other = folder.appendingPathComponent("other-program.sqlite").path
        try await DatabaseQueue(path: other).write { db in try db.execute(sql: "CREATE TABLE authorizations (id TEXT)")
        }
        let onLedger = try await runToCompletion(
            binary,
            ["sweep", "--db", other],
            environment: environment,
            in: folder
        )
        #expect(onLedger.termination.status != 0, "\(onLedger.output)")
        #expect(onLedger.output.contains("is not a payments database"), "\(onLedger.output)")
        #expect(!onLedger.output.contains("Run `payments migrate`"), "\(onLedger.output)")
        // A report reads it as it is
        let report = try await run(["report", "daily_volume"])
        #expect(report.termination.isCleanExit, "\(report.output)")
        // And once migrated, saying what it applied now (and the next time that nothing was left), the commands run
        let migrated = try await run(["migrate"])
        #expect(migrated.termination.isCleanExit, "\(migrated.output)")
        #expect(migrated.output.contains("Applied 1 migration(s) now: \(newest.dropLast(4))."), "\(migrated.output)")
        #expect(try applied() == all.count)
        let again = try await run(["migrate"])
        #expect(again.output.contains("Nothing to apply."), "\(again.output)")
        let swept = try await run(["sweep"])
        #expect(swept.termination.isCleanExit, "\(swept.output)")
    }

    @Test("migrate, sweep, recharge, vault and import with an older release's migrations folder exit 1, naming it")
    func olderMigrationsFolderRefused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-older-migrations")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (older, needed) = try ServeStartupTests.olderMigrations(in: folder)
        let environment = PaymentsBinary.environment([:])
        let binary = try PaymentsBinary.path()
        func run(_ arguments: [String]) async throws -> (termination: Termination, output: String) {
            try await runToCompletion(binary, arguments, environment: environment, in: folder)
        }
        func expectRefused(_ run: (termination: Termination, output: String), _ what: String, status: Int32 = 1) {
            #expect(run.termination == Termination(reason: .exit, status: status), "\(what): \(run)")
            for part in [
                "The migrations folder '\(older.path)' is older than this build", "its newest migration is 0009_",
                "this build needs \(needed)", "Copy the .sql files of this release's migrations folder into it",
            ] {
                #expect(run.output.contains(part), "\(what): \(part): \(run.output)")
            }
        }
        // When `migrate` makes a new database with it (it migrated to 0009 and said so, exit 0)
        let fresh = folder.appendingPathComponent("fresh.sqlite").path
        expectRefused(try await run(["migrate", "--db", fresh, "--migrations", older.path]), "migrate, new file")
        // Then it is refused, and no file is made
        #expect(!FileManager.default.fileExists(atPath: fresh))

        // Given a database of this release, and an archive of it
        let db = folder.appendingPathComponent("payments.sqlite").path
        let migrated = try await run(["migrate", "--db", db])
        #expect(migrated.termination.isCleanExit, "\(migrated.output)")
        let archive = folder.appendingPathComponent("archive.jsonl").path
        let exported = try await run(["export", "--db", db, "--output", archive])
        #expect(exported.termination.isCleanExit, "\(exported.output)")
        let input = folder.appendingPathComponent("rows.csv")
        try "customer,amount,currency,reference\ncus_x,1000,usd,r-1\n".write(
            to: input,
            atomically: true,
            encoding: .utf8
        )
        // When the commands that migrate or need this release's tables run on it with the older folder
        for arguments in [
            ["migrate"], ["sweep"], ["recharge", "--input", input.path], ["vault", "status"], ["vault", "rotate"],
        ] {
            // Then each is refused, as `serve` is (recharge with its exit status for any refusal at start, 2)
            expectRefused(
                try await run(arguments + ["--db", db, "--migrations", older.path]),
                "\(arguments)",
                status: arguments[0] == "recharge" ? 2 : 1
            )
        }
        // And an import into a new file with it is refused before the file is made
        let imported = folder.appendingPathComponent("imported.sqlite").path
        expectRefused(
            try await run(["import", "--input", archive, "--db", imported, "--migrations", older.path]),
            "import"
        )
        #expect(!FileManager.default.fileExists(atPath: imported))
        // A report reads without migrating, with any folder
        let report = try await run(["report", "daily_volume", "--db", db, "--migrations", older.path])
        #expect(report.termination.isCleanExit, "\(report.output)")
    }

    @Test("payments sweep --now expires an abandoned 3-D Secure attempt while the server runs")
    func sweepWithNow() async throws {
        try await withServer { server in
            // Given an intent left in requires_action and one that succeeded
            let abandoned = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_authenticationRequired"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            )
            let abandonedID = try #require(try abandoned.json()["id"]?.string)
            #expect(try abandoned.json()["status"]?.string == "requires_action")
            let paid = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                auth: server.secret
            )
            let paidID = try #require(try paid.json()["id"]?.string)

            // When a pass runs as of two hours from now (past the one-hour confirmation window)
            let later = Int(Date().timeIntervalSince1970) + 7200
            let sweep = try await Self.run(server, ["sweep", "--now", String(later)])
            #expect(sweep.termination.isCleanExit, "\(sweep.output)")
            #expect(sweep.output.contains("attempts expired:          1"), "\(sweep.output)")

            // Then the server sees the attempt expired, and the paid intent untouched
            let expired = try await server.paymentIntent(abandonedID)
            #expect(expired["status"]?.string == "requires_payment_method")
            #expect(expired["last_payment_error"]?["code"]?.string == "payment_intent_payment_attempt_expired")
            #expect(try await server.paymentIntent(paidID)["status"]?.string == "succeeded")

            // And a second pass at the same time changes nothing
            let again = try await Self.run(server, ["sweep", "--now", String(later)])
            #expect(again.output.contains("attempts expired:          0"), "\(again.output)")

            // And the pass's events, and those of a payment after it, say when they were written, not the pass's
            // time: one event stamped two hours ahead stamped every later event so, since `created` never goes back
            let next = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                auth: server.secret
            )
            let nextID = try #require(try next.json()["id"]?.string)
            let events = try await Self.object(server, "/v1/events?limit=100")
            let data = try #require(events["data"]?.array)
            let failed = try #require(
                data.first { $0["type"]?.string == "payment_intent.payment_failed" },
                "the expiry's event"
            )
            let newest = try #require(data.first)
            #expect(newest["data"]?["object"]?["id"]?.string == nextID)
            let realNow = Int(Date().timeIntervalSince1970)
            for event in [failed, newest] {
                let created = try #require(event["created"]?.int)
                #expect(created <= realNow + 60, "\(event)")
            }
        }
    }

    @Test("payments sweep --now +2m settles the refund test cards' later statuses while the server runs")
    func sweepSettlesRefundCards() async throws {
        try await withServer { server in
            // Given a payment with each refund test card, refunded in full through the server
            var refunds: [String: (refund: String, charge: String)] = [:]
            for card in ["pm_card_pendingRefund", "pm_card_refundFail"] {
                let paid = try await server.client.postForm(
                    "/v1/payment_intents",
                    [("amount", "1000"), ("currency", "usd"), ("payment_method", card), ("confirm", "true")],
                    auth: server.secret
                )
                let intent = try paid.json()
                let refund = try await server.client.postForm(
                    "/v1/refunds",
                    [("payment_intent", try #require(intent["id"]?.string))],
                    auth: server.secret
                )
                refunds[card] = (
                    try #require(try refund.json()["id"]?.string, "\(refund)"),
                    try #require(intent["latest_charge"]?.string)
                )
            }
            let pending = try #require(refunds["pm_card_pendingRefund"])
            let failing = try #require(refunds["pm_card_refundFail"])
            #expect(try await Self.object(server, "/v1/refunds/\(pending.refund)")["status"]?.string == "pending")
            #expect(try await Self.object(server, "/v1/refunds/\(failing.refund)")["status"]?.string == "succeeded")

            // When a pass runs as of two minutes from now (past the network's minute)
            let sweep = try await Self.run(server, ["sweep", "--now", "+2m"])
            #expect(sweep.termination.isCleanExit, "\(sweep.output)")
            #expect(sweep.output.contains(/refunds updated:\s+2\n/), "\(sweep.output)")

            // Then the server shows the pending refund succeeded, and the other failed with its amount back
            #expect(try await Self.object(server, "/v1/refunds/\(pending.refund)")["status"]?.string == "succeeded")
            let failed = try await Self.object(server, "/v1/refunds/\(failing.refund)")
            #expect(failed["status"]?.string == "failed")
            #expect(failed["failure_reason"]?.string == "expired_or_canceled_card")
            let charge = try await Self.object(server, "/v1/charges/\(failing.charge)")
            #expect(charge["amount_refunded"]?.int == 0)
            #expect(charge["refunded"]?.bool == false)
            #expect(try await Self.object(server, "/v1/charges/\(pending.charge)")["refunded"]?.bool == true)
        }
    }

    /// `GET path` with the secret key, which must answer 200.
    @Test(
        "payments sweep --now a day ahead keeps the key of a payment in flight: its retry never charges again",
        arguments: TestStore.allCases
    )
    func sweepKeepsKeyInFlight(store: TestStore) async throws {
        // Given a payment under a key, waiting 8 s on the card network (the sweep and the retry below must both
        // come while it waits: with 3 s, a full test run on a starved machine once saw the payment answered first)
        try await withServer(
            store: store,
            environment: [
                "PAYMENTS_NETWORK_LATENCY": "8000", "PAYMENTS_NETWORK_TIMEOUT": "20",
                "PAYMENTS_IDEMPOTENCY_LEASE": "30",
            ]
        ) { server in
            let (client, secret) = (server.client, server.secret)
            let key = ["Idempotency-Key": "in-flight-\(UUID().uuidString)"]
            let form = [
                ("amount", "4321"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ]
            let first = Task { try await client.postForm("/v1/payment_intents", form, auth: secret, headers: key) }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await server.query("SELECT count(*) FROM charges WHERE status = 'pending'") != [["1"]] {
                try #require(ContinuousClock.now < deadline, "the payment never reached the network")
                try await Task.sleep(for: .milliseconds(20))
            }

            // When a pass runs as of 25 hours from now, past the key's 24-hour life, while the key is held
            let sweep = try await Self.run(server, ["sweep", "--now", "+25h"])
            #expect(sweep.termination.isCleanExit, "\(sweep.output)")
            #expect(sweep.output.contains(/idempotency keys pruned:\s+0\n/), "\(sweep.output)")

            // Then a retry meanwhile finds the key in flight, the first answers 200, a retry after replays it
            let meanwhile = try await client.postForm("/v1/payment_intents", form, auth: secret, headers: key)
            #expect(meanwhile.status == 409, "\(meanwhile)")
            let answer = try await first.value
            #expect(answer.status == 200, "\(answer)")
            let replay = try await client.postForm("/v1/payment_intents", form, auth: secret, headers: key)
            #expect(replay.status == 200 && replay.header("Idempotent-Replayed") == "true", "\(replay)")
            #expect(try replay.json()["id"]?.string == (try answer.json()["id"]?.string))
            // and the card was charged once
            let intents = try await server.query("SELECT count(*) FROM payment_intents WHERE amount = 4321")
            #expect(intents == [["1"]])
        }
    }

    static func object(_ server: ServerProcess, _ path: String) async throws -> JSON {
        let answer = try await server.client.get(path, auth: server.secret)
        try #require(answer.status == 200, "\(path): \(answer)")
        return try answer.json()
    }

    @Test(
        "sweep, recharge, vault, report and export refuse a --db that does not exist (a typo): exit 2, creating nothing"
    )
    func mistypedDatabase() async throws {
        try await withServer { server in
            let typo = server.folder.appendingPathComponent("paymnets/payments.sqlite").path
            let input = server.folder.appendingPathComponent("typo.csv")
            try "customer,amount,currency,reference\ncus_x,100,usd,typo-1\n".write(
                to: input,
                atomically: true,
                encoding: .utf8
            )
            let archive = server.folder.appendingPathComponent("typo.archive").path
            for arguments in [
                ["sweep"], ["vault", "status"], ["vault", "rotate"], ["recharge", "--input", input.path],
                ["report", "daily_volume"], ["report", "--list"], ["export", "--output", archive],
            ] {
                let run = try await runToCompletion(
                    try PaymentsBinary.path(),
                    arguments + ["--db", typo],
                    environment: server.commandEnvironment(),
                    in: server.folder
                )
                #expect(run.termination.status == 2, "\(arguments): \(run.termination)\n\(run.output)")
                #expect(run.output.contains("there is no database at '\(typo)'"), "\(run.output)")
                #expect(!FileManager.default.fileExists(atPath: typo), "\(arguments) created \(typo)")
                #expect(!FileManager.default.fileExists(atPath: (typo as NSString).deletingLastPathComponent))
                #expect(!FileManager.default.fileExists(atPath: archive))
            }
        }
    }

    @Test("--db beside a PAYMENTS_DATABASE_URL is refused, naming both, not read as the PostgreSQL database")
    func databaseFileBesideDatabaseURL() async throws {
        try await withServer { server in
            let paid = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                auth: server.secret
            )
            try #require(paid.status == 200)
            // Given a PostgreSQL URL in the environment (no server answers there: nothing may be read from it)
            var environment = server.commandEnvironment()
            environment["PAYMENTS_DATABASE_URL"] = "postgres://admin:hunter2@127.0.0.1:9/payments"
            for command in [["report", "daily_volume"], ["sweep"], ["vault", "status"], ["migrate"]] {
                // When a command is also given --db
                let both = try await runToCompletion(
                    try PaymentsBinary.path(),
                    command + ["--db", server.db.path],
                    environment: environment,
                    in: server.folder
                )
                // Then it refuses, naming the file and the URL without its password
                #expect(!both.termination.isCleanExit, "\(command): \(both.output)")
                #expect(both.output.contains(server.db.path) && both.output.contains("127.0.0.1:9"), "\(both.output)")
                #expect(!both.output.contains("hunter2"))
            }
            // And with the variable set empty the file is read
            environment["PAYMENTS_DATABASE_URL"] = ""
            let file = try await runToCompletion(
                try PaymentsBinary.path(),
                ["report", "daily_volume", "--format", "json", "--db", server.db.path],
                environment: environment,
                in: server.folder
            )
            #expect(file.termination.isCleanExit, "\(file.output)")
            #expect(file.output.contains("\"gross_amount\": 1000"), "\(file.output)")
            // And --db with --database-url is a usage error
            let flags = try await runToCompletion(
                try PaymentsBinary.path(),
                ["report", "daily_volume", "--db", server.db.path, "--database-url", "postgres://a@127.0.0.1:9/b"],
                environment: server.commandEnvironment(),
                in: server.folder
            )
            #expect(flags.termination == Termination(reason: .exit, status: 64), "\(flags.output)")
        }
    }

    @Test("payments report prints what the API's objects add up to, while the server runs")
    func reportMatchesAPI() async throws {
        try await withServer { server in
            for amount in [1000, 2500] {
                _ = try await server.client.postForm(
                    "/v1/payment_intents",
                    [
                        ("amount", String(amount)), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                        ("confirm", "true"),
                    ],
                    auth: server.secret
                )
            }
            let declined = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "700"), ("currency", "usd"),
                    ("payment_method", "pm_card_chargeDeclinedInsufficientFunds"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            )
            #expect(declined.status == 402)
            let volume = try await Self.run(server, ["report", "daily_volume", "--format", "json"])
            #expect(volume.termination.isCleanExit, "\(volume.output)")
            let rows = try JSON.parse(Data(volume.output.utf8)).array ?? []
            #expect(rows.count == 1)
            #expect(rows.first?["payments"]?.int == 2)
            #expect(rows.first?["gross_amount"]?.int == 3500)
            #expect(rows.first?["net_amount"]?.int == 3500)
            let declines = try await Self.run(server, ["report", "declines", "--format", "csv"])
            #expect(declines.output.contains(",insufficient_funds,1"), "\(declines.output)")
            let unknown = try await Self.run(server, ["report", "no_such_report"])
            #expect(!unknown.termination.isCleanExit)
            // The list of reports in each format (--format was ignored by --list)
            let plain = try await Self.run(server, ["report", "--list"])
            let names = plain.output.split(separator: "\n").map(String.init)
            #expect(names.contains("daily_volume") && names.contains("declines"), "\(plain.output)")
            let listed = try await Self.run(server, ["report", "--list", "--format", "json"])
            #expect(listed.termination.isCleanExit, "\(listed.output)")
            let objects = try JSON.parse(Data(listed.output.utf8)).array ?? []
            #expect(objects.compactMap { $0["name"]?.string } == names)
            let csv = try await Self.run(server, ["report", "--list", "--format", "csv"])
            #expect(csv.output == (["name"] + names).map { $0 + "\r\n" }.joined(), "\(csv.output)")
        }
    }

    @Test("an admin's open read-only transaction never blocks the server's writes")
    func readerDoesNotBlock() async throws {
        try await withServer { server in
            var configuration = Configuration()
            configuration.readonly = true
            let admin = try DatabaseQueue(path: server.db.path, configuration: configuration)
            // Given an admin holding a read transaction open (a long sqlite3 -readonly query)
            try await admin.read { db in
                let before = try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_intents") ?? -1
                // When the server takes payments meanwhile
                let semaphore = DispatchSemaphore(value: 0)
                let answers = Shared<[Int]>([])
                Task {
                    for _ in 0..<5 {
                        let answer = try? await server.client.postForm(
                            "/v1/payment_intents",
                            [
                                ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                                ("confirm", "true"),
                            ],
                            auth: server.secret
                        )
                        answers.withLock { $0.append(answer?.status ?? -1) }
                    }
                    semaphore.signal()
                }
                // Then every payment completes while the read is still open, which keeps its snapshot
                #expect(semaphore.wait(timeout: .now() + 60) == .success)
                #expect(answers.withLock { $0 } == [200, 200, 200, 200, 200])
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_intents") == before)
            }
            #expect(try await Ledgers(folder: server.folder).intentCount() == 5)
        }
    }
}
