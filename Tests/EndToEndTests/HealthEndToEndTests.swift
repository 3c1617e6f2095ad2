import Foundation
import GRDB
import TestSupport
import Testing

/// `GET /health/live` and `/health/ready` of the built binary against its real SQLite file.
@Suite("Health: live and ready (binary)")
struct HealthEndToEndTests {
    @Test("Ready turns 503 while another process holds the database's write lock, and back to 200 after")
    func writeLockHeld() async throws {
        try await withServer { server in
            #expect(try await server.client.get("/health/ready").json()["status"]?.string == "ready")

            // Given another connection's write transaction on the file for 20 s (as a long `payments recharge` batch
            // would hold it), on a thread of its own
            let released = try await Self.holdingWriteLock(of: server.db.path, seconds: 20)
            // When the probe asks
            let blocked = try await server.client.get("/health/ready")
            // Then not ready because the check's own timeout (2 s) ran out: had it waited for the lock, it would
            // have answered `database_unwritable` after the busy timeout (5 s), or 200 once the lock went (20 s: a
            // full run's test process, dozens of servers on 2 cores, has been seen to stall for over 4 s).
            #expect(blocked.status == 503, "\(blocked)")
            #expect(try blocked.json()["status"]?.string == "not_ready")
            #expect(try blocked.json()["reason"]?.string == "database_timeout", "\(blocked)")
            // And alive all the same
            #expect(try await server.client.get("/health/live").status == 200)
            #expect(try await server.client.get("/health").status == 200)
            // And a write that cannot take the lock within the busy timeout (5 s) is Stripe's lock_timeout, a 429 to
            // retry, where it was a 500 "An unknown error occurred"
            let create = {
                try await server.client.postForm(
                    "/v1/customers",
                    [("name", "A")],
                    auth: server.secret,
                    headers: ["Idempotency-Key": "locked-out-1"]
                )
            }
            let lockedOut = try await create()
            #expect(lockedOut.status == 429, "\(lockedOut)")
            #expect(try lockedOut.json()["error"]?["code"]?.string == "lock_timeout", "\(lockedOut)")
            #expect(lockedOut.header("Stripe-Should-Retry") == "true", "\(lockedOut)")
            // And `payments sweep` says so in a command's words, not with the API's advice to a request
            let sweep = try await AdminCommandsTests.run(server, ["sweep"])
            #expect(sweep.termination == Termination(reason: .exit, status: 1), "\(sweep.output)")
            #expect(sweep.output.contains("payments sweep: another process held the database's write lock"))
            #expect(!sweep.output.contains("Idempotency-Key"), "\(sweep.output)")

            try await offCooperativePool { released.wait() }
            #expect(try await Self.eventually { try await server.client.get("/health/ready").status == 200 })
            // And its retry with the same key runs, once the lock is gone
            let retried = try await create()
            #expect(retried.status == 200, "\(retried)")
            #expect(retried.header("Idempotent-Replayed") == nil)
        }
    }

    @Test("Ready is 503 disk_full while the file system keeps less than minimumFreeDisk; liveness goes on")
    func diskFull() async throws {
        // Given a server that asks for more free space than any disk here has (its own check of the file system,
        // where a full disk left room for the check's one-page write while payments failed)
        let environment = ["PAYMENTS_MINIMUM_FREE_DISK": String(Int.max)]
        try await withServer(environment: environment) { server in
            // Then it is not ready, for the disk, and still alive
            let answer = try await server.client.get("/health/ready")
            #expect(answer.status == 503, "\(answer)")
            #expect(try answer.json()["reason"]?.string == "disk_full", "\(answer)")
            #expect(try await server.client.get("/health").status == 200)
        }
        // And with the check off, or the default 1 MiB, the same machine is ready
        for free in ["0", nil] {
            try await withServer(environment: free.map { ["PAYMENTS_MINIMUM_FREE_DISK": $0] } ?? [:]) { server in
                let status = try await server.client.get("/health/ready").status
                #expect(status == 200, "minimumFreeDisk \(free ?? "default")")
            }
        }
    }

    @Test("Ready is 503 migrations_pending when the file lacks a migration the server knows")
    func migrationsPending() async throws {
        try await withServer { server in
            // Waiting for the server's write lock: its readiness checks write a page (a loaded run found it held, and
            // GRDB's default is to fail at once)
            var configuration = Configuration()
            configuration.busyMode = .timeout(10)
            let queue = try DatabaseQueue(path: server.db.path, configuration: configuration)
            let last = try await queue.write { db in
                let last = try String.fetchOne(db, sql: "SELECT max(identifier) FROM grdb_migrations")!
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [last])
                return last
            }
            let answer = try await server.client.get("/health/ready")
            #expect(answer.status == 503, "\(answer)")
            #expect(try answer.json()["reason"]?.string == "migrations_pending", "\(answer)")
            try await queue.write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [last])
            }
            #expect(try await server.client.get("/health/ready").status == 200)
        }
    }

    @Test("Ready is 503 database_missing once the database file is moved away under the server, 200 when it is back")
    func databaseMissing() async throws {
        try await withServer { server in
            #expect(try await server.client.get("/health/ready").status == 200)
            // An operator moves the file (and its log) away while the server runs: SQLite writes on to the open file
            let aside = server.db.deletingLastPathComponent().appendingPathComponent("moved.sqlite")
            try FileManager.default.moveItem(at: server.db, to: aside)
            let answer = try await server.client.get("/health/ready")
            #expect(answer.status == 503, "\(answer)")
            #expect(try answer.json()["reason"]?.string == "database_missing", "\(answer)")
            #expect(try await server.client.get("/health/live").status == 200)
            // And a payment is refused before the card network is asked: its 200 would have been lost with the
            // unlinked file (before, it answered 200 and the network approved it)
            let ledgers = Ledgers(folder: server.folder)
            let approved = try ledgers.networkApprovedAttempts().count
            let pay: @Sendable () async throws -> HTTPAnswer = { try await Self.payVisa(server) }
            let refused = try await pay()
            #expect(refused.status >= 500, "\(refused)")
            #expect(
                try refused.json()["error"]?["message"]?.string?.contains("removed or replaced") == true,
                "\(refused)"
            )
            #expect(try ledgers.networkApprovedAttempts().count == approved)
            // And the refusal is logged at error level, as every 5xx is (only the request's info line was)
            #expect(
                server.output.split(separator: "\n").contains {
                    $0.contains(" error ") && $0.contains("removed or replaced")
                },
                "\(server.diagnostics)"
            )
            try FileManager.default.moveItem(at: aside, to: server.db)
            #expect(try await server.client.get("/health/ready").status == 200)
            // Back in place, payments are taken again
            #expect(try await pay().status == 200)
        }
    }

    @Test("A clean stop after the database file was replaced keeps the log: a restart on the file finds every payment")
    func replacedFileKeepsTheLogAtStop() async throws {
        // Given a server whose file holds three payments, stopped and started again, and three payments more in the
        // write-ahead log
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let first = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        func pay(_ server: ServerProcess, _ amount: Int) async throws -> HTTPAnswer {
            try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", String(amount)), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            )
        }
        for amount in [101, 102, 103] { #expect(try await pay(first, amount).status == 200) }
        #expect(await first.stop() == Termination(reason: .exit, status: 0), "\(first.diagnostics)")
        let server = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { server.kill() }
        for amount in [201, 202, 203] { #expect(try await pay(server, amount).status == 200) }
        // When an operator copies the file and moves the copy over it (the log beside it is left), then stops it
        let copy = folder.appendingPathComponent("copy.sqlite")
        try FileManager.default.copyItem(at: server.db, to: copy)
        #expect(rename(copy.path, server.db.path) == 0)
        #expect(try await server.client.get("/health/ready").status == 503)
        #expect(await server.stop() == Termination(reason: .exit, status: 0), "\(server.diagnostics)")
        // Then the stop said it kept the log, and did not empty it into the unnamed file (it did: the three later
        // payments were lost, answered 200 and approved at the network)
        #expect(server.output.contains("was removed or replaced while the server ran"), "\(server.diagnostics)")
        let log = try FileManager.default.attributesOfItem(atPath: server.db.path + "-wal")[.size] as? Int ?? 0
        #expect(log > 0)
        // And a server started on the file finds all six
        let restarted = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { restarted.kill() }
        let amounts = try await restarted.client.get(
            "/v1/payment_intents",
            query: [("limit", "10")],
            auth: restarted.secret
        ).json()["data"]?
        .array?.compactMap { $0["amount"]?.int }
        #expect(amounts?.sorted() == [101, 102, 103, 201, 202, 203], "\(restarted.diagnostics)")
    }

    @Test("A log removed under the server: payments refused, not ready, and a SIGKILL then loses none answered")
    func removedLogLosesNothing() async throws {
        // Given a server that answered five payments, all of them in the database's write-ahead log
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let server = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { server.kill() }
        var paid: [String] = []
        for _ in 1...5 {
            let answer = try await Self.payVisa(server)
            #expect(answer.status == 200, "\(answer)")
            paid.append(try #require(try answer.json()["id"]?.string))
        }

        // When an operator deletes the log (SQLite writes on to the unlinked file: every payment then answered 200,
        // readiness said ready, nothing was logged, and a SIGKILL lost all of them, the five before too: a probe)
        try FileManager.default.removeItem(at: URL(fileURLWithPath: server.db.path + "-wal"))

        // Then the server is not ready, naming the log
        let ready = try await server.client.get("/health/ready")
        #expect(ready.status == 503, "\(ready)")
        #expect(try ready.json()["reason"]?.string == "database_log_missing", "\(ready)")
        // And a payment is refused before the card network is asked, saying why
        let ledgers = Ledgers(folder: folder)
        let approved = try ledgers.networkApprovedAttempts().count
        let refused = try await Self.payVisa(server)
        #expect(refused.status >= 500, "\(refused)")
        #expect(try refused.json()["error"]?["message"]?.string?.contains("-wal file") == true, "\(refused)")
        #expect(try ledgers.networkApprovedAttempts().count == approved)

        // And after a SIGKILL, a server started on the folder has the five payments answered before
        _ = await server.stop(signal: SIGKILL)
        let restarted = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { restarted.kill() }
        for id in paid {
            let found = try await restarted.client.get("/v1/payment_intents/\(id)", auth: restarted.secret)
            #expect(found.status == 200 && (try? found.json()["status"]?.string) == "succeeded", "\(found)")
        }
        #expect(try await restarted.client.get("/health/ready").status == 200)
    }

    @Test("A log removed while a payment is at the card network: its answer names the intent, not 'nothing charged'")
    func logRemovedDuringTheNetworkCall() async throws {
        // Given a server whose card network takes a second to answer
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let server = try await ServerProcess.start(
            store: .sqlite,
            folder: folder,
            keys: keys,
            environment: ["PAYMENTS_NETWORK_LATENCY": "1000"]
        )
        defer { server.kill() }

        // When the database's log is removed while a keyed payment waits for the network (its attempt committed)
        async let paying = server.client.postForm(
            "/v1/payment_intents",
            [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret,
            headers: ["Idempotency-Key": "during-the-network"]
        )
        let deadline = ContinuousClock.now + .seconds(30)
        while try await server.query("SELECT count(*) FROM charges WHERE status = 'pending'") != [["1"]] {
            try #require(ContinuousClock.now < deadline, "no attempt recorded")
            try await Task.sleep(for: .milliseconds(20))
        }
        try FileManager.default.removeItem(at: URL(fileURLWithPath: server.db.path + "-wal"))
        let answer = try await paying

        // Then the network approved it, and the answer says its outcome was not recorded and names the intent, to
        // be retried with the key (it said "nothing was written and nothing was charged": a probe)
        #expect(answer.status == 500, "\(answer)")
        let error = try #require(try answer.json()["error"])
        #expect(error["code"]?.string == "payment_not_recorded", "\(answer)")
        let intent = try #require(error["payment_intent"]?["id"]?.string, "\(answer)")
        #expect(error["message"]?.string?.contains("nothing was charged") == false, "\(answer)")
        #expect(try Ledgers(folder: folder).networkApprovedAttempts().count == 1)

        // And after a SIGKILL, a restarted server has the payment succeeded, once, and the key's retry answers it
        _ = await server.stop(signal: SIGKILL)
        let restarted = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { restarted.kill() }
        let retry = try await restarted.client.postFormRetryingInFlight(
            "/v1/payment_intents",
            [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: restarted.secret,
            headers: ["Idempotency-Key": "during-the-network"]
        )
        #expect(retry.status == 200 && (try? retry.json()["id"]?.string) == intent, "\(retry)")
        #expect((try? retry.json()["status"]?.string) == "succeeded", "\(retry)")
        #expect(try await restarted.query("SELECT count(*) FROM charges WHERE status = 'succeeded'") == [["1"]])
    }

    @Test(
        "The card network's ledger or its log removed or replaced under the server: payments refused, not ready",
        arguments: ["replaced", "log removed"]
    )
    func displacedLedger(_ how: String) async throws {
        // Given a server that answered three payments
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let server = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { server.kill() }
        for _ in 1...3 { #expect(try await Self.payVisa(server).status == 200) }

        // When its ledger is replaced by a copy (`cp`, then `mv` over it), or the ledger's log is deleted: the
        // approvals went to the open file, which no restart found, and the next start refused to run (a probe)
        let ledger = folder.appendingPathComponent("card-network.sqlite")
        if how == "replaced" {
            let copy = folder.appendingPathComponent("ledger-copy.sqlite")
            try FileManager.default.copyItem(at: ledger, to: copy)
            #expect(rename(copy.path, ledger.path) == 0)
        } else {
            try FileManager.default.removeItem(at: URL(fileURLWithPath: ledger.path + "-wal"))
        }

        // Then the server is not ready, naming the ledger
        let ready = try await server.client.get("/health/ready")
        #expect(ready.status == 503, "\(ready)")
        let reason = how == "replaced" ? "card_network_missing" : "card_network_log_missing"
        #expect(try ready.json()["reason"]?.string == reason, "\(ready)")
        // And a payment fails at the network, nothing approved
        let refused = try await Self.payVisa(server)
        #expect(try refused.json()["error"]?["code"]?.string == "card_network_unavailable", "\(refused)")
        #expect(server.output.contains("was removed or replaced while the server ran"), "\(server.diagnostics)")

        // And after a clean stop (which, for a replaced ledger, leaves its log as it is), a server starts on the
        // folder (its start-up recovery asks the network again for the refused payment's attempt, which it left
        // pending), its ledger holding every approval the database has, the three answered before among them
        #expect(await server.stop() == Termination(reason: .exit, status: 0), "\(server.diagnostics)")
        let restarted = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { restarted.kill() }
        let approvals = try Ledgers(folder: folder).networkApprovedAttempts()
        let succeeded = try await restarted.query("SELECT id FROM charges WHERE status = 'succeeded'").map { $0[0] }
        #expect(approvals.count >= 3 && approvals == Set(succeeded), "\(restarted.diagnostics)")
        #expect(try await Self.payVisa(restarted).status == 200, "\(restarted.diagnostics)")
    }

    @Test("A checkpoint that failed for the disk is tried again each second: once space is freed, the log is copied")
    func failedCheckpointRetried() async throws {
        // Given a database file of some 6 MB (a filler table) whose files may grow only 64 KB past it, on a server
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let first = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { first.kill() }
        #expect(await first.stop() == Termination(reason: .exit, status: 0), "\(first.diagnostics)")
        let db = folder.appendingPathComponent("payments.sqlite").path
        try await DatabaseQueue(path: db).writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TABLE test_filler (b BLOB); INSERT INTO test_filler VALUES (zeroblob(6000000))")
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let size = try FileManager.default.attributesOfItem(atPath: db)[.size] as? Int ?? 0
        let server = try await ServerProcess.start(
            store: .sqlite,
            folder: folder,
            keys: keys,
            fileSizeLimitKB: size / 1024 + 64
        )
        defer { server.kill() }

        // When payments go on until one fails: the log's checkpoint, asked for at 1,000 frames, cannot grow the
        // database file, and the log grows on until it reaches the limit itself
        var answered = 0
        for _ in 0..<3_000 {
            let answer = try await Self.payVisa(server)
            guard answer.status == 200 else { break }
            answered += 1
        }
        try #require(answered > 0 && answered < 3_000, "\(server.diagnostics)")
        // And the space is freed (the limit lifted), with no request coming after
        let lifted = try await runToCompletion(
            "/usr/bin/prlimit",
            ["--pid", String(server.processIdentifier), "--fsize=unlimited:"],
            environment: ProcessInfo.processInfo.environment,
            in: folder
        )
        try #require(lifted.termination.isCleanExit, "\(lifted.output)")

        // Then within seconds the database file alone (as a crash would leave it without its log) holds every
        // payment answered: the failed checkpoint was tried again (it was asked for again only once the log grew by
        // 1,000 frames more, so the log went on growing from where it stood and filled the disk again: a probe)
        let copy = folder.appendingPathComponent("file-alone.sqlite").path
        let copied = try await Self.eventually {
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: db, toPath: copy)
            let stored = try? await DatabaseQueue(path: copy).read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_intents WHERE status = 'succeeded'")
            }
            return stored == answered
        }
        #expect(copied, "\(answered) answered\n\(server.diagnostics)")
    }

    @Test("A start on a removed database file refuses while its log holds the payments; the file put back has them")
    func removedFileRefusedWhileItsLogHoldsPayments() async throws {
        // Given a server that answered three keyed payments, all of them still in the write-ahead log
        let folder = try TestPaths.temporaryFolder("payments-e2e")
        let keys = ServerProcess.Keys.random()
        let server = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { server.kill() }
        let form = [
            ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ]
        var paid: [String] = []
        for order in 1...3 {
            let answer = try await server.client.postForm(
                "/v1/payment_intents",
                form,
                auth: server.secret,
                headers: ["Idempotency-Key": "order-\(order)"]
            )
            paid.append(try #require(try answer.json()["id"]?.string, "\(answer)"))
        }
        // When an operator removes the database file, rescues it from the running server as the refusal says, and
        // stops the server (which keeps the log)
        #expect(unlink(server.db.path) == 0)
        let descriptors = "/proc/\(server.processIdentifier)/fd"
        let open = try FileManager.default.contentsOfDirectory(atPath: descriptors).first {
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(descriptors)/\($0)"))
                == server.db.path + " (deleted)"
        }
        let rescued = folder.appendingPathComponent("rescued.sqlite")
        // (read through the link, as `cp` does: FileManager's copy copies the link itself)
        try Data(contentsOf: URL(fileURLWithPath: "\(descriptors)/\(try #require(open))")).write(to: rescued)
        #expect(await server.stop() == Termination(reason: .exit, status: 0), "\(server.diagnostics)")
        let log = server.db.path + "-wal"
        let logSize = try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int ?? 0
        #expect(logSize > 0)
        // Then every command there, on the missing file or on an empty one, refuses and changes nothing: `serve` and
        // `migrate` made a new database, `report`, `export` and `import` opened the empty file, SQLite deleted the
        // log beside it each time, and a retry of order-1 was charged a second time
        let archive = folder.appendingPathComponent("other.archive").path
        let other = folder.appendingPathComponent("other.sqlite").path
        for command in [["migrate", "--db", other], ["export", "--db", other, "--output", archive]] {
            let made = try await runToCompletion(
                try PaymentsBinary.path(),
                command,
                environment: PaymentsBinary.environment([:]),
                in: folder
            )
            #expect(made.termination == Termination(reason: .exit, status: 0), "\(made)")
        }
        let db = server.db.path
        for empty in [false, true] {
            if empty { #expect(FileManager.default.createFile(atPath: db, contents: Data())) }
            for command in [
                ["serve", "--db", db, "--port", "0"], ["migrate", "--db", db], ["sweep", "--db", db],
                ["report", "--list", "--db", db], ["export", "--db", db, "--output", archive + "2"],
                ["import", "--db", db, "--input", archive],
            ] {
                let run = try await runToCompletion(
                    try PaymentsBinary.path(),
                    command,
                    environment: PaymentsBinary.environment([:]),
                    in: folder,
                    timeout: .seconds(60)
                )
                #expect(run.termination.reason == .exit && run.termination.status != 0, "\(command): \(run)")
                let state = empty ? "is empty" : "does not exist"
                #expect(run.output.contains("'\(db)' \(state), but its write-ahead log"), "\(command): \(run.output)")
                #expect(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int == logSize, "\(command)")
                let size = try? FileManager.default.attributesOfItem(atPath: db)[.size] as? Int
                #expect(size == (empty ? 0 : nil), "\(command)")
            }
        }
        // And so does a start through a link to the file, whose log SQLite keeps beside the file, not the link
        let link = folder.appendingPathComponent("link.sqlite").path
        #expect(symlink(db, link) == 0)
        let linked = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--db", link, "--port", "0"],
            environment: PaymentsBinary.environment([:]),
            in: folder,
            timeout: .seconds(60)
        )
        #expect(linked.output.contains("'\(link)' (the link to '\(db)') is empty"), "\(linked.output)")
        #expect(try FileManager.default.attributesOfItem(atPath: log)[.size] as? Int == logSize)
        // And with the rescued file back in place, a restart has the three payments, and a retry replays its own
        #expect(rename(rescued.path, server.db.path) == 0)
        let restarted = try await ServerProcess.start(store: .sqlite, folder: folder, keys: keys)
        defer { restarted.kill() }
        let retry = try await restarted.client.postForm(
            "/v1/payment_intents",
            form,
            auth: restarted.secret,
            headers: ["Idempotency-Key": "order-1"]
        )
        #expect(try retry.json()["id"]?.string == paid[0], "\(retry)\n\(restarted.diagnostics)")
        #expect(try await restarted.query("SELECT id FROM payment_intents ORDER BY id").map { $0[0] } == paid.sorted())
    }

    @Test("Ready is 503 card_network_unwritable while the card network's ledger cannot grow, though the database can")
    func cardNetworkLedgerFull() async throws {
        // Given a server whose files may not grow past 4 MB, and a reader holding the card network ledger's log, so
        // that each of the ledger's commits must grow it while the database's log starts over after its checkpoints
        let server = try await ServerProcess.start(store: .sqlite, fileSizeLimitKB: 4096)
        defer { server.kill() }
        #expect(try await server.client.get("/health/ready").status == 200)
        let ledger = server.folder.appendingPathComponent("card-network.sqlite").path
        let release = try await Self.holdingRead(of: ledger, "SELECT count(*) FROM authorizations")
        defer { release.signal() }
        // And 3.9 MB of the ledger's 4 written to its log by another process (not bound by the limit), so that the
        // ledger's log reaches the limit while the database's files are still far from it (with 3.7 MB, it took
        // about as many payments as the database's log, which grows by some 110 KB a payment until its first
        // checkpoint at 1,000 pages, took to reach 4 MB: which one failed first depended on the rows' sizes)
        try await DatabaseQueue(path: ledger).write { db in
            try db.execute(sql: "CREATE TABLE test_filler (b BLOB)")
            try db.execute(sql: "INSERT INTO test_filler VALUES (zeroblob(3900000))")
        }
        // When payments go on until one fails
        let failed = try await Self.payUntilOneFails(server, atMost: 3_000)
        let failure = try #require(failed, "no payment failed within 3,000")
        #expect(
            try failure.json()["error"]?["code"]?.string == "card_network_unavailable",
            "\(failure)\n\(server.diagnostics)"
        )
        // Then the server is not ready, naming the ledger (it answered ready between the failing payments)
        let refused = try await server.client.get("/health/ready")
        #expect(refused.status == 503, "\(refused)")
        #expect(try refused.json()["reason"]?.string == "card_network_unwritable", "\(refused)")
        // And once the reader is gone, the probe's check has the ledger's log copied (no commit asks for it now), so
        // the log can start over: payments go through, and it is ready again
        release.signal()
        #expect(try await Self.eventually { try await Self.paysAndIsReady(server) }, "\(server.diagnostics)")
    }

    @Test("Ready is 503 card_network_locked while another process holds the ledger's write lock and payments fail")
    func cardNetworkLedgerLocked() async throws {
        let server = try await ServerProcess.start(store: .sqlite)
        defer { server.kill() }
        #expect(try await server.client.get("/health/ready").status == 200)
        // Given an admin's write transaction on the card network's ledger, held for 20 s, on a thread of its own
        let ledger = server.folder.appendingPathComponent("card-network.sqlite").path
        let released = try await Self.holdingWriteLock(of: ledger, seconds: 20)
        // When `payments sweep` opens the ledger meanwhile, it is refused naming the ledger and what to do, where it
        // printed SQLite's `database is locked - while executing BEGIN IMMEDIATE TRANSACTION`
        let sweep = try await AdminCommandsTests.run(server, ["sweep"])
        #expect(sweep.termination == Termination(reason: .exit, status: 1), "\(sweep.output)")
        #expect(sweep.output.contains("The card network's ledger"), "\(sweep.output)")
        #expect(sweep.output.contains("is locked: another process"), "\(sweep.output)")
        #expect(!sweep.output.contains("SQLite error"), "\(sweep.output)")
        // When a payment fails at the network for want of the lock (after the ledger's busy timeout)
        let paid = try await Self.payVisa(server)
        #expect(paid.status == 500, "\(paid)")
        #expect(try paid.json()["error"]?["code"]?.string == "card_network_unavailable", "\(paid)")
        // Then, once the ledger's commit has given up on the lock (its busy timeout, 5 s, may end after the payment's
        // own time limit), the server is not ready, naming the ledger's lock: it answered ready while every payment
        // failed
        #expect(
            try await Self.eventually {
                let ready = try await server.client.get("/health/ready")
                return try ready.status == 503 && ready.json()["reason"]?.string == "card_network_locked"
            },
            "\(server.diagnostics)"
        )
        // And ready again once the lock is gone and a payment goes through
        try await offCooperativePool { released.wait() }
        #expect(try await Self.eventually { try await Self.paysAndIsReady(server) }, "\(server.diagnostics)")
    }

    @Test("Ready is 503 database_unwritable while writes fail for want of space, and ready again once they can")
    func databaseFull() async throws {
        // Given a server whose files may not grow past 4 MB (`ulimit -f`, as a full disk refuses to grow them)
        let server = try await ServerProcess.start(store: .sqlite, fileSizeLimitKB: 4096)
        defer { server.kill() }
        #expect(try await server.client.get("/health/ready").status == 200)
        // And an admin's open read transaction, which keeps the write-ahead log from starting over, so each commit
        // must grow it
        let release = try await Self.holdingRead(of: server.db.path, "SELECT count(*) FROM payment_intents")
        defer { release.signal() }
        // When payments go on until one fails
        let failed = try await Self.payUntilOneFails(server, atMost: 2_000)
        try #require(failed != nil, "no payment failed within 2,000")
        // Then the server says at once that it is not ready: a payment's commit failed for the disk. (Before, its
        // check wrote one page, which the space a payment could not use still held: a probe on a full disk saw the
        // check pass between failing payments, and here up to 30 checks passed before the first 503.)
        let refused = try await server.client.get("/health/ready")
        #expect(refused.status == 503, "\(refused)")
        #expect(try refused.json()["reason"]?.string == "database_unwritable", "\(refused)")
        // And payments still fail meanwhile: the check did not take their place
        let still = try await Self.payVisa(server)
        #expect(still.status >= 500, "\(still)")
        #expect(try await server.client.get("/health/live").status == 200)
        // And a write that fails for the disk says so (it was "An unknown error occurred": a probe): a customer with
        // 20 KB of metadata, more than the log's last free pages hold
        let customer = try await server.client.postForm(
            "/v1/customers",
            (0..<40).map { ("metadata[k\($0)]", String(repeating: "x", count: 500)) },
            auth: server.secret
        )
        #expect(customer.status == 500, "\(customer)")
        #expect(
            try customer.json()["error"]?["message"]?.string?.contains("storage refused the write") == true,
            "\(customer)"
        )
        // And once the reader is gone and the log can start over, it is ready again
        release.signal()
        #expect(try await Self.eventually { try await server.client.get("/health/ready").status == 200 })
    }

    /// Holds the write lock of the database at `path` for `seconds` from another connection, on a thread of its own;
    /// returns once the lock is held. The semaphore is signalled once it is let go.
    static func holdingWriteLock(of path: String, seconds: Double) async throws -> DispatchSemaphore {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let other = try DatabaseQueue(path: path, configuration: configuration)
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            try? other.inTransaction(.immediate) { _ in
                locked.signal()
                Thread.sleep(forTimeInterval: seconds)
                return .rollback
            }
            released.signal()
        }.start()
        // (waited for off Swift's cooperative threads, which the other tests' servers and clients need)
        try await offCooperativePool { locked.wait() }
        return released
    }

    /// Opens `path` read-only on a thread of its own and holds a read transaction (after `sql`), which keeps the
    /// file's write-ahead log from starting over, until the returned semaphore is signalled. Waited for off Swift's
    /// cooperative threads, which the other tests' servers and clients need.
    static func holdingRead(of path: String, _ sql: String) async throws -> DispatchSemaphore {
        let reading = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let reader = Thread {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try? DatabaseQueue(path: path, configuration: configuration)
            try? queue?.read { db in
                _ = try Int.fetchOne(db, sql: sql)
                reading.signal()
                release.wait()
            }
        }
        reader.start()
        try await offCooperativePool { reading.wait() }
        return release
    }

    /// One payment of 10.00 USD with `pm_card_visa`, confirmed at once.
    static func payVisa(_ server: ServerProcess) async throws -> HTTPAnswer {
        try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret
        )
    }

    /// Whether a payment goes through and the server then answers ready. The readiness check runs first too: it is
    /// what copies a ledger's log that a long read kept from starting over, which no commit asks for meanwhile.
    static func paysAndIsReady(_ server: ServerProcess) async throws -> Bool {
        _ = try await server.client.get("/health/ready")
        guard try await payVisa(server).status == 200 else { return false }
        return try await server.client.get("/health/ready").status == 200
    }

    /// Pays `pm_card_visa` on `server` until a payment fails with a 5xx (at most `limit` payments, each other one
    /// expected to succeed); the failed answer, or nil when none failed.
    static func payUntilOneFails(_ server: ServerProcess, atMost limit: Int) async throws -> HTTPAnswer? {
        for _ in 0..<limit {
            let answer = try await payVisa(server)
            if answer.status >= 500 { return answer }
            #expect(answer.status == 200, "\(answer)")
        }
        return nil
    }

    /// Polls `condition` for up to 15 s.
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
