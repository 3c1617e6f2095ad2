import Crypto
import Foundation
import GRDB
import Payments
import PaymentsCore
import PaymentsNetwork
import PaymentsStore
import TestSupport
import Testing

/// The owner of idempotency keys: one test per outcome (new, replay, mismatch, in flight, lease run out), the
/// fencing of a holder that lost its lease, and what release keeps.
@Suite("Idempotency keys and their leases")
struct IdempotencyKeysTests {
    /// A request under `key` with `parameters` on the intents endpoint.
    static func request(_ key: String, parameters: String = "amount=2000\n") -> IdempotencyKeys.Request {
        IdempotencyKeys.Request(
            apiKey: "test-scope",
            key: key,
            method: "POST",
            path: "/v1/payment_intents",
            parameters: parameters,
            requestID: "req_\(key)"
        )
    }

    /// Begins `key` and expects this request to run it; a new key is then claimed as the request's first write
    /// would claim it (an empty transaction made while holding the lease).
    static func run(_ environment: TestEnvironment, _ key: String) async throws -> IdempotencyLease {
        try await run(environment, request(key))
    }

    /// Begins `request` and expects it to run; claims a new key as its first write would.
    static func run(_ environment: TestEnvironment, _ request: IdempotencyKeys.Request) async throws
        -> IdempotencyLease
    {
        guard case .run(let lease) = try await environment.idempotency.begin(request) else {
            Issue.record("expected to run \(request.key)")
            throw CancellationError()
        }
        try await environment.idempotency.holding(lease) { try await environment.context.database.write { _ in } }
        return lease
    }

    /// Runs `key` to its end, saving `body` as its response with `status`; returns the saved response.
    static func finished(_ environment: TestEnvironment, _ key: String, saving body: String, status: Int = 200)
        async throws -> SavedResponse
    {
        let lease = try await run(environment, key)
        let saved = SavedResponse(status: status, body: Array(body.utf8))
        try await environment.idempotency.finish(lease, response: saved)
        return saved
    }

    /// A scope that saves the intent's id and status as its response.
    static func scope(_ lease: IdempotencyLease) -> IdempotencyScope {
        IdempotencyScope(lease: lease) { outcome in
            guard case .paymentIntent(let bundle, let error, _) = outcome else {
                return SavedResponse(status: 500, body: [])
            }
            let text = "\(bundle.intent.id) \(bundle.intent.status.rawValue)"
            return SavedResponse(status: error?.status ?? 200, body: Array(text.utf8))
        }
    }

    /// The stored row of `key`.
    static func row(_ environment: TestEnvironment, _ key: String) async throws -> IdempotencyKey? {
        try await environment.database.read { tx in try tx.idempotencyKey(apiKey: "test-scope", key: key) }
    }

    @Test("A new key runs under a lease; the same key is in flight until the lease runs out")
    func newThenInFlight() async throws {
        // Given a key begun at t0 with a 30-second lease
        let environment = try TestEnvironment(idempotencyLease: 30)
        let lease = try await Self.run(environment, "k1")
        #expect(lease.until == environment.clock.now + 30)
        #expect(lease.resumeIntent == nil && lease.resumeCharge == nil && lease.resumeRefund == nil)
        // When the same key comes again within the lease, then it is in flight
        environment.clock.advance(by: 29)
        #expect(try await environment.idempotency.begin(Self.request("k1")) == .inFlight(until: lease.until))
        // And once the lease has run out, the next request takes the key over with a new token
        environment.clock.advance(by: 1)
        let takeover = try await Self.run(environment, "k1")
        #expect(takeover.token != lease.token)
        #expect(try await Self.row(environment, "k1")?.lockedBy == takeover.token)
    }

    @Test("A finished key replays its saved bytes and the first request's id")
    func replay() async throws {
        let environment = try TestEnvironment()
        let saved = try await Self.finished(environment, "k2", saving: "{\"ok\":true}", status: 201)
        #expect(
            try await environment.idempotency.begin(Self.request("k2")) == .replay(saved, originalRequest: "req_k2")
        )
        let row = try #require(try await Self.row(environment, "k2"))
        #expect(row.lockedBy == nil && row.lockedUntil == nil)
        #expect(row.expiresAt == row.created + IdempotencyKeys.apiKeyLifetime)
    }

    /// The digest of `body` sent as a form.
    static func digest(_ body: String, contentType: String? = "application/x-www-form-urlencoded") -> RequestBodyDigest
    {
        Array(body.utf8).withUnsafeBytes { RequestBodyDigest(contentType: contentType, body: $0) }
    }

    @Test("A body once replayed replays again before it is parsed, for its very bytes, method and path only")
    func replayOfTheSameBytes() async throws {
        // Given a finished key
        let environment = try TestEnvironment()
        let saved = try await Self.finished(environment, "k-bytes", saving: "{\"id\":\"pi_1\"}")
        let keys = environment.idempotency
        let body = Self.digest("amount=2000")
        func replayed(_ digest: RequestBodyDigest, path: String = "/v1/payment_intents", method: String = "POST")
            -> IdempotencyKeys.Decision?
        {
            keys.replayed(apiKey: "test-scope", key: "k-bytes", method: method, path: path, body: digest)
        }
        // Before any request with these bytes was replayed, nothing is answered without parsing
        #expect(replayed(body) == nil)
        // When a request with them replays through the begin phase (its parameters found to be the key's)
        var request = Self.request("k-bytes")
        request.body = body
        #expect(try await keys.begin(request) == .replay(saved, originalRequest: "req_k-bytes"))
        // Then the same bytes replay at once, and nothing else does
        #expect(replayed(body) == .replay(saved, originalRequest: "req_k-bytes"))
        #expect(replayed(Self.digest("amount=2001")) == nil)
        #expect(replayed(Self.digest("amount=2000", contentType: "application/json")) == nil)
        #expect(replayed(body, path: "/v1/refunds") == nil)
        #expect(replayed(body, method: "PUT") == nil)
        #expect(
            keys.replayed(
                apiKey: "other-scope",
                key: "k-bytes",
                method: "POST",
                path: "/v1/payment_intents",
                body: body
            )
                == nil
        )
        // A mismatch through the begin phase notes nothing
        var other = Self.request("k-bytes", parameters: "amount=2001\n")
        other.body = Self.digest("amount=2001")
        await #expect(throws: PaymentError.self) { try await keys.begin(other) }
        #expect(replayed(Self.digest("amount=2001")) == nil)
        // And once the key has expired, its bytes go through the begin phase again
        environment.clock.advance(by: IdempotencyKeys.apiKeyLifetime)
        #expect(replayed(body) == nil)
    }

    @Test("A body's digest covers its content type and every byte, and is keyed")
    func bodyDigests() {
        #expect(Self.digest("amount=2000") == Self.digest("amount=2000"))
        #expect(Self.digest("amount=2000") != Self.digest("amount=2001"))
        #expect(Self.digest("amount=2000") != Self.digest("amount=2000", contentType: nil))
        // The type and the body are kept apart: moving bytes from one to the other changes the digest
        #expect(Self.digest("x=1", contentType: "a") != Self.digest("ax=1", contentType: ""))
        // Keyed: not the plain SHA-256 of the type, a zero byte and the body
        var plain = SHA256()
        plain.update(data: Array("application/x-www-form-urlencoded".utf8) + [0] + Array("amount=2000".utf8))
        let words = plain.finalize().withUnsafeBytes { bytes in
            (0..<4).map { bytes.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
        let mirror = Mirror(reflecting: Self.digest("amount=2000")).children.compactMap { $0.value as? UInt64 }
        #expect(mirror.count == 4)
        #expect(mirror != words)
    }

    @Test("Other parameters or another endpoint are an idempotency_error, and change nothing")
    func mismatch() async throws {
        let environment = try TestEnvironment()
        _ = try await Self.run(environment, "k3")
        let before = try await Self.row(environment, "k3")
        let parameters = await #expect(throws: PaymentError.self) {
            try await environment.idempotency.begin(Self.request("k3", parameters: "amount=2001\n"))
        }
        #expect(parameters?.kind == .idempotency && parameters?.status == 400)
        var elsewhere = Self.request("k3")
        elsewhere.path = "/v1/refunds"
        let endpoint = await #expect(throws: PaymentError.self) { try await environment.idempotency.begin(elsewhere) }
        #expect(endpoint?.kind == .idempotency)
        #expect(endpoint?.message.contains("/v1/refunds") == true)
        #expect(try await Self.row(environment, "k3") == before)
    }

    @Test("Keys must be 1 to 255 characters, counted in code points as the stores count them")
    func keyLength() async throws {
        let environment = try TestEnvironment()
        // 200 characters of `e` and a combining acute accent: 400 code points
        let combining = String(repeating: "e\u{301}", count: 200)
        #expect(combining.count == 200)
        for key in ["", String(repeating: "k", count: 256), combining] {
            let error = await #expect(throws: PaymentError.self) {
                try await environment.idempotency.begin(Self.request(key))
            }
            #expect(error?.code == "idempotency_key_invalid")
        }
        #expect(try await Self.row(environment, combining) == nil)
        // The longest keys are stored: 255 code points, whatever their characters and bytes
        _ = try await Self.run(environment, String(repeating: "k", count: 255))
        _ = try await Self.run(environment, String(repeating: "é", count: 255))
        let longest = String(repeating: "e\u{301}", count: 127) + "k"
        _ = try await Self.run(environment, longest)
        #expect(try await Self.row(environment, longest) != nil)
    }

    @Test("Release forgets a key that never executed, and only unlocks one with a recovery point")
    func release() async throws {
        let environment = try TestEnvironment()
        // A key whose request failed validation is forgotten
        let fresh = try await Self.run(environment, "k4")
        try await environment.idempotency.release(fresh)
        #expect(try await Self.row(environment, "k4") == nil)
        // A key whose request recorded progress keeps it, unlocked, so the retry resumes at once
        let progressed = try await Self.run(environment, "k6")
        try await environment.database.write { tx in
            try tx.markIdempotentProgress(
                apiKey: "test-scope",
                key: "k6",
                token: progressed.token,
                point: .intentCreated,
                paymentIntent: "pi_created"
            )
        }
        try await environment.idempotency.release(progressed)
        let row = try #require(try await Self.row(environment, "k6"))
        #expect(row.recoveryPoint == .intentCreated && row.paymentIntent == "pi_created")
        #expect(row.lockedBy == nil)
        // And the retry resumes from it; a release by the earlier holder, whose lease is gone, does nothing
        let retry = try await Self.run(environment, "k6")
        #expect(retry.resumeIntent == "pi_created")
        try await environment.idempotency.release(progressed)
        #expect(try await Self.row(environment, "k6")?.lockedBy == retry.token)
    }

    @Test(
        "A create that ends in its own transaction names its intent on the key, with no progress mark of its own",
        arguments: [
            ("declined", "4000000000000002", true), ("challenged", "4000002760003184", true),
            ("unconfirmed", "4242424242424242", false), ("paid", "4242424242424242", true),
        ]
    )
    func createNamesItsIntent(_ key: String, _ number: String, _ confirm: Bool) async throws {
        let environment = try TestEnvironment()
        let card = try await environment.card(number)
        let lease = try await Self.run(environment, key)
        let input = PaymentIntents.CreateInput(amount: 2_000, currency: "usd", paymentMethod: card.id, confirm: confirm)
        let intent: String
        do {
            intent = try await environment.intents.create(input, scope: Self.scope(lease)).id
        } catch let error as PaymentError {
            intent = try #require(error.paymentIntent, "\(error)")
        }
        let row = try #require(try await Self.row(environment, key))
        #expect(row.paymentIntent == intent && row.recoveryPoint == .finished && row.lockedBy == nil, "\(row)")
    }

    @Test("A holder whose lease ran out is fenced: its writes fail and the new holder's answer stands")
    func fencing() async throws {
        // Given A holding a key, whose lease runs out, and B taking the key over
        let environment = try TestEnvironment(idempotencyLease: 30)
        let card = try await environment.card("4242424242424242")
        let a = try await Self.run(environment, "k7")
        environment.clock.advance(by: 31)
        let b = try await Self.run(environment, "k7")
        // When A, late, tries to create and confirm under its lost lease
        let lost = await #expect(throws: PaymentError.self) {
            try await environment.intents.create(
                .init(amount: 2_000, currency: "usd", paymentMethod: card.id, confirm: true),
                scope: Self.scope(a)
            )
        }
        // Then it is refused, and nothing it did is stored: no intent, no charge, nothing asked of the network
        #expect(lost?.status == 409 && lost?.code == "idempotency_key_in_use")
        #expect(try environment.count("payment_intents") == 0)
        #expect(try environment.count("charges") == 0)
        #expect(try environment.approvedAtNetwork() == 0)
        #expect(environment.context.attempts.count == 0)
        // And B, the holder, pays once and saves the answer, which later requests replay
        let bScope = Self.scope(b)
        let paid = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: card.id, confirm: true),
            scope: bScope
        )
        #expect(paid.status == .succeeded)
        let saved = try #require(bScope.savedResponse)
        #expect(String(decoding: saved.body, as: UTF8.self) == "\(paid.id) succeeded")
        #expect(
            try await environment.idempotency.begin(Self.request("k7")) == .replay(saved, originalRequest: "req_k7")
        )
        // A's finish after the fact is refused too
        let late = await #expect(throws: PaymentError.self) {
            try await environment.idempotency.finish(a, response: SavedResponse(status: 200, body: []))
        }
        #expect(late?.status == 409)
    }

    @Test("A request's lease is renewed while it runs, however long, and no longer once it ends")
    func renewedWhileHeld() async throws {
        // Given a 4-second lease (renewed every second: leases are whole seconds, so a renewed one runs at least 3)
        // and a request holding its key
        let environment = try TestEnvironment(idempotencyLease: 4)
        let renewal = environment.context.leaseRenewal
        #expect(renewal.interval == .seconds(1))
        guard case .run(let lease) = try await environment.idempotency.begin(Self.request("k9")) else {
            Issue.record("expected to run k9")
            return
        }
        try await environment.idempotency.holding(lease) {
            try await environment.context.database.write { _ in }
            #expect(renewal.count == 1)
            // When the request runs 5 s past its lease (the clock moved on) and a renewal comes round
            environment.clock.advance(by: 9)
            let renewed = environment.clock.now + 4
            let deadline = ContinuousClock.now + .seconds(30)
            while try await Self.row(environment, "k9")?.lockedUntil != renewed {
                guard ContinuousClock.now < deadline else { throw CancellationError() }
                try await Task.sleep(for: .milliseconds(20))
            }
            // Then another request with the key is refused: the holder is alive
            #expect(try await environment.idempotency.begin(Self.request("k9")) == .inFlight(until: renewed))
        }
        // And once the request has ended without finishing, nothing renews its lease: after it, the key is taken over
        #expect(renewal.count == 0)
        environment.clock.advance(by: 5)
        let row = try #require(try await Self.row(environment, "k9"))
        #expect(row.lockedBy == lease.token)
        guard case .run(let next) = try await environment.idempotency.begin(Self.request("k9")) else {
            Issue.record("expected the dead lease of k9 to be taken over")
            return
        }
        #expect(next.token != lease.token)
    }

    @Test("A claim on an orphaned attempt is undone when its transaction rolls back")
    func registryUndoneOnRollback() async throws {
        // Given an intent left processing by a crash after the network approved
        let ledgerPath = try TestPaths.temporaryFolder().appendingPathComponent("ledger.sqlite").path
        let network = CrashingNetwork(ledger: try TestModeCardNetwork(ledgerPath: ledgerPath), moment: .afterNetwork)
        let environment = try TestEnvironment(network: network, idempotencyLease: 30)
        let left = try await CrashRecoveryTests.crash(environment)
        #expect(left.status == .processing)
        let pending = try #require(left.latestCharge)
        // And a confirm under a lease that was lost meanwhile: its first phase claims the orphaned attempt, then
        // fails to record its progress and rolls back
        let stale = try await Self.run(environment, "k8")
        environment.clock.advance(by: 31)
        _ = try await Self.run(environment, "k8")
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(left.id, .init(), scope: Self.scope(stale))
        }
        #expect(error?.status == 409)
        // Then the claim was undone with the transaction: the attempt is not "in flight" in this process
        #expect(!environment.context.attempts.contains(pending))
        #expect(environment.context.attempts.count == 0)
        // So the next confirm settles the orphaned attempt (instead of a 400 for ever), charged once
        let settled = try await environment.intents.confirm(left.id, .init())
        #expect(settled.status == .succeeded)
        #expect(settled.latestCharge == pending)
        #expect(try network.ledger.approvedCount() == 1)
    }

    @Test("Fingerprints are keyed: the stored hash is not the plain SHA-256 of the parameters")
    func keyedFingerprint() async throws {
        // Given a request carrying a card number and a CVC
        let environment = try TestEnvironment()
        let parameters = "card[cvc]=123\ncard[number]=4242424242424242\ntype=card\n"
        var request = Self.request("k9", parameters: parameters)
        request.path = "/v1/payment_methods"
        _ = try await Self.run(environment, request)
        // Then the stored fingerprint cannot be recomputed from the parameters without the vault key
        let stored = try #require(
            try await environment.database.read { tx in
                try tx.idempotencyKey(apiKey: "test-scope", key: "k9")
            }
        )
        let canonical = "POST /v1/payment_methods\n\(parameters)"
        let plain = Array(SHA256.hash(data: Data(canonical.utf8))).hexString
        #expect(stored.fingerprint != plain)
        #expect(stored.fingerprint.count == 64)
        // And a vault with another key fingerprints the same request differently
        let other = try CardVault(base64Key: Data(repeating: 7, count: 32).base64EncodedString())
        #expect(other.requestFingerprint(canonical) != stored.fingerprint)
        #expect(environment.context.vault.requestFingerprint(canonical) == stored.fingerprint)
    }

    @Test("A new key is written by the request's first write transaction, not by the begin phase")
    func newKeyClaimedByFirstWrite() async throws {
        // Given a new key begun: nothing is written yet
        let environment = try TestEnvironment()
        guard case .run(let lease) = try await environment.idempotency.begin(Self.request("k10")) else {
            Issue.record("expected to run k10")
            return
        }
        #expect(lease.claim != nil)
        #expect(try await Self.row(environment, "k10") == nil)
        // When the request's first write commits (here: a customer), the key row commits with it, held by the lease
        let customer = try await environment.idempotency.holding(lease) {
            try await environment.customers.create(.init(email: "first@example.com"))
        }
        let row = try #require(try await Self.row(environment, "k10"))
        #expect(row.lockedBy == lease.token && row.recoveryPoint == .started && row.requestID == "req_k10")
        #expect(row.expiresAt == row.created + IdempotencyKeys.apiKeyLifetime)
        // And the request's later writes are fenced by the same token as before
        try await environment.idempotency.finish(
            lease,
            response: SavedResponse(status: 200, body: Array(customer.id.utf8))
        )
        #expect(try await Self.row(environment, "k10")?.recoveryPoint == .finished)
    }

    @Test("A request that fails before writing leaves no key, and its release writes nothing")
    func newKeyNeverClaimed() async throws {
        let environment = try TestEnvironment()
        guard case .run(let lease) = try await environment.idempotency.begin(Self.request("k11")) else {
            Issue.record("expected to run k11")
            return
        }
        try await environment.idempotency.release(lease)
        #expect(try await Self.row(environment, "k11") == nil)
        // So a corrected retry runs anew
        guard case .run = try await environment.idempotency.begin(Self.request("k11", parameters: "amount=1\n")) else {
            Issue.record("expected the retry to run")
            return
        }
    }

    @Test("Two requests with one new key: the first write claims it; the other's write commits nothing")
    func newKeyRace() async throws {
        // Given two requests that both began a new key before either wrote (both found no row)
        let environment = try TestEnvironment()
        guard case .run(let first) = try await environment.idempotency.begin(Self.request("k12")),
            case .run(let second) = try await environment.idempotency.begin(Self.request("k12"))
        else {
            Issue.record("expected both to run")
            return
        }
        // When the first creates and confirms an intent under its scope
        let paid = try await environment.idempotency.holding(first) {
            try await environment.intents.create(
                .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true),
                scope: Self.scope(first)
            )
        }
        #expect(paid.status == .succeeded)
        // Then the second's first write finds the key taken and rolls back: no second intent, charge or payment
        await #expect(throws: IdempotencyKeyTaken(key: "k12")) {
            try await environment.idempotency.holding(second) {
                try await environment.intents.create(
                    .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true),
                    scope: Self.scope(second)
                )
            }
        }
        #expect(try environment.count("payment_intents") == 1)
        #expect(try environment.count("charges") == 1)
        #expect(try environment.approvedAtNetwork() == 1)
        // And only the first request's changes have events (created, charge.succeeded, succeeded)
        #expect(try environment.count("events") == 3)
        // And the key replays the first request's answer
        guard case .replay(let saved, _) = try await environment.idempotency.begin(Self.request("k12")) else {
            Issue.record("expected a replay")
            return
        }
        #expect(String(decoding: saved.body, as: UTF8.self) == "\(paid.id) succeeded")
    }

    @Test("A card's create saves its answer with the card: a second request with the same new key stores nothing")
    func cardCreateKeyRace() async throws {
        // Given two requests that both began a new key before either wrote
        let environment = try TestEnvironment()
        guard case .run(let first) = try await environment.idempotency.begin(Self.request("k-card")),
            case .run(let second) = try await environment.idempotency.begin(Self.request("k-card"))
        else {
            Issue.record("expected both to run")
            return
        }
        let input = PaymentMethods.CreateInput(
            card: .init(number: "4242424242424242", expMonth: 12, expYear: 2034, cvc: "123")
        )
        let scope = { (lease: IdempotencyLease) in
            IdempotencyScope(lease: lease) { outcome in
                guard case .paymentMethod(let paymentMethod) = outcome else {
                    return SavedResponse(status: 500, body: [])
                }
                return SavedResponse(status: 200, body: Array(paymentMethod.id.utf8))
            }
        }
        // When the first creates a card under its scope
        let firstScope = scope(first)
        let card = try await environment.idempotency.holding(first) {
            try await environment.paymentMethods.create(input, scope: firstScope)
        }
        // Then its answer was saved by the card's own transaction
        #expect(firstScope.savedResponse?.body == Array(card.id.utf8))
        // And the second's create finds the key taken and stores no card
        await #expect(throws: IdempotencyKeyTaken(key: "k-card")) {
            try await environment.idempotency.holding(second) {
                try await environment.paymentMethods.create(input, scope: scope(second))
            }
        }
        #expect(try environment.count("payment_methods") == 1)
        // And the key replays the first's answer, with no finish of the key after the handler
        guard case .replay(let saved, _) = try await environment.idempotency.begin(Self.request("k-card")) else {
            Issue.record("expected a replay")
            return
        }
        #expect(saved.body == Array(card.id.utf8))
    }

    @Test("A new key with other parameters than the request that claimed it first is an idempotency_error")
    func newKeyRaceMismatch() async throws {
        let environment = try TestEnvironment()
        guard case .run(let first) = try await environment.idempotency.begin(Self.request("k13")),
            case .run(let second) = try await environment.idempotency.begin(
                Self.request("k13", parameters: "amount=1\n")
            )
        else {
            Issue.record("expected both to run")
            return
        }
        try await environment.idempotency.holding(first) { try await environment.context.database.write { _ in } }
        let error = await #expect(throws: PaymentError.self) {
            try await environment.idempotency.holding(second) {
                try await environment.customers.create(.init(email: "second@example.com"))
            }
        }
        #expect(error?.kind == .idempotency)
        #expect(try environment.count("customers") == 0)
    }
}
