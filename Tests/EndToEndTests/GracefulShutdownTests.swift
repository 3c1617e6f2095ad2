import Foundation
import GRDB
import TestSupport
import Testing

/// SIGTERM drains the built binary: requests in flight finish, new connections are refused, and the process exits 0
/// within `shutdownGracePeriod`; past it, the process exits anyway and the abandoned request is recovered.
@Suite("Graceful shutdown (binary)")
struct GracefulShutdownTests {
    @Test("SIGTERM during a slow payment: it completes 2xx and is stored; new connections are refused; exit 0")
    func drainsInFlight() async throws {
        // Given a card network that takes 3 s to answer, and 10 s of grace
        let server = try await ServerProcess.start(
            environment: [
                "PAYMENTS_NETWORK_LATENCY": "3000", "PAYMENTS_NETWORK_TIMEOUT": "8", "PAYMENTS_IDEMPOTENCY_LEASE": "10",
                "PAYMENTS_SHUTDOWN_GRACE_PERIOD": "10",
            ]
        )
        defer { server.kill() }
        let client = server.client
        let secret = server.secret
        let payment = Task {
            try await client.postForm(
                "/v1/payment_intents",
                [("amount", "4200"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                auth: secret,
                headers: ["Idempotency-Key": "drain-\(UUID().uuidString)"]
            )
        }

        // When SIGTERM arrives while the payment waits on the network
        _ = try await server.send(SIGTERM, when: Self.attemptsPending(1, server))
        let stopped = Task { await server.waitForExit(timeout: .seconds(20)) }
        try await Task.sleep(for: .milliseconds(300))

        // Then a new connection is refused (or, if it slipped in, told the server is not ready)
        do {
            let late = try RawHTTP.exchange(
                port: server.port,
                RawHTTP.request("GET", "/health/ready", port: server.port, headers: [])
            )
            #expect(late.status == 503, "a request after SIGTERM was answered: \(late)")
        } catch let failure as RawHTTP.ConnectFailure {
            #expect(failure.refused, "\(failure)")
        }
        // And the payment in flight completes with 2xx
        let answer = try await payment.value
        #expect(answer.status == 200, "\(answer)\n\(server.diagnostics)")
        // (saying its connection ends: the server closes it after this answer)
        #expect(answer.header("Connection")?.lowercased() == "close", "\(answer.headers)")
        let id = try #require(try answer.json()["id"]?.string)
        #expect(try answer.json()["status"]?.string == "succeeded")
        // And the process exits 0 within the grace period
        let termination = await stopped.value
        #expect(termination?.isCleanExit == true, "after SIGTERM: \(String(describing: termination))")
        // (the server's own account, not the wall clock, which a full run's loaded test process stretches: the
        // deadline would have been logged as "grace period over" and would have cut the payment off)
        #expect(!server.output.contains("grace period over"), "\(server.diagnostics)")
        #expect(server.output.contains("shutting down"), "\(server.diagnostics)")
        // And the answered payment is stored
        let status = try Ledgers(folder: server.folder).read("payments.sqlite") { db in
            try String.fetchOne(db, sql: "SELECT status FROM payment_intents WHERE id = ?", arguments: [id])
        }
        #expect(status == "succeeded")
        server.removeFiles()
    }

    @Test("SIGTERM during a payment: a second one pipelined behind it on its connection is not run, but answered 503")
    func pipelinedBehindTheLastAnswer() async throws {
        // Given a card network that takes 3 s to answer
        let server = try await ServerProcess.start(
            environment: [
                "PAYMENTS_NETWORK_LATENCY": "3000", "PAYMENTS_NETWORK_TIMEOUT": "8", "PAYMENTS_IDEMPOTENCY_LEASE": "10",
                "PAYMENTS_SHUTDOWN_GRACE_PERIOD": "15",
            ]
        )
        defer { server.kill() }
        // And two payments without keys pipelined on one connection (sent together, before any answer)
        let (port, secret) = (server.port, server.secretKey)
        func payment(_ amount: Int) -> String {
            let body = "amount=\(amount)&currency=usd&payment_method=pm_card_visa&confirm=true"
            return [
                "POST /v1/payment_intents HTTP/1.1", "Host: 127.0.0.1:\(port)", "Authorization: Bearer \(secret)",
                "Content-Type: application/x-www-form-urlencoded", "Content-Length: \(body.utf8.count)", "", body,
            ].joined(separator: "\r\n")
        }
        let fd = try RawHTTP.connect(port: port)
        defer { close(fd) }
        RawHTTP.send(fd, payment(4200) + payment(4300))

        // When SIGTERM arrives while the first waits on the network
        _ = try await server.send(SIGTERM, when: Self.attemptsPending(1, server))
        let received = try await offCooperativePool { RawHTTP.receiveUntilClosed(fd, seconds: 20) }
        let termination = await server.waitForExit(timeout: .seconds(20))
        #expect(termination?.isCleanExit == true, "after SIGTERM: \(String(describing: termination))")

        // Then the first is answered 200, saying the connection ends, and the connection is closed
        #expect(received.closed, "the connection was still open 20 s after SIGTERM")
        let answers = try RawHTTP.answers(in: received.data)
        #expect(answers.first?.status == 200, "\(answers)\n\(server.diagnostics)")
        #expect(answers.first?.headers["connection"]?.lowercased() == "close", "\(answers)")
        // And the second, if answered (RFC 9112 says to close after the first), is a 503 that says it was not run
        #expect(answers.count <= 2, "\(answers)")
        if answers.count == 2 {
            let refused = answers[1]
            #expect(refused.status == 503, "\(refused)")
            #expect(try refused.json()["error"]?["code"]?.string == "server_stopping", "\(refused)")
            #expect(refused.headers["stripe-should-retry"] == "true", "\(refused)")
            #expect(try refused.json()["error"]?["doc_url"] == nil, "\(refused)")
        }
        // And only the first payment was made: one intent, one authorization at the card network
        let amounts = try Ledgers(folder: server.folder).read("payments.sqlite") { db in
            try Int.fetchAll(db, sql: "SELECT amount FROM payment_intents ORDER BY amount")
        }
        #expect(amounts == [4200], "the second payment was run after the answer that closed its connection")
        #expect(try Ledgers(folder: server.folder).networkApprovedAttempts().count == 1)
        server.removeFiles()
    }

    @Test(
        "A clean stop leaves each SQLite file whole: its log copied in and emptied, the file alone holds every payment"
    )
    func stopLeavesFilesWhole() async throws {
        // Given a server that answered three payments
        let server = try await ServerProcess.start()
        defer { server.kill() }
        let ids = try await Self.pay(3, on: server)

        // When it stops on SIGTERM
        let termination = await server.stop()
        #expect(termination?.isCleanExit == true, "\(String(describing: termination))\n\(server.diagnostics)")

        // Then neither file has a log with anything in it, and a copy of each file alone (an admin's `cp`, without
        // its `-wal`) holds the three payments and their authorizations
        let copies = FileManager.default.temporaryDirectory.appendingPathComponent("payments-stop-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copies, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: copies) }
        for name in ["payments.sqlite", "card-network.sqlite"] {
            let log = server.folder.appendingPathComponent(name + "-wal").path
            let size = (try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? 0
            #expect(size == 0, "\(name)-wal holds \(size) bytes after a clean stop")
            try FileManager.default.copyItem(
                at: server.folder.appendingPathComponent(name),
                to: copies.appendingPathComponent(name)
            )
        }
        let copied = Ledgers(folder: copies)
        let stored = try copied.read("payments.sqlite") { db in
            try String.fetchAll(db, sql: "SELECT id FROM payment_intents WHERE status = 'succeeded' ORDER BY amount")
        }
        #expect(stored == ids, "the copied database file holds \(stored)")
        let authorized = try copied.read("card-network.sqlite") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM authorizations WHERE approved = 1") ?? 0
        }
        #expect(authorized == 3, "the copied ledger holds \(authorized) approved authorizations")
        server.removeFiles()
    }

    /// `count` payments on pm_card_visa of 1,000, 1,001, ... usd cents, each answered 200: their intents' ids.
    static func pay(_ count: Int, on server: ServerProcess) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            let answer = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "\(1_000 + index)"), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            )
            #expect(answer.status == 200, "\(answer)")
            ids.append(try #require(try answer.json()["id"]?.string))
        }
        return ids
    }

    @Test("SIGTERM with no room to empty the log still exits 0, saying so; every committed payment is there after")
    func stopWithoutRoomForTheLog() async throws {
        // Given a database file of 20,000 intents whose files may grow only 8 kB past its size (`ulimit -f`, as a
        // nearly full disk), and a server that answered ten payments, held in its write-ahead log
        let folder = try TestPaths.temporaryFolder("payments-e2e-stop-full")
        let db = folder.appendingPathComponent("payments.sqlite")
        try await ExportImportTests.migratedFile(db.path, intents: 20_000, named: "pi_fill", in: folder)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: db.path)[.size] as? Int)
        let server = try await ServerProcess.start(store: .sqlite, folder: folder, fileSizeLimitKB: size / 1024 + 8)
        defer { server.kill() }
        let ids = try await Self.pay(10, on: server)

        // When it stops on SIGTERM, and copying the log into the file needs more room than there is
        let termination = await server.stop()

        // Then it exits 0 (it exited 1 with SQLite's "database or disk is full"), warning that the log stays
        #expect(termination?.isCleanExit == true, "\(String(describing: termination))\n\(server.diagnostics)")
        #expect(server.diagnostics.contains("write-ahead log"), "\(server.diagnostics)")
        // And the payments are all there, in the log, for the next open
        let log = (try? FileManager.default.attributesOfItem(atPath: db.path + "-wal")[.size] as? Int) ?? 0
        #expect(log > 0, "the log was emptied after all: the test's file size limit left room")
        let stored = try Ledgers(folder: folder).read("payments.sqlite") { db in
            try String.fetchAll(db, sql: "SELECT id FROM payment_intents WHERE status = 'succeeded' ORDER BY amount")
        }
        #expect(stored == ids, "\(stored)")
        server.removeFiles()
    }

    /// Starts `payments serve` on `database` in `folder`, held at the fault point `point` (`hold:`) until SIGTERM has
    /// come there, then lets it go on; how it ended, and what it printed.
    static func stopWhileHeld(
        at point: String,
        database: URL,
        in folder: URL,
        environment: [String: String] = [:]
    ) async throws -> (Termination, String) {
        let release = folder.appendingPathComponent("release-\(point)")
        let log = folder.appendingPathComponent("serve-\(point).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        var settings = environment
        settings["PAYMENTS_FAULT_POINT"] = point
        settings["PAYMENTS_FAULT_ACTION"] = "hold:" + release.path
        let process = ChildProcess(
            executableURL: URL(fileURLWithPath: try PaymentsBinary.path()),
            arguments: ["serve", "--db", database.path, "--port", "0"],
            environment: PaymentsBinary.environment(settings),
            currentDirectoryURL: TestPaths.root,
            output: handle
        )
        try ChildRegistry.launch(process)
        ChildRegistry.add(process.processIdentifier)
        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        let deadline = ContinuousClock.now + .seconds(60)
        while !output.contains("fault point \(point): holding"), process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        try #require(output.contains("holding"), "the server never reached its hold at \(point): \(output)")
        kill(process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        _ = FileManager.default.createFile(atPath: release.path, contents: nil)
        let termination = try await ExactlyOnceTests.waitForExit(process)
        return (termination, output)
    }

    @Test("SIGTERM during start-up, before it serves: the migrations finish, nothing is served, and it exits 0")
    func stopDuringStartup() async throws {
        // Given a serve held at its start, after it took its settings and before it opened a new database
        let folder = try TestPaths.temporaryFolder("payments-e2e-stop-at-start")
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("payments.sqlite")

        // When SIGTERM arrives there, and the start-up then goes on
        let (termination, output) = try await Self.stopWhileHeld(
            at: "before-migrations",
            database: database,
            in: folder
        )

        // Then it exits 0 having migrated the database, and never listened
        #expect(termination.isCleanExit, "\(termination)\n\(output)")
        #expect(output.contains("stopped before serving"), "\(output)")
        #expect(!output.contains("listening"), "\(output)")
        let migrations = try FileManager.default.contentsOfDirectory(
            atPath: TestPaths.root.appendingPathComponent("migrations").path
        ).filter { $0.hasSuffix(".sql") }
        let applied = try Ledgers(folder: folder).read("payments.sqlite") { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") ?? 0
        }
        #expect(applied == migrations.count, "\(applied) of \(migrations.count) migrations applied")
    }

    @Test("SIGTERM during the start-up's recovery of a pending attempt: it finishes, nothing is served, it exits 0")
    func stopDuringRecovery() async throws {
        // Given a payment whose server was killed after recording its attempt, before asking the network
        let dying = try await ServerProcess.start(environment: ["PAYMENTS_FAULT_POINT": "after-attempt-commit"])
        defer { dying.kill() }
        let lost = try? await dying.client.postForm(
            "/v1/payment_intents",
            [("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: dying.secret,
            headers: ["Idempotency-Key": "stop-during-recovery"]
        )
        #expect(lost == nil, "the request was answered: \(String(describing: lost))")
        _ = await dying.stop(signal: SIGKILL)
        #expect(try await Ledgers(folder: dying.folder).pendingCharges() == 1)

        // When a serve on its database, held in its start-up recovery settling that attempt, gets SIGTERM there, and
        // the recovery then goes on
        let (termination, output) = try await Self.stopWhileHeld(
            at: "after-attempt-commit",
            database: dying.db,
            in: dying.folder,
            environment: ["PAYMENTS_SECRET_KEY": dying.keys.secret, "PAYMENTS_PUBLISHABLE_KEY": dying.keys.publishable]
        )

        // Then it exits 0 having settled the attempt, and never listened: it printed its listening line and
        // stopped, which told a script waiting for that line that it was serving
        #expect(termination.isCleanExit, "\(termination)\n\(output)")
        #expect(output.contains("stopped before serving"), "\(output)")
        #expect(!output.contains("listening"), "\(output)")
        #expect(try await Ledgers(folder: dying.folder).pendingCharges() == 0)
    }

    @Test("The grace period ends the process even while requests hold every thread of the cooperative pool")
    func blockedThreads() async throws {
        // Given payments that wait 3 s for the network, then hold their thread for 20 s; and 5 s of grace (the
        // signal is handled while the threads are free, and the grace period ends while they are held)
        let server = try await ServerProcess.start(
            environment: [
                "PAYMENTS_NETWORK_LATENCY": "3000", "PAYMENTS_NETWORK_TIMEOUT": "8", "PAYMENTS_IDEMPOTENCY_LEASE": "10",
                "PAYMENTS_FAULT_POINT": "after-network",
                "PAYMENTS_FAULT_ACTION": "block", "PAYMENTS_SHUTDOWN_GRACE_PERIOD": "5",
            ]
        )
        defer { server.kill() }
        let (client, secret) = (server.client, server.secret)
        // More payments than the machine has cores, so that every thread of the pool is taken
        let payments = (0..<(ProcessInfo.processInfo.activeProcessorCount + 4)).map { index in
            Task {
                try? await client.postForm(
                    "/v1/payment_intents",
                    [("amount", "4400"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                    auth: secret,
                    headers: ["Idempotency-Key": "blocked-\(index)-\(UUID().uuidString)"]
                )
            }
        }

        // When SIGTERM arrives while they wait on the network (the threads are free), and then the payments take
        // every thread of the pool
        let signalled = try await server.send(SIGTERM, when: Self.attemptsPending(payments.count, server))
        let termination = await server.waitForExit(timeout: .seconds(40))
        let took = ContinuousClock.now - signalled

        // Then the grace period still ends the process, long before the threads are free again
        #expect(termination?.isCleanExit == true, "after SIGTERM: \(String(describing: termination))")
        #expect(server.output.contains("grace period over"), "\(server.diagnostics)")
        #expect(took < .seconds(15), "exit took \(took)\n\(server.diagnostics)")
        for payment in payments { _ = await payment.value }
    }

    @Test("A request longer than the grace period is abandoned: exit 0 at the deadline; its retry after a restart")
    func deadlinePasses() async throws {
        // Given 1 s of grace and a card network that takes 3 s
        let leases = ["PAYMENTS_NETWORK_TIMEOUT": "4", "PAYMENTS_IDEMPOTENCY_LEASE": "5"]
        let server = try await ServerProcess.start(
            environment: leases.merging(
                ["PAYMENTS_NETWORK_LATENCY": "3000", "PAYMENTS_SHUTDOWN_GRACE_PERIOD": "1"]
            ) { _, new in new }
        )
        defer { server.kill() }
        let key = ["Idempotency-Key": "abandoned-\(UUID().uuidString)"]
        let form = [("amount", "4300"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")]
        let client = server.client
        let secret = server.secret
        let payment = Task { try? await client.postForm("/v1/payment_intents", form, auth: secret, headers: key) }

        // When SIGTERM arrives while the payment waits on the network, and the payment outlives the grace period
        let signalled = try await server.send(SIGTERM, when: Self.attemptsPending(1, server))
        let termination = await server.waitForExit(timeout: .seconds(20))
        let took = ContinuousClock.now - signalled

        // Then the process exits 0 at the deadline, not when the payment would have finished
        #expect(termination?.isCleanExit == true, "after SIGTERM: \(String(describing: termination))")
        // (the log line says the deadline ended it, not the payment finishing at 2.5 s; no upper wall-clock bound,
        // which a test process running many servers on 2 cores can overshoot by seconds)
        #expect(took >= .seconds(0.9), "exit took \(took)\n\(server.diagnostics)")
        #expect(server.output.contains("grace period over"), "\(server.diagnostics)")
        let abandoned = await payment.value
        #expect(abandoned.map { !(200..<300).contains($0.status) } ?? true, "\(String(describing: abandoned))")

        // And a restart plus the client's retry with the same key finish it: one payment, charged once
        try await Self.retryAfterRestart(server, form: form, key: key, environment: leases)
    }

    @Test("A second SIGTERM while draining ends the process at once; the cut payment's keyed retry charges once")
    func secondSignalEndsAtOnce() async throws {
        // Given 60 s of grace and a card network that takes 8 s
        let leases = ["PAYMENTS_NETWORK_TIMEOUT": "10", "PAYMENTS_IDEMPOTENCY_LEASE": "5"]
        let server = try await ServerProcess.start(
            environment: leases.merging(
                ["PAYMENTS_NETWORK_LATENCY": "8000", "PAYMENTS_SHUTDOWN_GRACE_PERIOD": "60"]
            ) { _, new in new }
        )
        defer { server.kill() }
        let key = ["Idempotency-Key": "impatient-\(UUID().uuidString)"]
        let form = [("amount", "4400"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")]
        let (client, secret) = (server.client, server.secret)
        let payment = Task { try? await client.postForm("/v1/payment_intents", form, auth: secret, headers: key) }

        // When SIGTERM arrives while the payment waits on the network, and a second one after it
        let first = try await server.send(SIGTERM, when: Self.attemptsPending(1, server))
        _ = try await server.send(SIGTERM, when: { server.output.contains("shutting down") })
        let termination = await server.waitForExit(timeout: .seconds(30))

        // Then the process ends by the signal, well before the payment (8 s) or the grace period (60 s) would end
        #expect(
            termination == Termination(reason: .uncaughtSignal, status: SIGTERM),
            "\(String(describing: termination))"
        )
        #expect(ContinuousClock.now - first < .seconds(7), "\(server.diagnostics)")
        #expect(server.output.contains("second stop signal: exiting now"), "\(server.diagnostics)")
        _ = await payment.value

        // And a restart plus the client's retry with the same key finish it: one payment, charged once
        try await Self.retryAfterRestart(server, form: form, key: key, environment: leases)
    }

    /// Starts a server on the stopped `server`'s files and retries the payment `form` with its `key`: it succeeds,
    /// and the database holds one payment, approved once by the card network.
    static func retryAfterRestart(
        _ server: ServerProcess,
        form: [(String, String)],
        key: [String: String],
        environment: [String: String]
    ) async throws {
        let restarted = try await ServerProcess.start(
            folder: server.folder,
            keys: server.keys,
            environment: environment
        )
        defer { restarted.kill() }
        let retried = try await restarted.client.postFormRetryingInFlight(
            "/v1/payment_intents",
            form,
            auth: restarted.secret,
            headers: key
        )
        #expect(retried.status == 200, "\(retried)\n\(restarted.diagnostics)")
        #expect(try retried.json()["status"]?.string == "succeeded")
        let list = try await restarted.client.get("/v1/payment_intents", auth: restarted.secret)
        #expect(try list.json()["data"]?.array?.count == 1, "\(list)")
        #expect(await restarted.stop()?.isCleanExit == true)
        let approved = try Ledgers(folder: server.folder).networkApprovedAttempts()
        #expect(approved.count == 1, "the card network approved \(approved)")
        restarted.removeFiles()
    }

    /// Whether `server` has recorded `count` attempts still pending: it committed them and is asking the card
    /// network (read on the calling thread, for ``ServerProcess/send(_:when:timeout:)``).
    static func attemptsPending(_ count: Int, _ server: ServerProcess) -> @Sendable () throws -> Bool {
        let ledgers = Ledgers(folder: server.folder)
        return {
            try ledgers.read("payments.sqlite") { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM charges WHERE status = 'pending'") ?? 0
            } >= count
        }
    }
}
