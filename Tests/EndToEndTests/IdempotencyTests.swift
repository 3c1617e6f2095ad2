import Foundation
import Testing

/// `Idempotency-Key` over real HTTP against the built binary: replay, mismatch, in-flight conflict, replay after
/// a restart, and the races of "Never charge twice".
@Suite("Idempotency keys and races, end to end")
struct IdempotencyTests {
    static let visaIntent: [(String, String)] = [
        ("amount", "1099"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
    ]

    @Test("the same key and parameters replay the first response, also after a restart", arguments: TestStore.allCases)
    func replayAcrossRestart(_ store: TestStore) async throws {
        let first = try await ServerProcess.start(store: store)
        defer { first.kill() }
        let key = UUID().uuidString
        // Given a confirmed payment made with a key
        let original = try await first.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: first.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(original.status == 200, "\(original)")
        #expect(original.header("Idempotent-Replayed") == nil)
        // When it is sent again
        let again = try await first.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: first.secret,
            headers: ["Idempotency-Key": key]
        )
        // Then the saved bytes come back, marked as a replay, with a new request id
        #expect(again.status == 200)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.header("Original-Request") == original.header("Request-Id"))
        #expect(again.header("Request-Id") != original.header("Request-Id"))
        #expect(again.body == original.body)

        // And after a restart of the binary on the same database
        _ = await first.stop()
        let second = try await ServerProcess.start(store: store, folder: first.folder, keys: first.keys)
        defer { second.kill() }
        let afterRestart = try await second.client.postForm(
            "/v1/payment_intents",
            Self.visaIntent,
            auth: second.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(afterRestart.status == 200)
        #expect(afterRestart.header("Idempotent-Replayed") == "true")
        #expect(afterRestart.body == original.body)
        #expect(try Ledgers(folder: first.folder).networkApprovedAttempts().count == 1)
    }

    @Test(
        "the same key with other parameters or on another endpoint is a 400 idempotency_error",
        arguments: TestStore.allCases
    )
    func mismatch(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let key = UUID().uuidString
            let first = try await server.client.postForm(
                "/v1/payment_intents",
                Self.visaIntent,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(first.status == 200)
            var other = Self.visaIntent
            other[0] = ("amount", "2000")
            let changed = try await server.client.postForm(
                "/v1/payment_intents",
                other,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(changed.status == 400)
            #expect(try changed.json()["error"]?["type"]?.string == "idempotency_error")
            let elsewhere = try await server.client.postForm(
                "/v1/customers",
                [("email", "a@example.com")],
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(elsewhere.status == 400)
            #expect(try elsewhere.json()["error"]?["type"]?.string == "idempotency_error")
            // Parameter order does not matter: the same parameters in another order replay.
            let reordered = try await server.client.postForm(
                "/v1/payment_intents",
                Self.visaIntent.reversed(),
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(reordered.header("Idempotent-Replayed") == "true")
            // The first request's very bytes, replayed twice (the second time answered before parsing them, from
            // the first replay's note), then sent to another endpoint: still a mismatch there.
            for _ in 0..<2 {
                let again = try await server.client.postForm(
                    "/v1/payment_intents",
                    Self.visaIntent,
                    auth: server.secret,
                    headers: ["Idempotency-Key": key]
                )
                #expect(again.header("Idempotent-Replayed") == "true")
                #expect(again.body == first.body)
            }
            let sameBytesElsewhere = try await server.client.postForm(
                "/v1/customers",
                Self.visaIntent,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(sameBytesElsewhere.status == 400)
            #expect(try sameBytesElsewhere.json()["error"]?["type"]?.string == "idempotency_error")
        }
    }

    @Test(
        "a key whose first request is still running gets a 409, and validation failures save nothing",
        arguments: TestStore.allCases
    )
    func inFlightAndValidation(_ store: TestStore) async throws {
        // The first request waits after committing its attempt until the test lets it go (a debug-only fault
        // action), so it is still running when the second comes: the second is sent once the first holds the key
        // (seen in the database), and the first is released after the second's answer. The key's 30-second lease
        // outlasts any stall of a loaded machine between the two (the tests' default is 3 s).
        let release = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: release) }
        let held = [
            "PAYMENTS_FAULT_POINT": "after-attempt-commit", "PAYMENTS_FAULT_ACTION": "hold:\(release.path)",
            "PAYMENTS_IDEMPOTENCY_LEASE": "30",
        ]
        try await withServer(store: store, environment: held) { server in
            let key = UUID().uuidString
            async let first = server.client.postForm(
                "/v1/payment_intents",
                Self.visaIntent,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            try await LeaseTests.eventually("the first request holds the key") {
                try await LeaseTests.isHeld(key, Ledgers(folder: server.folder))
            }
            let second = try await server.client.postForm(
                "/v1/payment_intents",
                Self.visaIntent,
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(second.status == 409, "\(second)")
            #expect(try second.json()["error"]?["code"]?.string == "idempotency_key_in_use")
            try Data().write(to: release)
            #expect(try await first.status == 200)

            // A request that fails validation saves nothing: the corrected retry with the same key runs.
            let badKey = UUID().uuidString
            let invalid = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "abc"), ("currency", "usd")],
                auth: server.secret,
                headers: ["Idempotency-Key": badKey]
            )
            #expect(invalid.status == 400)
            let corrected = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1000"), ("currency", "usd")],
                auth: server.secret,
                headers: ["Idempotency-Key": badKey]
            )
            #expect(corrected.status == 200)
            #expect(corrected.header("Idempotent-Replayed") == nil)

            // Keys longer than Stripe's 255 characters are refused.
            let long = try await server.client.postForm(
                "/v1/customers",
                [],
                auth: server.secret,
                headers: ["Idempotency-Key": String(repeating: "k", count: 256)]
            )
            #expect(long.status == 400)
            // Counted in code points, as the store counts them: 200 characters of `e` and a combining accent are
            // 400 (a 400, never the store's 500), and 255 code points in 128 characters are stored and replayed.
            let combining = try await server.client.postForm(
                "/v1/customers",
                [],
                auth: server.secret,
                headers: ["Idempotency-Key": String(repeating: "e\u{301}", count: 200)]
            )
            #expect(combining.status == 400, "\(combining)")
            #expect(try combining.json()["error"]?["code"]?.string == "idempotency_key_invalid")
            // And a key refused is not named back in the answer's Idempotency-Key header (a probe), a stored one is
            #expect(long.header("Idempotency-Key") == nil && combining.header("Idempotency-Key") == nil)
            #expect(corrected.header("Idempotency-Key") == badKey)
            let longest = String(repeating: "e\u{301}", count: 127) + "k"
            for replay in [false, true] {
                let stored = try await server.client.postForm(
                    "/v1/customers",
                    [],
                    auth: server.secret,
                    headers: ["Idempotency-Key": longest]
                )
                #expect(stored.status == 200, "\(stored)")
                #expect((stored.header("Idempotent-Replayed") == "true") == replay)
            }
        }
    }

    @Test("a decline is saved and replayed as the same 402", arguments: TestStore.allCases)
    func declineReplays(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let key = UUID().uuidString
            let form: [(String, String)] = [
                ("amount", "1099"), ("currency", "usd"), ("confirm", "true"),
                ("payment_method", "pm_card_chargeDeclinedInsufficientFunds"),
            ]
            let first = try await server.client.postForm(
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
            #expect(first.status == 402)
            #expect(again.status == 402)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(again.body == first.body)
            let listed = try await server.client.get("/v1/payment_intents", auth: server.secret)
            #expect(try listed.json()["data"]?.array?.count == 1)
        }
    }

    @Test("50 concurrent confirms of one intent: one charge at the network", arguments: TestStore.allCases)
    func concurrentConfirms(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let created = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "4200"), ("currency", "usd"), ("payment_method", "pm_card_visa")],
                auth: server.secret
            )
            let id = try #require(try created.json()["id"]?.string)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await server.client.postForm(
                            "/v1/payment_intents/\(id)/confirm",
                            [],
                            auth: server.secret
                        ).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // Exactly one confirm moved money; the others lost with a 400 (unexpected state) or saw it done.
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 400 }, "\(statuses)")
            #expect(statuses.contains(200))
            let intent = try await server.client.get("/v1/payment_intents/\(id)", auth: server.secret).json()
            #expect(intent["status"]?.string == "succeeded")
            #expect(intent["amount_received"]?.int == 4200)
            let ledgers = Ledgers(folder: server.folder)
            #expect(try ledgers.networkApprovedAttempts().count == 1)
            #expect(try await ledgers.succeededCharges().count == 1)
        }
    }

    @Test("50 concurrent creates with one idempotency key: one intent", arguments: TestStore.allCases)
    func concurrentCreatesWithOneKey(_ store: TestStore) async throws {
        try await withServer(store: store) { server in
            let key = UUID().uuidString
            let answers = try await withThrowingTaskGroup(of: HTTPAnswer.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        try await server.client.postForm(
                            "/v1/payment_intents",
                            Self.visaIntent,
                            auth: server.secret,
                            headers: ["Idempotency-Key": key]
                        )
                    }
                }
                return try await group.reduce(into: [HTTPAnswer]()) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == 200 || $0.status == 409 }, "\(answers.map(\.status))")
            let ids = Set(try answers.filter { $0.status == 200 }.map { try $0.json()["id"]?.string ?? "" })
            #expect(ids.count == 1)
            // Every 409 says how long a holder that died keeps the key, whichever way it found the key held (at its
            // start, or after finding it new and losing the race to insert it): a probe saw two wordings
            let conflicts = try answers.filter { $0.status == 409 }.map { try $0.json()["error"]?["message"]?.string }
            for message in conflicts {
                #expect(message?.contains("a retry after at most") == true, "\(message ?? "no message")")
            }
            let ledgers = Ledgers(folder: server.folder)
            #expect(try await ledgers.intentCount() == 1)
            #expect(try ledgers.networkApprovedAttempts().count == 1)
        }
    }
}
