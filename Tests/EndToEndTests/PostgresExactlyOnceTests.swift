import Foundation
import TestSupport
import Testing

/// "Never charge twice" on the PostgreSQL store, with the built binary: SIGKILL at each fault point then a retry
/// with the key, and two `serve` processes on one database (one card network ledger) racing the same key and the
/// same intent.
@Suite("PostgreSQL store: exactly once under SIGKILL and a second process")
struct PostgresExactlyOnceTests {
    static let form: [(String, String)] = [
        ("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
    ]

    /// A fresh database on the test process's shared cluster, and `body` given its URL (the cluster's start and
    /// `createdb` run off the cooperative threads, which other tests' timing needs).
    static func withDatabase(_ body: (PostgresServer, String, String) async throws -> Void) async throws {
        let cluster = try await offCooperativePool { try SharedPostgres.cluster() }
        let database = try await offCooperativePool { try cluster.createDatabase() }
        try await body(cluster, database, cluster.url(database: database))
    }

    /// What the database holds, read with psql: intents, succeeded charges, pending charges.
    static func counts(_ cluster: PostgresServer, _ database: String) throws -> String {
        try cluster.psql(
            database: database,
            """
            SELECT (SELECT count(*) FROM payment_intents), (SELECT count(*) FROM charges WHERE status = 'succeeded'),
                (SELECT count(*) FROM charges WHERE status = 'pending')
            """
        )
    }

    @Test(
        "killed at a fault point, restarted, retried with the key: one charge, answered",
        arguments: ["after-attempt-commit", "after-network", "before-response"]
    )
    func faultPoint(_ point: String) async throws {
        try await Self.withDatabase { cluster, database, url in
            // Given a server on PostgreSQL that dies at `point`
            let dying = try await ServerProcess.start(
                environment: ["PAYMENTS_DATABASE_URL": url, "PAYMENTS_FAULT_POINT": point]
            )
            defer { dying.kill() }
            let key = UUID().uuidString
            // When a payment reaches that point: no answer, the process is gone
            let lost = try? await dying.client.postForm(
                "/v1/payment_intents",
                Self.form,
                auth: dying.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(lost == nil, "answered: \(String(describing: lost))")
            let termination = await dying.stop(signal: SIGKILL)
            #expect(termination?.reason == .uncaughtSignal, "\(String(describing: termination))")
            // Then a restart on the same database settles what was pending, and the retry answers the one payment
            let server = try await ServerProcess.start(
                folder: dying.folder,
                keys: dying.keys,
                environment: ["PAYMENTS_DATABASE_URL": url]
            )
            defer { server.kill() }
            let retry = try await server.client.postFormRetryingInFlight(
                "/v1/payment_intents",
                Self.form,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
            #expect(try retry.json()["status"]?.string == "succeeded")
            #expect(try retry.json()["amount_received"]?.int == 2500)
            let replay = try await server.client.postForm(
                "/v1/payment_intents",
                Self.form,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(replay.header("Idempotent-Replayed") == "true" && replay.body == retry.body)
            #expect(try Self.counts(cluster, database) == "1|1|0")
            #expect(try Ledgers(folder: server.folder).networkApprovedAttempts().count == 1)
        }
    }

    @Test("two serve processes on one database: one key sent to both at once, one intent confirmed ten times at once")
    func twoProcesses() async throws {
        try await Self.withDatabase { cluster, database, url in
            // Given two servers on one PostgreSQL database and one card network ledger
            let shared = try TestPaths.temporaryFolder("payments-e2e")
            let environment = [
                "PAYMENTS_DATABASE_URL": url,
                "PAYMENTS_NETWORK_LEDGER": shared.appendingPathComponent("card-network.sqlite").path,
            ]
            let keys = ServerProcess.Keys.random()
            let first = try await ServerProcess.start(keys: keys, environment: environment)
            defer { first.kill() }
            let second = try await ServerProcess.start(keys: keys, environment: environment)
            defer { second.kill() }
            let servers = [first, second]

            // When ten clients send one create+confirm with one key, spread over both servers
            let key = UUID().uuidString
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for index in 0..<10 {
                    let server = servers[index % 2]
                    group.addTask {
                        try await server.client.postFormRetryingInFlight(
                            "/v1/payment_intents",
                            Self.form,
                            auth: server.secret,
                            headers: ["Idempotency-Key": key]
                        )
                    }
                }
                return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            // Then every answer is the one payment's bytes
            #expect(answers.allSatisfy { $0.status == 200 && $0.body == answers[0].body }, "\(answers)")

            // When one intent is confirmed ten times at once, through both servers
            let created = try await first.client.postForm(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa")],
                auth: first.secret
            )
            let id = try #require(try created.json()["id"]?.string, "\(created)")
            let confirms = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for index in 0..<10 {
                    let server = servers[index % 2]
                    group.addTask {
                        try await server.client.postForm("/v1/payment_intents/\(id)/confirm", auth: server.secret)
                    }
                }
                return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            // Then the confirms that passed all answer the one charge (a process that finds the other's attempt
            // pending settles that attempt rather than starting one), the others were refused, and each intent
            // was charged once
            let passed = try confirms.filter { $0.status == 200 }.map { try $0.json() }
            #expect(!passed.isEmpty, "\(confirms)")
            #expect(
                passed.allSatisfy {
                    $0["status"]?.string == "succeeded" && $0["latest_charge"] == passed.first?["latest_charge"]
                },
                "\(passed)"
            )
            #expect(confirms.allSatisfy { [200, 400, 409].contains($0.status) }, "\(confirms)")
            #expect(try Self.counts(cluster, database) == "2|2|0")
            #expect(try Ledgers(folder: shared).networkApprovedAttempts().count == 2)
        }
    }
}
