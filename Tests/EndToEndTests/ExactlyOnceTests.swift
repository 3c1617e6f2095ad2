import Foundation
import GRDB
import TestSupport
import Testing

/// Exactly once on every money path, checked on the card network's ledger and the database rather than on HTTP
/// statuses alone: two `payments recharge` runs of one file at once, recharge references that outlive the
/// sweeper's pruning, `/pay` refusing intents it did not create, and refunds retried with their key after a
/// failure or a crash.
@Suite("Exactly once: recharge runs, /pay, refunds")
struct ExactlyOnceTests {
    // MARK: - Recharge

    /// Starts `payments recharge` without waiting for it, its output (stdout and stderr) in `log`.
    static func startRecharge(
        _ server: ServerProcess,
        input: URL,
        output: URL,
        log: URL,
        environment: [String: String] = [:],
        extra: [String] = []
    ) throws -> ChildProcess {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = ChildProcess(
            executableURL: URL(fileURLWithPath: try PaymentsBinary.path()),
            arguments: ["recharge"] + server.databaseArguments + ["--input", input.path, "--output", output.path]
                + extra,
            environment: server.commandEnvironment(environment),
            currentDirectoryURL: TestPaths.root,
            output: handle
        )
        try ChildRegistry.launch(process)
        ChildRegistry.add(process.processIdentifier)
        return process
    }

    /// Waits for `process` to end (killing it after `timeout`), and says how it ended.
    static func waitForExit(_ process: ChildProcess, timeout: Duration = .seconds(60)) async throws -> Termination {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        defer { ChildRegistry.remove(process.processIdentifier) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw EndToEndError("payments recharge still ran after \(timeout)")
        }
        return Termination(reason: process.terminationReason, status: process.terminationStatus)
    }

    /// The "N of these were answered by an earlier run" count of a recharge summary (0 when absent).
    static func replayedRows(in output: String) -> Int {
        for line in output.split(separator: "\n") where line.contains(" answered by an earlier run or an earlier row") {
            let number = line.drop { $0 == " " }.prefix { $0.isNumber }
            return Int(number) ?? -1
        }
        return 0
    }

    /// The service's succeeded charges of `intents`, by attempt id.
    static func succeededAttempts(of intents: Set<String>, _ ledgers: Ledgers) async throws -> Set<String> {
        Set(try await ledgers.succeededCharges().filter { intents.contains($0.value) }.keys)
    }

    @Test(
        "two recharge runs of the same rows at once (one file; second run reversed): each charged once, same intents",
        arguments: TestStore.allCases,
        [false, true]
    )
    func concurrentRuns(_ store: TestStore, secondRunReversed: Bool) async throws {
        try await withServer(store: store) { server in
            // Given 20 customers with a saved 4242 card, and a file charging each of them once (and, to make the
            // runs meet in the middle, the same rows in reverse order for the second run)
            var customers: [String] = []
            for _ in 0..<20 {
                customers.append(try await RechargeTests.customerWithSavedCard(server, card: SeedCard.succeeds))
            }
            let lines = customers.enumerated().map { row, customer in "\(customer),\(2000 + row),usd,together-\(row)" }
            let input = server.folder.appendingPathComponent("renewals.csv")
            try (["customer,amount,currency,reference"] + lines).joined(separator: "\n")
                .write(to: input, atomically: true, encoding: .utf8)
            var secondInput = input
            if secondRunReversed {
                secondInput = server.folder.appendingPathComponent("renewals-reversed.csv")
                try (["customer,amount,currency,reference"] + lines.reversed()).joined(separator: "\n")
                    .write(to: secondInput, atomically: true, encoding: .utf8)
            }
            let ledgers = Ledgers(folder: server.folder)
            let approvedBefore = try ledgers.networkApprovedAttempts()
            let intentsBefore = try await ledgers.intentCount()

            // When two runs start together, each 8 rows at a time, on a network slow enough that they overlap
            let outputs = ["a", "b"].map { server.folder.appendingPathComponent("renewals-\($0).csv") }
            let logs = ["a", "b"].map { server.folder.appendingPathComponent("recharge-\($0).log") }
            let runs = try [input, secondInput].enumerated().map { index, file in
                try Self.startRecharge(
                    server,
                    input: file,
                    output: outputs[index],
                    log: logs[index],
                    environment: ["PAYMENTS_NETWORK_LATENCY": "200"],
                    extra: ["--concurrency", "8"]
                )
            }
            var terminations: [Termination] = []
            for run in runs { terminations.append(try await Self.waitForExit(run)) }
            let printed = logs.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }

            // Then both finish cleanly and report every row succeeded, with the same intent per reference
            for index in 0..<2 {
                #expect(terminations[index].isCleanExit, "run \(index): \(terminations[index])\n\(printed[index])")
            }
            let results = try outputs.map(RechargeTests.readCSV)
            let references = (0..<20).map { "together-\($0)" }
            #expect(results[0].map { $0["reference"] ?? "" } == references, "\(results[0])")
            #expect(
                results[1].map { $0["reference"] ?? "" } == (secondRunReversed ? references.reversed() : references),
                "\(results[1])"
            )
            for rows in results { #expect(rows.allSatisfy { $0["status"] == "succeeded" }, "\(rows)") }
            let intentByReference = results.map { rows in
                Dictionary(rows.map { ($0["reference"] ?? "", $0["payment_intent"] ?? "") }) { first, _ in first }
            }
            #expect(intentByReference[0] == intentByReference[1], "the runs disagree:\n\(results[0])\n\(results[1])")
            let intents = Set(intentByReference[0].values)
            #expect(intents.count == 20, "\(intents)")
            #expect(intents.allSatisfy { $0.hasPrefix("pi_") }, "\(intents)")

            // And the network approved exactly 20 new authorizations, those of the 20 intents, one each
            let newApproved = try ledgers.networkApprovedAttempts().subtracting(approvedBefore)
            #expect(newApproved.count == 20, "\(newApproved.count) new approved authorizations for 20 rows")
            #expect(newApproved == (try await Self.succeededAttempts(of: intents, ledgers)))
            #expect(try await ledgers.intentCount() == intentsBefore + 20)
            #expect(try await ledgers.intentsChargedTwice().isEmpty)
            #expect(try await ledgers.pendingCharges() == 0)
            // Each reference was charged by one run and replayed by the other.
            let replayed = printed.map(Self.replayedRows(in:))
            #expect(replayed.reduce(0, +) == 20, "replayed per run: \(replayed)\n\(printed.joined(separator: "\n"))")
            if secondRunReversed {
                // Starting from opposite ends, each run charged rows before they met: they really overlapped.
                #expect(replayed.allSatisfy { (1..<20).contains($0) }, "the runs did not overlap: replayed \(replayed)")
            }
        }
    }

    @Test(
        "recharge references survive a sweep once 25 hours have passed; API keys of that age are pruned",
        arguments: TestStore.allCases
    )
    func referencesOutliveSweep(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given a recharge file run once, and an API request made with an idempotency key at the same time
            var text = "customer,amount,currency,reference\n"
            for row in 0..<3 {
                let customer = try await RechargeTests.customerWithSavedCard(server, card: SeedCard.succeeds)
                text += "\(customer),\(3000 + row),usd,forever-\(row)\n"
            }
            let input = server.folder.appendingPathComponent("yearly.csv")
            let output = server.folder.appendingPathComponent("yearly-out.csv")
            try text.write(to: input, atomically: true, encoding: .utf8)
            let apiKey = UUID().uuidString
            let apiForm: [(String, String)] = [("amount", "1000"), ("currency", "usd")]
            let apiFirst = try await server.client.postForm(
                "/v1/payment_intents",
                apiForm,
                auth: server.secret,
                headers: ["Idempotency-Key": apiKey]
            )
            #expect(apiFirst.status == 200, "\(apiFirst)")
            let apiIntent = try #require(try apiFirst.json()["id"]?.string)

            let run = try await RechargeTests.recharge(server, input: input, output: output)
            #expect(run.termination.isCleanExit, "\(run.output)")
            let rows = try RechargeTests.readCSV(output)
            #expect(rows.allSatisfy { $0["status"] == "succeeded" }, "\(rows)")
            let ledgers = Ledgers(folder: server.folder)
            let approved = try ledgers.networkApprovedAttempts()
            let intents = try await ledgers.intentCount()

            // When 25 hours have passed (the keys' times moved back: keys are pruned by the real time, whatever a
            // sweep's --now says) and a sweeper pass runs
            try await ledgers.execute(
                """
                UPDATE idempotency_keys SET created = created - 90000,
                    expires_at = CASE WHEN expires_at IS NULL THEN NULL ELSE expires_at - 90000 END
                """
            )
            let sweep = try await AdminCommandsTests.run(server, ["sweep"])
            #expect(sweep.termination.isCleanExit, "\(sweep.output)")

            // Then the same file run again charges nothing and answers the same intents
            let again = try await RechargeTests.recharge(server, input: input, output: output)
            #expect(again.termination.isCleanExit, "\(again.output)")
            let rerun = try RechargeTests.readCSV(output)
            #expect(rerun.map { $0["payment_intent"] ?? "" } == rows.map { $0["payment_intent"] ?? "" })
            #expect(rerun.allSatisfy { $0["status"] == "succeeded" }, "\(rerun)")
            #expect(Self.replayedRows(in: again.output) == 3, "\(again.output)")
            #expect(try ledgers.networkApprovedAttempts() == approved)
            #expect(try await ledgers.intentCount() == intents)

            // And the references are kept, never to expire, while the API key is gone
            let references = try await ledgers.count("SELECT count(*) FROM idempotency_keys WHERE key LIKE 'forever-%'")
            let neverExpire = try await ledgers.count(
                "SELECT count(*) FROM idempotency_keys WHERE key LIKE 'forever-%' AND expires_at IS NULL"
            )
            let apiKeys = try await ledgers.count("SELECT count(*) FROM idempotency_keys WHERE key = ?", [apiKey])
            #expect(references == 3, "\(sweep.output)")
            #expect(neverExpire == 3)
            #expect(apiKeys == 0, "the 25-hour-old API key was not pruned\n\(sweep.output)")

            // And the pruned API key runs anew: a second intent
            let apiRetry = try await server.client.postForm(
                "/v1/payment_intents",
                apiForm,
                auth: server.secret,
                headers: ["Idempotency-Key": apiKey]
            )
            #expect(apiRetry.status == 200, "\(apiRetry)")
            #expect(apiRetry.header("Idempotent-Replayed") == nil)
            let retried = try #require(try apiRetry.json()["id"]?.string)
            #expect(retried != apiIntent, "the pruned key replayed its first intent")
            #expect(try await ledgers.intentCount() == intents + 1)
        }
    }

    // MARK: - /pay

    @Test(
        "/pay refuses an intent made through /v1, even one waiting in requires_confirmation; nothing is charged",
        arguments: TestStore.allCases
    )
    func payRefusesAPIIntent(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given a manual-confirmation intent created with the secret key, waiting for its confirm
            let created = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "99999"), ("currency", "usd"), ("payment_method", "pm_card_visa"),
                    ("confirmation_method", "manual"), ("confirm", "false"),
                ],
                auth: server.secret
            )
            #expect(created.status == 200, "\(created)")
            let id = try #require(try created.json()["id"]?.string, "\(created)")
            #expect(try created.json()["status"]?.string == "requires_confirmation", "\(created)")

            // When anyone posts its id to /pay, with no key
            let answer = try await server.client.postJSON("/pay", ["payment_intent_id": id])

            // Then it is refused as unknown, and the intent is untouched and never reached the network
            #expect(answer.status == 400, "\(answer)")
            #expect(try answer.json()["error"]?["code"]?.string == "resource_missing", "\(answer)")
            #expect(try answer.json()["success"] == nil, "\(answer)")
            // (even with the intent's own client secret)
            let clientSecret = try #require(try created.json()["client_secret"]?.string, "\(created)")
            let withSecret = try await server.client.postJSON(
                "/pay",
                ["payment_intent_id": id, "payment_intent_client_secret": clientSecret]
            )
            #expect(withSecret.status == 400, "\(withSecret)")
            #expect(try withSecret.json()["error"]?["code"]?.string == "resource_missing", "\(withSecret)")
            let intent = try await server.paymentIntent(id)
            #expect(intent["status"]?.string == "requires_confirmation", "\(intent)")
            #expect(intent["amount_received"]?.int == 0, "\(intent)")
            let ledgers = Ledgers(folder: server.folder)
            #expect(try ledgers.networkApprovedAttempts().isEmpty)
            let asked = try ledgers.read("card-network.sqlite") { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM authorizations WHERE amount = 99999")
            }
            #expect(asked == 0, "the network was asked for the /v1 intent's amount")
            #expect(try await ledgers.count("SELECT count(*) FROM charges") == 0)
        }
    }

    @Test("/pay confirms its own intent only with the right client secret", arguments: TestStore.allCases)
    func payChecksClientSecret(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            // Given a /pay intent that needed 3-D Secure, with the challenge completed
            let first = try await server.client.postJSON(
                "/pay",
                ["payment_method_id": "pm_card_authenticationRequired"]
            )
            #expect(first.status == 200, "\(first)")
            let clientSecret = try #require(try first.json()["payment_intent_client_secret"]?.string, "\(first)")
            let secretRange = try #require(clientSecret.range(of: "_secret_"), "client secret \(clientSecret)")
            let id = String(clientSecret[..<secretRange.lowerBound])
            let challenged = try await server.paymentIntent(id)
            #expect(challenged["status"]?.string == "requires_action", "\(challenged)")
            let completed = try await server.answerChallenge(
                at: try server.challengeURL(of: challenged),
                outcome: "complete"
            )
            #expect(completed.status == 200, "\(completed)")
            #expect(try await server.paymentIntent(id)["status"]?.string == "requires_confirmation")
            let ledgers = Ledgers(folder: server.folder)

            // When /pay is asked to confirm it with a wrong client secret
            let wrong = try await server.client.postJSON(
                "/pay",
                ["payment_intent_id": id, "payment_intent_client_secret": "\(id)_secret_notTheRightOne"]
            )

            // Then it is refused as unknown and nothing is charged
            #expect(wrong.status == 400, "\(wrong)")
            #expect(try wrong.json()["error"]?["code"]?.string == "resource_missing", "\(wrong)")
            let untouched = try await server.paymentIntent(id)
            #expect(untouched["status"]?.string == "requires_confirmation", "\(untouched)")
            #expect(untouched["amount_received"]?.int == 0)
            #expect(try ledgers.networkApprovedAttempts().isEmpty)

            // And with the right one it is confirmed, charged once
            let right = try await server.client.postJSON(
                "/pay",
                ["payment_intent_id": id, "payment_intent_client_secret": clientSecret]
            )
            #expect(right.status == 200, "\(right)")
            #expect(try right.json()["success"]?.bool == true, "\(right)")
            #expect(try right.json()["payment_intent"]?.string == id, "\(right)")
            let paid = try await server.paymentIntent(id)
            #expect(paid["status"]?.string == "succeeded", "\(paid)")
            #expect(paid["amount_received"]?.int == PayEndpointTests.defaultAmount)
            #expect(try ledgers.networkApprovedAttempts().count == 1)
            #expect(Set(try await ledgers.succeededCharges().values) == [id])
        }
    }

    // MARK: - Refunds

    /// The refund points, in the order a refund passes them.
    static let refundPoints = ["after-refund-reserved", "after-refund-network"]

    /// A captured payment of `amount` usd on pm_card_visa: the intent and its charge.
    static func capturedPayment(_ server: ServerProcess, amount: Int = 5000) async throws -> (
        intent: String, charge: String
    ) {
        let paid = try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", String(amount)), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret
        )
        try #require(paid.status == 200, "\(paid)")
        let json = try paid.json()
        try #require(json["status"]?.string == "succeeded", "\(json)")
        return (try #require(json["id"]?.string), try #require(json["latest_charge"]?.string, "\(json)"))
    }

    /// What the two ledgers hold about one charge's refunds.
    struct RefundState: Equatable, CustomStringConvertible {
        /// The network's refunds of the attempt: refund id → amount.
        var network: [String: Int64]
        /// The service's refunds of the charge: refund id → status.
        var service: [String: String]
        /// The charge's `amount_refunded`.
        var amountRefunded: Int64

        var description: String { "network \(network), service \(service), amount_refunded \(amountRefunded)" }
    }

    static func refundState(charge: String, _ ledgers: Ledgers) async throws -> RefundState {
        let network = try ledgers.read("card-network.sqlite") { db in
            try Row.fetchAll(db, sql: "SELECT refund_id, amount FROM refunds WHERE attempt_id = ?", arguments: [charge])
                .reduce(into: [String: Int64]()) { $0[$1["refund_id"]] = $1["amount"] }
        }
        let service = try await ledgers.query("SELECT id, status FROM refunds WHERE charge = ?", [charge])
            .reduce(into: [String: String]()) { $0[$1[0]] = $1[1] }
        let refunded = try await ledgers.query("SELECT amount_refunded FROM charges WHERE id = ?", [charge]).first?
            .first
        return RefundState(network: network, service: service, amountRefunded: refunded.flatMap { Int64($0) } ?? -1)
    }

    @Test(
        "a refund that failed at a fault point, retried with its key, completes that same refund",
        arguments: TestStore.allCases,
        refundPoints
    )
    func refundRetriedAfterFailure(_ store: TestStore, _ point: String) async throws {
        try await withServer(
            store: store,
            environment: ["PAYMENTS_FAULT_POINT": point, "PAYMENTS_FAULT_ACTION": "fail"]
        ) { server in
            // Given a captured payment
            let payment = try await Self.capturedPayment(server)
            let ledgers = Ledgers(folder: server.folder)
            let key = UUID().uuidString
            let form: [(String, String)] = [("payment_intent", payment.intent), ("amount", "2000")]

            // When its refund fails at the point (once)
            let failed = try await server.client.postForm(
                "/v1/refunds",
                form,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(failed.status == 500, "\(failed)")
            #expect(failed.header("Stripe-Should-Retry") == "true", "\(failed.headers)")
            #expect(try failed.json()["error"]?["type"]?.string == "api_error", "\(failed)")
            #expect(try failed.json()["error"]?["code"]?.string == "card_network_unavailable", "\(failed)")
            let afterFailure = try await Self.refundState(charge: payment.charge, ledgers)
            #expect(afterFailure.service.count == 1, "\(afterFailure)")
            #expect(afterFailure.network.count == (point == "after-refund-network" ? 1 : 0), "\(afterFailure)")

            // Then the retry with the key completes the refund the failed try reserved
            let retry = try await server.client.postForm(
                "/v1/refunds",
                form,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(retry.status == 200, "\(retry)")
            #expect(retry.header("Idempotent-Replayed") == nil)
            let refund = try retry.json()
            let refundID = try #require(refund["id"]?.string, "\(refund)")
            #expect(refundID.hasPrefix("re_"))
            #expect(refund["status"]?.string == "succeeded", "\(refund)")
            #expect(refund["amount"]?.int == 2000, "\(refund)")
            #expect(Array(afterFailure.service.keys) == [refundID], "the retry made another refund: \(afterFailure)")

            // And a third try replays it
            let replay = try await server.client.postForm(
                "/v1/refunds",
                form,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(replay.status == 200, "\(replay)")
            #expect(replay.header("Idempotent-Replayed") == "true")
            #expect(replay.body == retry.body)

            // And both ledgers hold exactly that one refund
            let state = try await Self.refundState(charge: payment.charge, ledgers)
            #expect(
                state == RefundState(network: [refundID: 2000], service: [refundID: "succeeded"], amountRefunded: 2000),
                "\(state)"
            )
        }
    }

    /// A captured payment of 5,000 usd on a server then stopped (`clean`: restart on its folder), and a refund of
    /// 2,000 of it (under `key`, when given) that reached `point` in a server that died there: its client got no
    /// answer, and the refund is pending, at the network too after `after-refund-network`.
    static func refundKilled(at point: String, store: TestStore, key: String?) async throws -> (
        clean: ServerProcess, payment: (intent: String, charge: String), afterCrash: RefundState
    ) {
        let clean = try await ServerProcess.start(store: store)
        let payment = try await Self.capturedPayment(clean)
        #expect(await clean.stop()?.isCleanExit == true, "\(clean.diagnostics)")
        let dying = try await ServerProcess.start(
            store: store,
            folder: clean.folder,
            keys: clean.keys,
            environment: ["PAYMENTS_FAULT_POINT": point]
        )
        defer { dying.kill() }
        let lost = try? await dying.client.postForm(
            "/v1/refunds",
            [("payment_intent", payment.intent), ("amount", "2000")],
            auth: dying.secret,
            headers: key.map { ["Idempotency-Key": $0] } ?? [:]
        )
        #expect(lost == nil, "the refund was answered: \(String(describing: lost))")
        let termination = await dying.stop(signal: SIGKILL)
        #expect(termination?.reason == .uncaughtSignal, "\(String(describing: termination))\n\(dying.diagnostics)")
        let afterCrash = try await Self.refundState(charge: payment.charge, Ledgers(folder: clean.folder))
        #expect(afterCrash.service.values.sorted() == ["pending"], "\(afterCrash)")
        #expect(afterCrash.network.count == (point == "after-refund-network" ? 1 : 0), "\(afterCrash)")
        return (clean, payment, afterCrash)
    }

    @Test(
        "a refund killed at a fault point, never retried, is settled when the server starts again",
        arguments: TestStore.allCases,
        refundPoints
    )
    func refundKilledSettledAtStart(_ store: TestStore, _ point: String) async throws {
        // Given a captured payment whose refund without a key died at the point, its client without an answer
        let (clean, payment, reserved) = try await Self.refundKilled(at: point, store: store, key: nil)
        defer { clean.kill() }
        let ledgers = Ledgers(folder: clean.folder)
        let refundID = try #require(reserved.service.keys.first, "\(reserved)")

        // When the server starts again, and nobody retries the refund
        // Then the server settles it as it starts, before it takes requests (it waited for the sweeper's pass past
        // its grace, a minute or more, reserving its amount)
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        // (in the output of this server, or of a start on a port taken meanwhile, which recovers before it binds)
        let logs = try FileManager.default.contentsOfDirectory(atPath: clean.folder.path)
            .filter { $0.hasPrefix("server-") && $0.hasSuffix(".log") }
            .map { try String(contentsOf: clean.folder.appendingPathComponent($0), encoding: .utf8) }
        #expect(logs.contains { $0.contains("recovered a pending refund") }, "\(server.diagnostics)")
        let state = try await Self.refundState(charge: payment.charge, ledgers)
        #expect(
            state == RefundState(network: [refundID: 2000], service: [refundID: "succeeded"], amountRefunded: 2000),
            "\(state)"
        )
        // And the rest of the charge can be refunded at once, and no more
        let rest = try await server.client.postForm(
            "/v1/refunds",
            [("payment_intent", payment.intent)],
            auth: server.secret
        )
        #expect(rest.status == 200, "\(rest)")
        #expect(try rest.json()["amount"]?.int == 3000, "\(rest)")
    }

    // MARK: - Capture and cancel

    /// `count` authorizations of 2,000 usd on pm_card_visa (manual capture) made on `server`: each intent and its
    /// charge.
    static func authorizations(_ count: Int, on server: ServerProcess) async throws -> [(
        intent: String, charge: String
    )] {
        var held: [(intent: String, charge: String)] = []
        for _ in 0..<count {
            let authorized = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "2000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
                    ("capture_method", "manual"),
                ],
                auth: server.secret
            )
            let json = try authorized.json()
            try #require(json["status"]?.string == "requires_capture", "\(json)")
            held.append((try #require(json["id"]?.string), try #require(json["latest_charge"]?.string)))
        }
        return held
    }

    /// What the network holds about an authorization: its captured amount and whether it was released.
    static func networkHold(_ attempt: String, _ ledgers: Ledgers) throws -> (captured: Int64, voided: Bool) {
        try ledgers.read("card-network.sqlite") { db in
            let row = try Row.fetchOne(
                db,
                sql: "SELECT captured_amount, voided FROM authorizations WHERE attempt_id = ?",
                arguments: [attempt]
            )
            return (row?["captured_amount"] ?? -1, (row?["voided"] ?? 0) != 0)
        }
    }

    /// `count` authorizations of 2,000 (manual capture) made by a server of `store` that then stopped cleanly, before
    /// any fault point is armed: the server (for its folder and keys), the payments, and the folder's ledgers.
    static func stoppedWithAuthorizations(_ count: Int, store: TestStore) async throws -> (
        ServerProcess, [(intent: String, charge: String)], Ledgers
    ) {
        let clean = try await ServerProcess.start(store: store)
        let held = try await Self.authorizations(count, on: clean)
        #expect(await clean.stop()?.isCleanExit == true, "\(clean.diagnostics)")
        return (clean, held, Ledgers(folder: clean.folder))
    }

    /// Expects the same request sent again with `key` to be a replay of `answer`, byte for byte.
    static func expectReplayed(
        _ answer: HTTPAnswer,
        on server: ServerProcess,
        path: String,
        form: [(String, String)],
        key: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let replay = try await server.client.postForm(
            path,
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(
            replay.header("Idempotent-Replayed") == "true" && replay.body == answer.body,
            "\(replay)",
            sourceLocation: sourceLocation
        )
    }

    /// Sends `form` to `path` on a server of `clean`'s folder that dies at `point`, under `key` (none when nil):
    /// its client gets no answer, and the server is killed.
    static func sendToServerDyingAt(
        _ point: String,
        of clean: ServerProcess,
        store: TestStore,
        path: String,
        form: [(String, String)],
        key: String?
    ) async throws {
        let lost = try await sendToServerArmedAt(point, of: clean, store: store, path: path, form: form, key: key)
        #expect(lost == nil, "answered: \(String(describing: lost))")
    }

    /// Sends `form` to `path` on a server of `clean`'s folder armed to die at `point`, under `key` (none when nil),
    /// then kills the server: the answer, or nil when the server died first.
    static func sendToServerArmedAt(
        _ point: String,
        of clean: ServerProcess,
        store: TestStore,
        path: String,
        form: [(String, String)],
        key: String?
    ) async throws -> HTTPAnswer? {
        let armed = try await ServerProcess.start(
            store: store,
            folder: clean.folder,
            keys: clean.keys,
            environment: ["PAYMENTS_FAULT_POINT": point]
        )
        defer { armed.kill() }
        let answer = try? await armed.client.postForm(
            path,
            form,
            auth: armed.secret,
            headers: key.map { ["Idempotency-Key": $0] } ?? [:]
        )
        _ = await armed.stop(signal: SIGKILL)
        return answer
    }

    @Test(
        "a customer's create killed after its commit, before its answer was saved: its retry answers that customer",
        arguments: TestStore.allCases
    )
    func customerCreateKilledBeforeItsAnswer(_ store: TestStore) async throws {
        // Given a server that stopped cleanly, and a create that dies after its commit, before its answer was saved
        let clean = try await ServerProcess.start(store: store)
        defer { clean.kill() }
        #expect(await clean.stop()?.isCleanExit == true, "\(clean.diagnostics)")
        let key = UUID().uuidString
        let form = [("email", "first-try@example.com")]
        try await Self.sendToServerDyingAt(
            "before-key-finish",
            of: clean,
            store: store,
            path: "/v1/customers",
            form: form,
            key: key
        )

        // When it is retried with its key on a restarted server
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let retry = try await server.client.postFormRetryingInFlight(
            "/v1/customers",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )

        // Then it answers the customer the first try made, and no second one is made (one was), and replays after
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        #expect(try await server.query("SELECT count(*) FROM customers") == [["1"]])
        let id = try #require(try retry.json()["id"]?.string)
        #expect(try await server.query("SELECT id FROM customers") == [[id]])
        try await Self.expectReplayed(retry, on: server, path: "/v1/customers", form: form, key: key)
    }

    @Test(
        "a card's create killed before or after its commit: the key's retry answers one card",
        arguments: TestStore.allCases,
        ["after-key-begin", "before-key-finish", "before-response"]
    )
    func cardCreateKilled(_ store: TestStore, _ point: String) async throws {
        // Given a server that stopped cleanly
        let clean = try await ServerProcess.start(store: store)
        defer { clean.kill() }
        #expect(await clean.stop()?.isCleanExit == true, "\(clean.diagnostics)")
        let key = UUID().uuidString
        let form = [
            ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"), ("card[cvc]", "123"),
        ]

        // When a card's create with a key runs on a server that dies at the point: before its transaction, or after
        // it committed the card with its answer. Between the two there is no step left (the answer is saved in the
        // card's transaction), so the server armed at `before-key-finish`, where it died, answers
        let first = try await Self.sendToServerArmedAt(
            point,
            of: clean,
            store: store,
            path: "/v1/payment_methods",
            form: form,
            key: key
        )
        #expect((first != nil) == (point == "before-key-finish"), "\(String(describing: first))")

        // And it is retried with its key on a restarted server
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let retry = try await server.client.postFormRetryingInFlight(
            "/v1/payment_methods",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )

        // Then it answers one card, the one stored (a second one was made after the commit): the first try's answer,
        // replayed, when that try committed; and the key replays it after
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        let id = try #require(try retry.json()["id"]?.string)
        #expect(try await server.query("SELECT id FROM payment_methods") == [[id]])
        #expect((retry.header("Idempotent-Replayed") == "true") == (point != "after-key-begin"), "\(retry)")
        if let first { #expect(first.body == retry.body, "\(first)\n\(retry)") }
        try await Self.expectReplayed(retry, on: server, path: "/v1/payment_methods", form: form, key: key)
    }

    @Test(
        "an attach or a detach killed after its commit, before its answer was saved: the key's retry answers it",
        arguments: TestStore.allCases,
        ["attach", "detach"]
    )
    func attachOrDetachKilledBeforeItsAnswer(_ store: TestStore, _ action: String) async throws {
        // Given a customer and a card (attached to it, for a detach), made before the fault point is armed
        let clean = try await ServerProcess.start(store: store)
        defer { clean.kill() }
        let customer = try #require(
            try await clean.client.postForm("/v1/customers", [], auth: clean.secret).json()["id"]?.string
        )
        let card = try await clean.createPaymentMethod(card: "4242424242424242")
        if action == "detach" {
            let attached = try await clean.client.postForm(
                "/v1/payment_methods/\(card)/attach",
                [("customer", customer)],
                auth: clean.secret
            )
            try #require(attached.status == 200, "\(attached)")
        }
        #expect(await clean.stop()?.isCleanExit == true, "\(clean.diagnostics)")
        let form: [(String, String)] = action == "attach" ? [("customer", customer)] : []
        let key = UUID().uuidString

        // When a server dies after the change committed, before its answer was saved under the key
        try await Self.sendToServerDyingAt(
            "before-key-finish",
            of: clean,
            store: store,
            path: "/v1/payment_methods/\(card)/\(action)",
            form: form,
            key: key
        )

        // Then, on a restarted server, the retry with the key answers the change that was made (it was refused as
        // "already attached", or "not attached to a customer so detachment is impossible"), and replays after
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let path = "/v1/payment_methods/\(card)/\(action)"
        let retry = try await server.client.postFormRetryingInFlight(
            path,
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        let owner = try retry.json()["customer"]
        #expect(action == "attach" ? owner?.string == customer : owner?.isNull == true, "\(retry)")
        try await Self.expectReplayed(retry, on: server, path: path, form: form, key: key)
        // And a new request for the same change is still refused, as it was before
        let again = try await server.client.postForm(path, form, auth: server.secret)
        #expect(again.status == 400, "\(again)")
    }

    @Test(
        "a capture or a cancel killed after the network: the key's retry finishes it, another request sees what the network did",
        arguments: TestStore.allCases,
        [("capture", "after-capture-network"), ("cancel", "before-cancel-write")]
    )
    func captureOrCancelKilledAfterNetwork(_ store: TestStore, _ step: (action: String, point: String)) async throws {
        // Given two authorizations of 2,000 (manual capture), made before the fault point is armed
        let (clean, held, ledgers) = try await Self.stoppedWithAuthorizations(2, store: store)
        defer { clean.kill() }
        let form: [(String, String)] = step.action == "capture" ? [("amount_to_capture", "1500")] : []
        let keys = [UUID().uuidString, UUID().uuidString]

        // When the step reaches the point for both in a server that dies there, their clients get no answer
        for (index, payment) in held.enumerated() {
            try await Self.sendToServerDyingAt(
                step.point,
                of: clean,
                store: store,
                path: "/v1/payment_intents/\(payment.intent)/\(step.action)",
                form: form,
                key: keys[index]
            )
            let hold = try Self.networkHold(payment.charge, ledgers)
            #expect(step.action == "capture" ? hold.captured == 1500 : hold.voided, "\(hold)")
        }

        // Then, on a restarted server, the first one's retry with its key finishes it, once, and replays after
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let path = "/v1/payment_intents/\(held[0].intent)/\(step.action)"
        let retry = try await server.client.postFormRetryingInFlight(
            path,
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": keys[0]]
        )
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        let expected = step.action == "capture" ? "succeeded" : "canceled"
        #expect(try retry.json()["status"]?.string == expected, "\(retry)")
        if step.action == "capture" { #expect(try retry.json()["amount_received"]?.int == 1500, "\(retry)") }
        try await Self.expectReplayed(retry, on: server, path: path, form: form, key: keys[0])

        // And for the second, the other step (a cancel after the lost capture, a capture after the lost cancel) is
        // refused on the state the network holds, which the intent now shows
        let other = step.action == "capture" ? "cancel" : "capture"
        let refused = try await server.client.postForm(
            "/v1/payment_intents/\(held[1].intent)/\(other)",
            [],
            auth: server.secret
        )
        #expect(refused.status == 400, "\(refused)")
        #expect("\(refused)".contains("status of \(expected)"), "\(refused)")
        let second = try await server.paymentIntent(held[1].intent)
        #expect(second["status"]?.string == expected, "\(second)")
        #expect(second["amount_received"]?.int == (step.action == "capture" ? 1500 : 0), "\(second)")
        for payment in held {
            let hold = try Self.networkHold(payment.charge, ledgers)
            #expect(step.action == "capture" ? hold.captured == 1500 && !hold.voided : hold.voided, "\(hold)")
        }
        server.kill()
        server.removeFiles()
    }

    /// Found by two probes: without a key nothing recorded it until another capture or cancel of the intent, or the
    /// authorization's 7-day expiry.
    @Test(
        "a capture or a cancel without a key killed after the network: the sweeper records it, with what it asked",
        arguments: TestStore.allCases,
        [("capture", "after-capture-network"), ("cancel", "before-cancel-write")]
    )
    func unkeyedKilledAfterNetworkSwept(_ store: TestStore, _ step: (action: String, point: String)) async throws {
        // Given an authorization of 2,000 (manual capture), made before the fault point is armed
        let (clean, held, ledgers) = try await Self.stoppedWithAuthorizations(1, store: store)
        defer { clean.kill() }
        let form: [(String, String)] =
            step.action == "capture"
            ? [("amount_to_capture", "1500"), ("metadata[order]", "7")] : [("cancellation_reason", "duplicate")]

        // When the step, sent without a key, reaches the point in a server that dies there
        try await Self.sendToServerDyingAt(
            step.point,
            of: clean,
            store: store,
            path: "/v1/payment_intents/\(held[0].intent)/\(step.action)",
            form: form,
            key: nil
        )

        // Then a sweeper pass past the grace period records what the network did, with what the request asked
        let swept = try await runToCompletion(
            try PaymentsBinary.path(),
            ["sweep", "--now", "+2m"] + clean.databaseArguments,
            environment: clean.commandEnvironment(),
            in: clean.folder
        )
        #expect(swept.termination == Termination(reason: .exit, status: 0), "\(swept)")
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let intent = try await server.paymentIntent(held[0].intent)
        if step.action == "capture" {
            #expect(intent["status"]?.string == "succeeded" && intent["amount_received"]?.int == 1500, "\(intent)")
            #expect(intent["metadata"]?["order"]?.string == "7", "\(intent)")
        } else {
            #expect(intent["status"]?.string == "canceled", "\(intent)")
            #expect(intent["cancellation_reason"]?.string == "duplicate", "\(intent)")
        }
        let hold = try Self.networkHold(held[0].charge, ledgers)
        #expect(step.action == "capture" ? hold.captured == 1500 && !hold.voided : hold.voided, "\(hold)")
        server.kill()
        server.removeFiles()
    }

    @Test(
        "two processes capture each of six authorizations at once, for the same amount: one answers 200, one is refused",
        arguments: TestStore.allCases
    )
    func sameAmountCapturesAcrossProcesses(_ store: TestStore) async throws {
        // Given two servers on one database and one card network, and six authorizations of 2,000
        // When each is captured for 1,500 by both servers at once (under a key each for half of them)
        try await Self.bothServersAtOnce(store, "capture", [("amount_to_capture", "1500")]) {
            payment,
            answers,
            server in
            // Then one capture answers 200 and the other is refused as a second capture, as Stripe refuses it (both
            // answered 200 when their network calls overlapped), and the network captured once
            #expect(answers.map(\.status).sorted() == [200, 400], "\(answers)")
            let refused = answers.first { $0.status == 400 }
            #expect(refused.map { "\($0)".contains("status of succeeded") } == true, "\(answers)")
            let intent = try await server.paymentIntent(payment.intent)
            #expect(intent["status"]?.string == "succeeded" && intent["amount_received"]?.int == 1500, "\(intent)")
            let hold = try Self.networkHold(payment.charge, Ledgers(folder: server.folder))
            #expect(hold.captured == 1500 && !hold.voided, "\(hold)")
        }
    }

    /// Starts two servers on one database and one card network and makes six authorizations of 2,000; sends each
    /// `POST /v1/payment_intents/:id/<action>` with `form` from both servers at once (under a key each for half of
    /// them), and hands `check` the authorization, the two answers and the first server.
    static func bothServersAtOnce(
        _ store: TestStore,
        _ action: String,
        _ form: [(String, String)],
        check: ((intent: String, charge: String), [HTTPAnswer], ServerProcess) async throws -> Void
    ) async throws {
        let first = try await ServerProcess.start(store: store)
        defer { first.kill() }
        let second = try await ServerProcess.start(store: store, folder: first.folder, keys: first.keys)
        defer { second.kill() }
        let held = try await Self.authorizations(6, on: first)
        for (index, payment) in held.enumerated() {
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for server in [first, second] {
                    group.addTask {
                        try await server.client.postForm(
                            "/v1/payment_intents/\(payment.intent)/\(action)",
                            form,
                            auth: server.secret,
                            headers: index.isMultiple(of: 2) ? [:] : ["Idempotency-Key": UUID().uuidString]
                        )
                    }
                }
                return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            try await check(payment, answers, first)
        }
        first.kill()
        second.kill()
        first.removeFiles()
    }

    @Test(
        "two processes cancel each of six authorizations at once, without a reason: one answers 200, one is refused",
        arguments: TestStore.allCases
    )
    func cancelsAcrossProcesses(_ store: TestStore) async throws {
        // Given two servers on one database and one card network, and six authorizations of 2,000
        // When each is canceled by both servers at once (under a key each for half of them)
        try await Self.bothServersAtOnce(store, "cancel", []) { payment, answers, server in
            // Then one cancel answers 200 and the other is refused as a second cancel, as Stripe refuses it (both
            // answered 200 when their network calls overlapped), and the network released the hold
            #expect(answers.map(\.status).sorted() == [200, 400], "\(answers)")
            let refused = answers.first { $0.status == 400 }
            #expect(refused.map { "\($0)".contains("status of canceled") } == true, "\(answers)")
            let intent = try await server.paymentIntent(payment.intent)
            #expect(intent["status"]?.string == "canceled" && intent["amount_received"]?.int == 0, "\(intent)")
            let hold = try Self.networkHold(payment.charge, Ledgers(folder: server.folder))
            #expect(hold.captured == 0 && hold.voided, "\(hold)")
        }
    }

    @Test(
        "a refund killed at a fault point, retried with its key after a restart: one refund, no over-refund",
        arguments: TestStore.allCases,
        refundPoints
    )
    func refundRetriedAfterCrash(_ store: TestStore, _ point: String) async throws {
        // Given a captured payment whose refund died at the point in a server, the client without an answer
        let key = UUID().uuidString
        let (clean, payment, afterCrash) = try await Self.refundKilled(at: point, store: store, key: key)
        defer { clean.kill() }
        let ledgers = Ledgers(folder: clean.folder)
        let form: [(String, String)] = [("payment_intent", payment.intent), ("amount", "2000")]

        // Then, on a restarted server, the retry with the key (refused while the dead request's lease runs)
        // completes that refund
        let server = try await ServerProcess.start(store: store, folder: clean.folder, keys: clean.keys)
        defer { server.kill() }
        let retry = try await server.client.postFormRetryingInFlight(
            "/v1/refunds",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        let refundID = try #require(try retry.json()["id"]?.string, "\(retry)")
        #expect(try retry.json()["status"]?.string == "succeeded", "\(retry)")
        #expect(Array(afterCrash.service.keys) == [refundID], "the retry made another refund: \(afterCrash)")
        let state = try await Self.refundState(charge: payment.charge, ledgers)
        #expect(
            state == RefundState(network: [refundID: 2000], service: [refundID: "succeeded"], amountRefunded: 2000),
            "\(state)"
        )
        let replay = try await server.client.postForm(
            "/v1/refunds",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.body == retry.body)

        // And the rest refunds once; nothing more is refundable
        let rest = try await server.client.postForm(
            "/v1/refunds",
            [("payment_intent", payment.intent)],
            auth: server.secret
        )
        #expect(rest.status == 200, "\(rest)")
        #expect(try rest.json()["amount"]?.int == 3000, "\(rest)")
        let more = try await server.client.postForm(
            "/v1/refunds",
            [("payment_intent", payment.intent), ("amount", "100")],
            auth: server.secret
        )
        #expect(more.status == 400, "an over-refund was accepted: \(more)")
        let final = try await Self.refundState(charge: payment.charge, ledgers)
        #expect(final.network.count == 2, "\(final)")
        #expect(final.network.values.reduce(0, +) == 5000, "\(final)")
        #expect(final.service.count == 2 && final.service.values.allSatisfy { $0 == "succeeded" }, "\(final)")
        #expect(final.amountRefunded == 5000, "\(final)")
        #expect(Set(final.network.keys) == Set(final.service.keys), "\(final)")
        server.kill()
        server.removeFiles()
    }
}
