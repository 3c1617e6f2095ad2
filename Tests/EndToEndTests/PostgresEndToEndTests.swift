import Foundation
import TestSupport
import Testing

/// The built binary on the PostgreSQL store (`PAYMENTS_DATABASE_URL`): a throwaway cluster, a fresh database, the
/// real server over HTTP and an admin's SQL through `psql`.
@Suite("PostgreSQL store, end to end")
struct PostgresEndToEndTests {
    @Test("serve on PAYMENTS_DATABASE_URL: create+confirm, a replay, one intent in the table, payments report")
    func smoke() async throws {
        let cluster = try await offCooperativePool { try SharedPostgres.cluster() }
        let database = try await offCooperativePool { try cluster.createDatabase() }
        let url = cluster.url(database: database)
        // Given the server started on a fresh PostgreSQL database
        let server = try await ServerProcess.start(environment: ["PAYMENTS_DATABASE_URL": url])
        defer { server.kill() }
        #expect(server.output.contains("(database postgres://postgres:***@127.0.0.1:\(cluster.port)/\(database)"))
        #expect(!server.output.contains(cluster.password), "the start line printed the password")
        // When a payment is created and confirmed with a key, and sent again
        let key = UUID().uuidString
        let form = [
            ("amount", "1099"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ]
        let original = try await server.client.postForm(
            "/v1/payment_intents",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        let again = try await server.client.postForm(
            "/v1/payment_intents",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        // Then the first succeeded, the second replays its bytes, and the database holds one intent
        #expect(original.status == 200, "\(original)\n\(server.diagnostics)")
        let id = try #require(try original.json()["id"]?.string)
        #expect(try original.json()["status"]?.string == "succeeded")
        #expect(again.status == 200 && again.header("Idempotent-Replayed") == "true")
        #expect(again.body == original.body)
        #expect(try cluster.psql(database: database, "SELECT id, status FROM payment_intents") == "\(id)|succeeded")
        #expect(try cluster.psql(database: database, "SELECT count(*) FROM idempotency_keys") == "1")
        #expect(!FileManager.default.fileExists(atPath: server.db.path), "a SQLite database was made too")
        // And `payments report payments` reads it from PostgreSQL
        let report = try await runToCompletion(
            try PaymentsBinary.path(),
            ["report", "payments", "--format", "json"],
            environment: PaymentsBinary.environment(["PAYMENTS_DATABASE_URL": url]),
            in: server.folder
        )
        #expect(report.termination.isCleanExit, "\(report.output)")
        let rows = try JSON.parse(Data(report.output.utf8))
        #expect(rows[0]?["id"]?.string == id && rows[0]?["status"]?.string == "succeeded", "\(report.output)")
        #expect(rows[1] == nil, "\(report.output)")
        // And `migrate` and `sweep` run on it too, while `sweep --explain` (SQLite's plans) says it cannot
        // (with the server's ledger: a sweep on another is refused, as it would release authorizations it lacks)
        let environment = PaymentsBinary.environment([
            "PAYMENTS_DATABASE_URL": url,
            "PAYMENTS_NETWORK_LEDGER": server.folder.appendingPathComponent("card-network.sqlite").path,
        ])
        let binary = try PaymentsBinary.path()
        let migrate = try await runToCompletion(binary, ["migrate"], environment: environment, in: server.folder)
        #expect(migrate.termination.isCleanExit, "\(migrate.output)")
        let files = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations + "/postgres")
            .filter { $0.hasSuffix(".sql") }.sorted()
        let last = try #require(files.last).dropLast(".sql".count)
        #expect(migrate.output.contains("is at migration \(last) (\(files.count) applied)"), "\(migrate.output)")
        #expect(migrate.output.contains("Nothing to apply."), "the server migrated it: \(migrate.output)")
        #expect(!migrate.output.contains(cluster.password), "migrate printed the password")
        let sweep = try await runToCompletion(binary, ["sweep"], environment: environment, in: server.folder)
        #expect(sweep.termination.isCleanExit, "\(sweep.output)")
        let explain = try await runToCompletion(
            binary,
            ["sweep", "--explain"],
            environment: environment,
            in: server.folder
        )
        #expect(explain.termination.status == 1, "\(explain.output)")
        #expect(explain.output.contains("not available on PostgreSQL"), "\(explain.output)")
        // And SIGTERM drains the server and closes its pool: exit status 0
        let stopped = await server.stop()
        #expect(stopped?.isCleanExit == true, "\(String(describing: stopped))\n\(server.diagnostics)")
    }
}

/// Bad database URLs and unreachable servers: a clear error, the password never shown, nothing started.
@Suite("PostgreSQL URL refusals, end to end")
struct PostgresURLRefusalTests {
    @Test("a malformed URL, or one whose server does not answer, stops the command with a message and no password")
    func refused() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let binary = try PaymentsBinary.path()
        let port = try ServerProcess.freePort()
        for (url, says) in [
            ("postgres://user:s3cretPW@/payments", "names no host"),
            ("mysql://user:s3cretPW@localhost/payments", "not a postgres:// URL"),
            (
                "postgres://user:s3cretPW@127.0.0.1:\(port)/payments?sslmode=disable",
                "cannot connect to postgres://user:***@127.0.0.1"
            ),
        ] {
            let run = try await runToCompletion(
                binary,
                ["migrate", "--database-url", url],
                environment: PaymentsBinary.environment([:]),
                in: folder
            )
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(url): \(run.output)")
            #expect(run.output.contains(says), "\(url): \(run.output)")
            #expect(!run.output.contains("s3cretPW"), "\(url) printed the password: \(run.output)")
        }
        // And export and import name the socket's error, as migrate does ("connectionError" alone said nothing)
        let url = "postgres://user:s3cretPW@127.0.0.1:\(port)/payments?sslmode=disable"
        let archive = folder.appendingPathComponent("empty.archive").path
        let source = folder.appendingPathComponent("empty.sqlite").path
        for arguments in [["migrate", "--db", source], ["export", "--db", source, "--output", archive]] {
            let made = try await runToCompletion(
                binary,
                arguments,
                environment: PaymentsBinary.environment([:]),
                in: folder
            )
            try #require(made.termination.isCleanExit, "\(arguments): \(made.output)")
        }
        for arguments in [
            ["export", "--database-url", url, "--output", folder.appendingPathComponent("none.archive").path],
            ["import", "--database-url", url, "--input", archive],
        ] {
            let run = try await runToCompletion(
                binary,
                arguments,
                environment: PaymentsBinary.environment([:]),
                in: folder
            )
            #expect(run.termination.reason == .exit && run.termination.status != 0, "\(arguments): \(run.output)")
            #expect(run.output.contains("Connection refused"), "\(arguments): \(run.output)")
            #expect(!run.output.contains("s3cretPW"), "\(arguments) printed the password: \(run.output)")
        }
    }
}
