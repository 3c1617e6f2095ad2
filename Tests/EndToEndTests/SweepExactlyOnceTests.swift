import Foundation
import GRDB
import TestSupport
import Testing

/// `payments sweep` against its three adversaries: a SIGKILL between its steps then a rerun, a second sweep at the
/// same time, and the server confirming the very intents it expires. Whatever happens, each expired attempt is
/// recorded once (one failed charge, one `payment_intent.payment_failed`), and each expired authorization is
/// released and canceled once.
@Suite("payments sweep exactly once: SIGKILL, reruns and races")
struct SweepExactlyOnceTests {
    /// Runs `payments sweep` on the server's database with `arguments` and the extra environment.
    static func sweep(
        _ server: ServerProcess,
        _ arguments: [String],
        environment: [String: String] = [:]
    ) async throws -> (termination: Termination, output: String) {
        try await runToCompletion(
            try PaymentsBinary.path(),
            ["sweep"] + server.databaseArguments + arguments,
            environment: PaymentsBinary.environment(environment),
            in: server.folder
        )
    }

    /// The count a sweep printed on the line `label`.
    static func count(_ label: String, in output: String) -> Int? {
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix(label + ":") else { continue }
            return Int(text.dropFirst(label.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    /// Creates `count` intents with `form`, confirmed at once; returns their ids after checking their status.
    static func intents(
        _ server: ServerProcess,
        count: Int,
        _ form: [(String, String)],
        status: String
    ) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<count {
            let answer = try await server.client.postForm("/v1/payment_intents", form, auth: server.secret)
            let intent = try answer.json()
            try #require(intent["status"]?.string == status, "\(answer)")
            ids.append(try #require(intent["id"]?.string))
        }
        return ids
    }

    /// An intent waiting for its 3-D Secure challenge (an attempt the sweeper expires after the window).
    static let challenged: [(String, String)] = [
        ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_authenticationRequired"),
        ("confirm", "true"),
    ]
    /// An uncaptured authorization (one the sweeper releases and cancels after 7 days).
    static let authorized: [(String, String)] = [
        ("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ("capture_method", "manual"),
    ]

    /// Per intent: its failed charges recording an expired attempt.
    static func expiredCharges(_ ledgers: Ledgers) throws -> [String: Int] {
        try ledgers.read("payments.sqlite") { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT payment_intent, count(*) AS n FROM charges
                    WHERE status = 'failed' AND failure_code = 'payment_intent_payment_attempt_expired'
                    GROUP BY payment_intent
                    """
            )
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["payment_intent"] as String, $0["n"] as Int) })
        }
    }

    /// Authorizations the card network holds voided, by attempt id, with what it captured of them.
    static func voided(_ ledgers: Ledgers) throws -> [String: Int64] {
        try ledgers.read("card-network.sqlite") { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT attempt_id, captured_amount FROM authorizations WHERE voided = 1"
            )
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["attempt_id"] as String, $0["captured_amount"]) })
        }
    }

    /// Every intent of `expired` ended its attempt once (status, error, one failed charge, one event), and every
    /// intent of `canceled` was released at the network and canceled once.
    static func expectSweptOnce(
        _ server: ServerProcess,
        expired: [String],
        canceled: [String],
        _ comment: String
    ) async throws {
        let ledgers = Ledgers(folder: server.folder)
        let charges = try Self.expiredCharges(ledgers)
        let failedEvents = try await ledgers.eventCounts(type: "payment_intent.payment_failed")
        for id in expired {
            let intent = try await server.paymentIntent(id)
            #expect(intent["status"]?.string == "requires_payment_method", "\(id) \(comment)")
            #expect(
                intent["last_payment_error"]?["code"]?.string == "payment_intent_payment_attempt_expired",
                "\(id) \(comment)"
            )
            #expect(charges[id] == 1, "\(id) has \(charges[id] ?? 0) expired attempts recorded \(comment)")
            #expect(failedEvents[id] == 1, "\(id) has \(failedEvents[id] ?? 0) payment_failed events \(comment)")
        }
        let canceledEvents = try await ledgers.eventCounts(type: "payment_intent.canceled")
        let expiredEvents = try await ledgers.eventCounts(type: "charge.expired")
        let voided = try Self.voided(ledgers)
        for id in canceled {
            let intent = try await server.paymentIntent(id)
            #expect(intent["status"]?.string == "canceled", "\(id) \(comment)")
            #expect(intent["cancellation_reason"]?.string == "automatic", "\(id) \(comment)")
            #expect(canceledEvents[id] == 1, "\(id) has \(canceledEvents[id] ?? 0) canceled events \(comment)")
            let charge = try #require(intent["latest_charge"]?.string)
            #expect(voided[charge] == 0, "\(charge) voided at the network, nothing captured \(comment)")
            #expect(expiredEvents[charge] == 1, "\(charge) released once \(comment)")
        }
    }

    @Test(
        "a sweep killed with SIGKILL at a step, run again, expires each attempt and cancels each authorization once",
        arguments: ["after-sweep-batch", "after-sweep-release"]
    )
    func killedAndRerun(point: String) async throws {
        try await withServer { server in
            // Given five abandoned challenges and three uncaptured authorizations, all due eight days from now
            let expired = try await Self.intents(server, count: 5, Self.challenged, status: "requires_action")
            let canceled = try await Self.intents(server, count: 3, Self.authorized, status: "requires_capture")
            let later = String(Int(Date().timeIntervalSince1970) + 8 * 86_400)

            // When a pass in batches of two, with a one-second lease on its rules, is killed with SIGKILL at the
            // fault point
            let killed = try await Self.sweep(
                server,
                ["--now", later, "--batch-size", "2"],
                environment: ["PAYMENTS_FAULT_POINT": point, "PAYMENTS_SWEEPER_LEASE": "1"]
            )
            #expect(killed.termination == Termination(reason: .uncaughtSignal, status: SIGKILL), "\(killed.output)")
            let ledgers = Ledgers(folder: server.folder)
            if point == "after-sweep-batch" {
                // Then only the first committed batch is done
                #expect(try await ledgers.intentIDs(status: "requires_payment_method").count == 2)
                #expect(try await ledgers.intentIDs(status: "requires_capture").count == 3)
            } else {
                // Then the attempts are expired and two authorizations released at the network, none canceled
                #expect(try await ledgers.intentIDs(status: "requires_payment_method").count == 5)
                #expect(try Self.voided(ledgers).count == 2)
                #expect(try await ledgers.intentIDs(status: "requires_capture").count == 3)
            }

            // When the pass runs again at the same time, once the dead pass's lease on its rule ran out
            // (SweeperLeaseTests shows a rerun before that skipping the rule)
            try await Task.sleep(for: .seconds(2.2))
            let rerun = try await Self.sweep(server, ["--now", later, "--batch-size", "2"])
            #expect(rerun.termination.isCleanExit, "\(rerun.output)")
            #expect(Self.count("attempts expired", in: rerun.output) == (point == "after-sweep-batch" ? 3 : 0))
            #expect(Self.count("authorizations canceled", in: rerun.output) == 3, "\(rerun.output)")
            // (and says how many the network had captured, recorded as captured: none here)
            #expect(Self.count("captures recorded", in: rerun.output) == 0, "\(rerun.output)")

            // Then every attempt expired once and every authorization was canceled once
            try await Self.expectSweptOnce(server, expired: expired, canceled: canceled, "after the rerun")

            // And a third pass finds nothing left to do
            let third = try await Self.sweep(server, ["--now", later])
            #expect(Self.count("attempts expired", in: third.output) == 0, "\(third.output)")
            #expect(Self.count("authorizations canceled", in: third.output) == 0, "\(third.output)")
            try await Self.expectSweptOnce(server, expired: expired, canceled: canceled, "after a third pass")
        }
    }

    @Test("two sweeps at once, in small batches, expire each attempt and cancel each authorization once")
    func concurrentSweeps() async throws {
        try await withServer { server in
            // Given 24 abandoned challenges and 8 uncaptured authorizations, due eight days from now
            let expired = try await Self.intents(server, count: 24, Self.challenged, status: "requires_action")
            let canceled = try await Self.intents(server, count: 8, Self.authorized, status: "requires_capture")
            let later = String(Int(Date().timeIntervalSince1970) + 8 * 86_400)

            // When two passes run at the same time, in batches of three
            async let first = Self.sweep(server, ["--now", later, "--batch-size", "3"])
            async let second = Self.sweep(server, ["--now", later, "--batch-size", "3"])
            let runs = try await [first, second]

            // Then both succeed, and between them they moved each row once
            for run in runs { #expect(run.termination.isCleanExit, "\(run.output)") }
            let expiredCounts = runs.compactMap { Self.count("attempts expired", in: $0.output) }
            let canceledCounts = runs.compactMap { Self.count("authorizations canceled", in: $0.output) }
            #expect(expiredCounts.reduce(0, +) == 24, "\(runs.map(\.output))")
            #expect(canceledCounts.reduce(0, +) == 8, "\(runs.map(\.output))")
            try await Self.expectSweptOnce(server, expired: expired, canceled: canceled, "after two racing passes")
        }
    }

    @Test(
        "a sweep that leaves due rows (the card network could not answer) says so and exits 1; the next one does them"
    )
    func sweepLeavingRowsFails() async throws {
        try await withServer { server in
            // Given two uncaptured authorizations and an abandoned challenge, due eight days from now
            let canceled = try await Self.intents(server, count: 2, Self.authorized, status: "requires_capture")
            let expired = try await Self.intents(server, count: 1, Self.challenged, status: "requires_action")
            let later = String(Int(Date().timeIntervalSince1970) + 8 * 86_400)

            // When a pass, held after its first batch (the expired attempt), releases the authorizations while the
            // card network cannot write (another process holds its ledger's write lock past its 5 s wait)
            let go = server.folder.appendingPathComponent("go").path
            async let run = Self.sweep(
                server,
                ["--now", later],
                environment: ["PAYMENTS_FAULT_POINT": "after-sweep-batch", "PAYMENTS_FAULT_ACTION": "hold:\(go)"]
            )
            let ledger = server.folder.appendingPathComponent("card-network.sqlite").path
            // (held once its first batch committed: the attempt recorded expired)
            let deadline = ContinuousClock.now + .seconds(60)
            while try await server.paymentIntent(expired[0])["status"]?.string == "requires_action" {
                try #require(ContinuousClock.now < deadline, "the pass never expired the attempt")
                try await Task.sleep(for: .milliseconds(50))
            }
            let lockEnded = try await HealthEndToEndTests.holdingWriteLock(of: ledger, seconds: 7)
            _ = FileManager.default.createFile(atPath: go, contents: nil)
            let unanswered = try await run
            try await offCooperativePool { lockEnded.wait() }

            // Then it says it left them, and exits 1 (it exited 0, and a cron job could not tell: a probe)
            #expect(unanswered.termination.reason == .exit && unanswered.termination.status == 1, "\(unanswered)")
            #expect(Self.count("skipped", in: unanswered.output) == 2, "\(unanswered.output)")
            #expect(unanswered.output.contains("2 due row(s) left for a later pass"), "\(unanswered.output)")
            // And the next pass, the network answering, releases both, once
            let answered = try await Self.sweep(server, ["--now", later])
            #expect(answered.termination.isCleanExit, "\(answered.output)")
            #expect(Self.count("authorizations canceled", in: answered.output) == 2, "\(answered.output)")
            try await Self.expectSweptOnce(server, expired: expired, canceled: canceled, "after the second pass")
        }
    }

    @Test("a sweep racing the server's confirms of the same due intents ends each attempt once")
    func sweepRacesConfirm() async throws {
        // A one-second confirmation window: the attempts are due for the server and for the sweep alike.
        try await withServer(environment: ["PAYMENTS_CONFIRMATION_WINDOW": "1"]) { server in
            // Given 16 challenges left past their window
            let ids = try await Self.intents(server, count: 16, Self.challenged, status: "requires_action")
            try await Task.sleep(for: .seconds(2.2))

            // When a pass runs while the server is asked to confirm each of them again
            async let swept = Self.sweep(server, [])
            let confirms = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for id in ids {
                    group.addTask {
                        try await server.client.postForm(
                            "/v1/payment_intents/\(id)/confirm",
                            [("payment_method", "pm_card_authenticationRequired")],
                            auth: server.secret
                        )
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let sweep = try await swept
            #expect(sweep.termination.isCleanExit, "\(sweep.output)")

            // Then every confirm answered: it expired the old attempt itself, or found it expired, and began a new
            // one with the card it names
            for answer in confirms {
                #expect(answer.status == 200, "\(answer)")
                #expect(try answer.json()["status"]?.string == "requires_action", "\(answer)")
            }
            // And every attempt that ended, ended once: one expired charge and one payment_failed event each,
            // whoever expired it, and never more than the attempts begun. (An attempt begun by the confirms may
            // itself be past its 1 s window by now without anyone having ended it yet: a retrieve shows it expired
            // while its row still waits for the sweeper, so the count of ended attempts comes from the rows.)
            let ledgers = Ledgers(folder: server.folder)
            let charges = try Self.expiredCharges(ledgers)
            let failed = try await ledgers.eventCounts(type: "payment_intent.payment_failed")
            let attempts = try await ledgers.eventCounts(type: "payment_intent.requires_action")
            for id in ids {
                let ended = charges[id] ?? 0
                #expect(ended >= 1, "\(id): the first attempt ended")
                #expect(
                    ended <= (attempts[id] ?? 0),
                    "\(id): \(ended) expired charges for \(attempts[id] ?? 0) attempts"
                )
                #expect(
                    failed[id] == ended,
                    "\(id): \(failed[id] ?? 0) payment_failed events for \(ended) ended attempts"
                )
            }
        }
    }
}
