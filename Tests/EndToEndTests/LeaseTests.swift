import Foundation
import Testing

/// Idempotency leases across two `payments serve` processes on one database: a key in flight in one is refused
/// by the other (409) and then replayed by it; a key whose holder died is taken over only once its lease has run
/// out, and the new holder completes the dead one's attempt instead of charging again.
@Suite("Idempotency leases across server processes")
struct LeaseTests {
    static let visaIntent = IdempotencyTests.visaIntent

    /// Polls `condition` until it holds; throws when it still does not after `timeout`.
    static func eventually(
        _ what: String,
        timeout: Duration = .seconds(30),
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw EndToEndError("\(what): not within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Whether some request holds `key` right now (its row has a lease).
    static func isHeld(_ key: String, _ ledgers: Ledgers) async throws -> Bool {
        try await ledgers.count("SELECT count(*) FROM idempotency_keys WHERE key = ? AND locked_by IS NOT NULL", [key])
            > 0
    }

    /// Sends a payment with `key` to `dying`, a server set to die at a fault point, and reaps it: the request is
    /// never answered.
    static func payUntilDeath(_ dying: ServerProcess, key: String) async {
        let lost = try? await dying.client.postForm(
            "/v1/payment_intents",
            visaIntent,
            auth: dying.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(lost == nil, "the request was answered: \(String(describing: lost))")
        let termination = await dying.stop(signal: SIGKILL)
        #expect(termination?.reason == .uncaughtSignal, "\(String(describing: termination))\n\(dying.diagnostics)")
    }

    /// The charges of `intent`: attempt id → status.
    static func charges(of intent: String, _ ledgers: Ledgers) async throws -> [String: String] {
        try await ledgers.query("SELECT id, status FROM charges WHERE payment_intent = ?", [intent])
            .reduce(into: [String: String]()) { $0[$1[0]] = $1[1] }
    }

    @Test(
        "a key in flight in server A is refused by server B (409), then B replays A's answer",
        arguments: TestStore.allCases
    )
    func inFlightAcrossServers(_ store: TestStore) async throws {
        // Given two servers on one database, A holding each payment after its attempt's commit until the test
        // lets it go (a debug-only fault action: the window lasts as long as the test needs, however loaded the
        // machine)
        let release = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: release) }
        let leases = ["PAYMENTS_IDEMPOTENCY_LEASE": "30"]
        let a = try await ServerProcess.start(
            store: store,
            environment: leases.merging([
                "PAYMENTS_FAULT_POINT": "after-attempt-commit", "PAYMENTS_FAULT_ACTION": "hold:\(release.path)",
            ]) { _, new in new }
        )
        defer { a.kill() }
        let b = try await ServerProcess.start(store: store, folder: a.folder, keys: a.keys, environment: leases)
        defer { b.kill() }
        #expect(a.port != b.port)
        let ledgers = Ledgers(folder: a.folder)
        let key = UUID().uuidString

        // When a payment with a key is in flight in A
        async let first = a.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: a.secret,
            headers: ["Idempotency-Key": key]
        )
        try await Self.eventually("A holds the key") { try await Self.isHeld(key, ledgers) }

        // Then B refuses the same key while A holds it
        let refused = try await b.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: b.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(refused.status == 409, "\(refused)\n\(b.diagnostics)")
        #expect(try refused.json()["error"]?["code"]?.string == "idempotency_key_in_use", "\(refused)")
        #expect(refused.header("Stripe-Should-Retry") == "true", "\(refused.headers)")

        // And once A has answered, B replays A's answer byte for byte
        try Data().write(to: release)
        let original = try await first
        #expect(original.status == 200, "\(original)\n\(a.diagnostics)")
        #expect(try original.json()["status"]?.string == "succeeded", "\(original)")
        let replay = try await b.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: b.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(replay.status == 200, "\(replay)")
        #expect(replay.header("Idempotent-Replayed") == "true", "\(replay.headers)")
        #expect(replay.body == original.body)

        // And the card network approved one authorization, for one intent
        #expect(try ledgers.networkApprovedAttempts().count == 1)
        #expect(try await ledgers.intentCount() == 1)
        #expect(try await ledgers.intentsChargedTwice().isEmpty)
    }

    @Test(
        "a key whose holder died is refused until its lease runs out, then taken over: one charge",
        arguments: TestStore.allCases
    )
    func takeoverAfterLease(_ store: TestStore) async throws {
        // Given server B running, and server A2 on the same database that dies once a charge attempt is committed
        // (both with a 30-second lease: long enough that B's first try comes before it runs out on a loaded machine;
        // a full run's test process has been seen to take over 10 s between the two)
        let b = try await ServerProcess.start(store: store, environment: ["PAYMENTS_IDEMPOTENCY_LEASE": "30"])
        defer { b.kill() }
        let dying = try await ServerProcess.start(
            store: store,
            folder: b.folder,
            keys: b.keys,
            environment: ["PAYMENTS_FAULT_POINT": "after-attempt-commit", "PAYMENTS_IDEMPOTENCY_LEASE": "30"]
        )
        defer { dying.kill() }
        let ledgers = Ledgers(folder: b.folder)
        let key = UUID().uuidString

        // When a payment with a key dies in A2 after recording its attempt
        await Self.payUntilDeath(dying, key: key)

        // Then B refuses the key at once: the dead holder's lease has not run out
        let refused = try await b.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: b.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(refused.status == 409, "\(refused)\n\(b.diagnostics)")
        #expect(try refused.json()["error"]?["code"]?.string == "idempotency_key_in_use", "\(refused)")
        // And says when a dead holder's key is free again
        let message = try #require(try refused.json()["error"]?["message"]?.string)
        #expect(message.contains("Should the process running it have stopped, a retry after at most"), "\(message)")
        let intents = try await ledgers.intentIDs(status: "processing")
        #expect(intents.count == 1, "the dead request left \(intents)")
        let intent = try #require(intents.first)
        let pending = try await Self.charges(of: intent, ledgers)
        #expect(Array(pending.values) == ["pending"], "\(pending)")
        let leaseEnd = try #require(
            try await ledgers.query("SELECT locked_until FROM idempotency_keys WHERE key = ?", [key]).first?.first
                .flatMap { Int64($0) },
            "the dead request's key has no lease"
        )

        // And once the lease has run out, B takes the key over and completes the dead request's attempt
        let retry = try await b.client.postFormRetryingInFlight(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: b.secret,
            headers: ["Idempotency-Key": key],
            patience: .seconds(60)
        )
        #expect(retry.status == 200, "\(retry)\n\(b.diagnostics)")
        let answeredAt = Int64(Date().timeIntervalSince1970)
        #expect(answeredAt >= leaseEnd, "taken over at \(answeredAt), before the lease ran out at \(leaseEnd)")
        let json = try retry.json()
        #expect(json["id"]?.string == intent, "the retry answered another intent: \(json)")
        #expect(json["status"]?.string == "succeeded", "\(json)")
        #expect(json["amount_received"]?.int == 1099, "\(json)")
        let charges = try await Self.charges(of: intent, ledgers)
        #expect(charges == pending.mapValues { _ in "succeeded" }, "not the dead request's attempt: \(charges)")
        let approved = try ledgers.networkApprovedAttempts()
        #expect(approved == Set(charges.keys), "network \(approved), service \(charges)")
        #expect(try await ledgers.pendingCharges() == 0)
        #expect(try await ledgers.intentCount() == 1)
        let replay = try await b.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: b.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.body == retry.body)
    }

    @Test(
        "a payment in flight when its server is killed completes within a client library's retries after a restart",
        arguments: TestStore.allCases
    )
    func libraryRetriesOutlastACrash(_ store: TestStore) async throws {
        // Given a server with the default lease and network time limit (the tests' children run with shorter ones)
        // that dies once a payment's attempt is committed
        let defaults = ["PAYMENTS_IDEMPOTENCY_LEASE": "6", "PAYMENTS_NETWORK_TIMEOUT": "10"]
        let dying = try await ServerProcess.start(
            store: store,
            environment: defaults.merging(["PAYMENTS_FAULT_POINT": "after-attempt-commit"]) { _, new in new }
        )
        defer { dying.kill() }
        let ledgers = Ledgers(folder: dying.folder)
        let key = UUID().uuidString
        await Self.payUntilDeath(dying, key: key)

        // When it is started again on its database, and the request is retried as the official libraries retry
        // with max_network_retries=5: after 0.5, 1, 2, 4 and 5 s (their longest waits; jitter shortens them at
        // random), on any answer that says Stripe-Should-Retry: true, counted from when the server is back
        let restarted = try await ServerProcess.start(
            store: store,
            folder: dying.folder,
            keys: dying.keys,
            environment: defaults
        )
        defer { restarted.kill() }
        var answers: [Int] = []
        var answer: HTTPAnswer?
        for wait in [0.5, 1, 2, 4, 5] {
            try await Task.sleep(for: .seconds(wait))
            guard
                let response = try? await restarted.client.postForm(
                    "/v1/payment_intents",
                    Self.visaIntent,
                    auth: restarted.secret,
                    headers: ["Idempotency-Key": key]
                )
            else { continue }
            answers.append(response.status)
            answer = response
            if response.header("Stripe-Should-Retry") != "true" { break }
        }

        // Then a retry gets the payment, made once: the dead process's hold on the key ran out in time (with a
        // 30-second lease, every retry got 409 and the library raised an error for a payment that was made)
        let paid = try #require(answer, "no answer: \(answers)\n\(restarted.diagnostics)")
        #expect(paid.status == 200, "answers \(answers): \(paid)\n\(restarted.diagnostics)")
        #expect(try paid.json()["status"]?.string == "succeeded", "\(paid)")
        #expect(try await ledgers.intentCount() == 1)
        #expect(try ledgers.networkApprovedAttempts().count == 1)
        #expect(try await ledgers.intentsChargedTwice().isEmpty)
    }
}
