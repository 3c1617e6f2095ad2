import Foundation
import TestSupport
import Testing

/// `payments recharge` and `payments vault rotate` with the built binary on the PostgreSQL store (a throwaway
/// cluster, a fresh database): the one-shot commands beside the server, against their adversaries there.
@Suite("payments recharge and vault rotate on PostgreSQL, end to end")
struct PostgresCommandsTests {
    @Test("recharge on PostgreSQL: a run killed with SIGKILL, then two runs of the file at once, charge each row once")
    func recharge() async throws {
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let database = try await cluster.newDatabase()
        let url = ["PAYMENTS_DATABASE_URL": cluster.url(database: database)]
        try await withServer(environment: url) { server in
            // Given a customer with a saved card and a file of 60 rows for them
            let rows = 60
            let (input, ledgers, approvedBefore) = try await RechargeTests.renewals(server, rows: rows)
            let succeeded = "SELECT count(*) FROM payment_intents WHERE status = 'succeeded'"
            let succeededBefore = try #require(Int(try cluster.psql(database: database, succeeded)))
            @Sendable func run(_ name: String, _ extra: [String: String] = [:]) async throws -> (
                termination: Termination, output: String
            ) {
                try await runToCompletion(
                    try PaymentsBinary.path(),
                    [
                        "recharge"
                    ] + server.databaseArguments + [
                        "--input", input.path, "--output",
                        server.folder.appendingPathComponent(name).path,
                    ],
                    environment: server.commandEnvironment(extra),
                    in: server.folder
                )
            }

            // When a run slowed by a 200 ms network, four rows at a time, is killed with SIGKILL part way through
            // (the 60 rows take about 3 s; the watcher, polling every 20 ms, kills the run after a quarter of them
            // however loaded the machine is: with a 40 ms network and 32 at a time, a full run on a busy machine
            // once finished before the watcher looked)
            let (termination, _, charged) = try await ledgers.recharge(
                killedPartWay: [
                    "recharge"
                ] + server.databaseArguments + [
                    "--input", input.path, "--output",
                    server.folder.appendingPathComponent("killed.csv").path, "--concurrency", "4",
                ],
                environment: server.commandEnvironment(["PAYMENTS_NETWORK_LATENCY": "200"]),
                rows: rows,
                approvedBefore: approvedBefore
            )
            #expect(termination == .uncaughtSignal)
            #expect(charged > 0 && charged < rows, "killed too late or too early: \(charged) of \(rows) charged")

            // And then two runs of the same file at once, and (once the dead run's leases ran out) a last one
            async let first = run("first.csv")
            async let second = run("second.csv")
            let both = try await [first, second]
            for outcome in both { #expect(outcome.termination.reason == .exit, "\(outcome.output)") }
            try await Task.sleep(for: .seconds(3.5))
            let last = try await run("last.csv")

            // Then the last run answers every row succeeded, one intent per row, and the network charged each once
            #expect(last.termination.status == 0, "\(last.output)")
            let results = try RechargeTests.readCSV(server.folder.appendingPathComponent("last.csv"))
            #expect(results.count == rows && results.allSatisfy { $0["status"] == "succeeded" }, "\(results)")
            #expect(Set(results.map { $0["payment_intent"] ?? "" }).count == rows)
            #expect(try ledgers.networkApprovedAttempts().count - approvedBefore == rows)
            // And PostgreSQL holds one more succeeded intent per row (the card was saved by a payment), no intent
            // with two succeeded charges, nothing pending
            #expect(try cluster.psql(database: database, succeeded) == "\(succeededBefore + rows)")
            #expect(
                try cluster.psql(
                    database: database,
                    """
                    SELECT count(*) FROM (SELECT payment_intent FROM charges WHERE status = 'succeeded'
                    GROUP BY payment_intent HAVING count(*) > 1) AS twice
                    """
                ) == "0"
            )
            #expect(
                try cluster.psql(database: database, "SELECT count(*) FROM charges WHERE status = 'pending'") == "0"
            )
        }
    }

    @Test(
        "migrate on PostgreSQL makes no network ledger; report and migrate end by SIGPIPE when their reader is gone, exit 1 on a full disk"
    )
    func migrateThenReportToClosedOutput() async throws {
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let database = try await cluster.newDatabase()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let ledger = folder.appendingPathComponent("card-network.sqlite").path
        let environment = PaymentsBinary.environment([
            "PAYMENTS_DATABASE_URL": cluster.url(database: database), "PAYMENTS_NETWORK_LEDGER": ledger,
        ])
        let migrated = try await runToCompletion(
            try PaymentsBinary.path(),
            ["migrate"],
            environment: environment,
            in: folder
        )
        #expect(migrated.termination.isCleanExit, "\(migrated.output)")
        // An empty ledger it made was found by a later `serve` in that folder
        #expect(!FileManager.default.fileExists(atPath: ledger))
        // A report reads without migrating, so it needs no migrations folder (run away from the repository, it
        // said "The PostgreSQL migrations folder ... does not exist", where the SQLite report ran)
        var elsewhere = environment
        elsewhere["PAYMENTS_MIGRATIONS"] = folder.appendingPathComponent("no-migrations-here").path
        let report = try await runToCompletion(
            try PaymentsBinary.path(),
            ["report", "daily_volume", "--format", "csv"],
            environment: elsewhere,
            in: folder
        )
        #expect(report.termination.isCleanExit, "\(report.output)")
        #expect(report.output.hasPrefix("day,currency,"), "\(report.output)")
        for arguments in [["report", "--list"], ["migrate"]] {
            try await AdminCommandsTests.expectQuietEndsOfOutput(arguments, environment: environment, in: folder)
        }
    }

    @Test("serve and migrate on PostgreSQL with an older release's migrations folder exit 1, naming it; nothing made")
    func olderMigrationsFolderRefused() async throws {
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let database = try await cluster.newDatabase()
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (older, _) = try ServeStartupTests.olderMigrations(in: folder)
        let needed = try #require(
            try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations + "/postgres")
                .filter { $0.hasSuffix(".sql") }.sorted().last
        ).dropLast(4)
        let ledger = folder.appendingPathComponent("card-network.sqlite").path
        let environment = PaymentsBinary.environment([
            "PAYMENTS_DATABASE_URL": cluster.url(database: database), "PAYMENTS_NETWORK_LEDGER": ledger,
            "PAYMENTS_MIGRATIONS": older.path,
        ])
        for arguments in [["migrate"], ["serve", "--port", "0"]] {
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                arguments,
                environment: environment,
                in: folder,
                timeout: .seconds(60)
            )
            #expect(run.termination == Termination(reason: .exit, status: 1), "\(arguments): \(run)")
            for part in [
                "The PostgreSQL migrations folder '\(older.path)/postgres' is older than this build",
                "its newest migration is 0009_", "this build needs \(needed)",
                "Copy the .sql files of this release's migrations/postgres folder into it",
            ] {
                #expect(run.output.contains(part), "\(arguments): \(part): \(run.output)")
            }
        }
        // Then the database holds no table, and no ledger was made
        #expect(
            try cluster.psql(
                database: database,
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
            ) == "0"
        )
        #expect(!FileManager.default.fileExists(atPath: ledger))
    }

    @Test("report on a PostgreSQL database that does not exist says so at once, as the other commands do")
    func reportOnMissingDatabase() async throws {
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for arguments in [["report", "daily_volume"], ["report", "--list"]] {
            let started = ContinuousClock.now
            let run = try await runToCompletion(
                try PaymentsBinary.path(),
                arguments,
                environment: PaymentsBinary.environment([
                    "PAYMENTS_DATABASE_URL": cluster.url(database: "no_such_database")
                ]),
                in: folder
            )
            // It waited for the pool's 10-second lease and said only "no database connection within 10.0 seconds"
            #expect(ContinuousClock.now - started < .seconds(8), "\(arguments)")
            #expect(!run.termination.isCleanExit)
            #expect(run.output.contains("\"no_such_database\" does not exist"), "\(arguments): \(run.output)")
        }
    }

    @Test("vault rotate on PostgreSQL, killed halfway and run again: every card re-sealed, charged with the new key")
    func vaultRotate() async throws {
        let cluster = try await PostgresServer.started()
        defer { cluster.stop() }
        let database = try await cluster.newDatabase()
        let url = cluster.url(database: database)
        let (keyA, keyB) = (VaultRotationTests.newVaultKey(), VaultRotationTests.newVaultKey())
        let cards = VaultRotationTests.cards
        @Sendable func vaultState() throws -> (cards: String, secrets: String) {
            (
                try cluster.psql(
                    database: database,
                    "SELECT key_id, count(*) FROM card_vault GROUP BY key_id ORDER BY key_id"
                ),
                try cluster.psql(database: database, "SELECT key_id FROM vault_secrets")
            )
        }

        // Given saved cards sealed under key A on PostgreSQL
        let first = try await ServerProcess.start(
            environment: ["PAYMENTS_DATABASE_URL": url, "PAYMENTS_VAULT_KEY": keyA]
        )
        defer { first.kill() }
        let saved = try await VaultRotationTests.saveCards(cards, on: first)
        _ = await first.stop()
        let before = try vaultState()
        let idA = before.secrets
        #expect(before.cards == "\(idA)|\(cards.count)", "\(before)")
        let both = ["PAYMENTS_DATABASE_URL": url, "PAYMENTS_VAULT_KEY": keyB, "PAYMENTS_VAULT_OLD_KEYS": keyA]

        // When a rotation to B dies (SIGKILL) after its first batch of two, and runs again
        var faulted = both
        faulted["PAYMENTS_FAULT_POINT"] = "after-rotate-batch"
        let killed = try await VaultRotationTests.rotate(first.folder, environment: faulted)
        #expect(killed.termination == Termination(reason: .uncaughtSignal, status: SIGKILL), "\(killed.output)")
        let halfway = try vaultState()
        #expect(halfway.cards.split(separator: "\n").count == 2, "\(halfway)")
        let finished = try await VaultRotationTests.rotate(first.folder, environment: both)

        // Then every card and the fingerprint keys are sealed under B, and the output shows no card number
        #expect(finished.termination.isCleanExit, "\(finished.output)")
        #expect(finished.output.contains("cards rotated:                  \(cards.count - 2)"), "\(finished.output)")
        let after = try vaultState()
        let idB = after.secrets
        #expect(idB != idA && after.cards == "\(idB)|\(cards.count)", "\(after)")
        for card in Set(cards) {
            #expect(!killed.output.contains(card) && !finished.output.contains(card))
        }

        // And a server with only key B charges every saved card off-session
        let server = try await ServerProcess.start(
            folder: first.folder,
            keys: first.keys,
            environment: ["PAYMENTS_DATABASE_URL": url, "PAYMENTS_VAULT_KEY": keyB]
        )
        defer { server.kill() }
        for card in saved {
            let charge = try await VaultRotationTests.chargeOffSession(card, on: server)
            #expect(charge.status == 200, "\(charge)\n\(server.diagnostics)")
            #expect(try charge.json()["status"]?.string == "succeeded", "\(charge)")
        }
        server.kill()
        server.removeFiles()
    }
}
