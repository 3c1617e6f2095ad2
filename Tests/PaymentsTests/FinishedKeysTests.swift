import Foundation
import Payments
import PaymentsCore
import TestSupport
import Testing

/// The finished-key cache: what it keeps, for how long, how much, and that a replay it answers is the row's own.
@Suite("Finished idempotency keys in memory")
struct FinishedKeysTests {
    /// A key row in `point`, expiring at `expiresAt`, with a `bytes`-long saved response.
    static func row(
        _ key: String,
        point: IdempotencyKey.RecoveryPoint = .finished,
        expiresAt: Int64? = 1_000,
        bytes: Int = 4
    ) -> IdempotencyKey {
        IdempotencyKey(
            apiKey: "scope",
            key: key,
            created: 100,
            expiresAt: expiresAt,
            method: "POST",
            path: "/v1/payment_intents",
            fingerprint: "f",
            lockedBy: point == .finished ? nil : "token",
            lockedUntil: point == .finished ? nil : 130,
            recoveryPoint: point,
            paymentIntent: nil,
            charge: nil,
            refund: nil,
            requestID: "req_\(key)",
            responseStatus: point == .finished ? 200 : nil,
            responseBody: point == .finished ? Data(repeating: 0x7B, count: bytes) : nil
        )
    }

    @Test("only finished, unexpired rows are kept, and served until they expire")
    func keepsFinishedUntilExpiry() {
        let cache = FinishedKeys()
        cache.remember(Self.row("done"), now: 200)
        cache.remember(Self.row("held", point: .started), now: 200)
        cache.remember(Self.row("recovering", point: .attemptRecorded), now: 200)
        cache.remember(Self.row("stale", expiresAt: 150), now: 200)
        cache.remember(Self.row("forever", expiresAt: nil), now: 200)
        #expect(cache.row(apiKey: "scope", key: "done", now: 999) == Self.row("done"))
        #expect(cache.row(apiKey: "scope", key: "done", now: 1_000) == nil)
        #expect(cache.row(apiKey: "other-scope", key: "done", now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "held", now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "recovering", now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "stale", now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "forever", now: .max) == Self.row("forever", expiresAt: nil))
        #expect(cache.usage.keys == 2)
    }

    @Test("keys are told apart by their bytes, as the stores tell them apart, not by canonical equivalence")
    func keysByBytes() {
        let cache = FinishedKeys()
        let composed = "order-caf\u{E9}"
        let decomposed = "order-cafe\u{301}"
        #expect(composed == decomposed)  // equal as Swift strings
        cache.remember(Self.row(composed), now: 200)
        #expect(cache.row(apiKey: "scope", key: composed, now: 200)?.key.utf8.elementsEqual(composed.utf8) == true)
        #expect(cache.row(apiKey: "scope", key: decomposed, now: 200) == nil)
        cache.remember(Self.row(decomposed), now: 200)
        #expect(cache.usage.keys == 2)
        #expect(cache.row(apiKey: "scope", key: decomposed, now: 200)?.key.utf8.elementsEqual(decomposed.utf8) == true)
    }

    @Test("a replayed body is kept with its row: the latest two, gone with the row")
    func replayedBodies() {
        let cache = FinishedKeys(capacity: 2)
        let bodies = (0..<3).map { n in
            Array("amount=\(n)".utf8).withUnsafeBytes { RequestBodyDigest(contentType: nil, body: $0) }
        }
        // Nothing is noted for a key not cached
        cache.noteReplay(apiKey: "scope", key: "done", body: bodies[0])
        cache.remember(Self.row("done"), now: 200)
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[0], now: 200) == nil)
        // A noted body finds the row until it expires; another body, scope or key does not
        cache.noteReplay(apiKey: "scope", key: "done", body: bodies[0])
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[0], now: 999) == Self.row("done"))
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[0], now: 1_000) == nil)
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[1], now: 200) == nil)
        #expect(cache.row(apiKey: "other-scope", key: "done", body: bodies[0], now: 200) == nil)
        // The latest two bodies are kept
        cache.noteReplay(apiKey: "scope", key: "done", body: bodies[1])
        cache.noteReplay(apiKey: "scope", key: "done", body: bodies[2])
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[0], now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[1], now: 200) != nil)
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[2], now: 200) != nil)
        // And they go with the row when it is evicted
        cache.remember(Self.row("a"), now: 200)
        cache.remember(Self.row("b"), now: 200)
        #expect(cache.row(apiKey: "scope", key: "done", body: bodies[2], now: 200) == nil)
        #expect(cache.row(apiKey: "scope", key: "done", now: 200) == nil)
    }

    @Test("bounded by keys and by bytes, the oldest going first")
    func bounded() {
        let byCount = FinishedKeys(capacity: 3)
        for n in 0..<1_000 { byCount.remember(Self.row("k\(n)"), now: 200) }
        #expect(byCount.usage.keys == 3)
        #expect(byCount.row(apiKey: "scope", key: "k996", now: 200) == nil)
        #expect(byCount.row(apiKey: "scope", key: "k997", now: 200) != nil)
        #expect(byCount.row(apiKey: "scope", key: "k999", now: 200) != nil)

        let byBytes = FinishedKeys(capacity: 100, byteBudget: 10)
        for n in 0..<5 { byBytes.remember(Self.row("b\(n)", bytes: 4), now: 200) }
        byBytes.remember(Self.row("huge", bytes: 11), now: 200)
        #expect(byBytes.usage.keys == 2 && byBytes.usage.bytes == 8)
        #expect(byBytes.row(apiKey: "scope", key: "b4", now: 200) != nil)
        #expect(byBytes.row(apiKey: "scope", key: "huge", now: 200) == nil)
    }

    @Test("a replay read once is answered from memory, mismatches still refused; past expiry the database decides")
    func replaysFromMemory() async throws {
        // Given a finished key, replayed once (which reads its row)
        let environment = try TestEnvironment()
        let saved = try await IdempotencyKeysTests.finished(environment, "cached", saving: "{\"id\":\"pi_1\"}")
        let replay = IdempotencyKeys.Decision.replay(saved, originalRequest: "req_cached")
        #expect(try await environment.idempotency.begin(IdempotencyKeysTests.request("cached")) == replay)
        let row = try #require(try await IdempotencyKeysTests.row(environment, "cached"))
        // When the row disappears underneath (only the sweeper deletes finished rows, once they expired)
        _ = try await environment.database.write { tx in
            try tx.pruneIdempotencyKeys(expiredBefore: .max, unheldAt: .max, limit: 10)
        }
        #expect(try await IdempotencyKeysTests.row(environment, "cached") == nil)
        // Then the replay is still answered, from memory, with the same bytes, and other parameters are still a 400
        #expect(try await environment.idempotency.begin(IdempotencyKeysTests.request("cached")) == replay)
        await #expect(throws: PaymentError.self) {
            try await environment.idempotency.begin(IdempotencyKeysTests.request("cached", parameters: "amount=1\n"))
        }
        // And once the key has expired, the database decides again: the key is gone, so the request runs anew
        environment.clock.advance(by: (row.expiresAt ?? 0) - environment.clock.now)
        guard case .run = try await environment.idempotency.begin(IdempotencyKeysTests.request("cached")) else {
            Issue.record("an expired key was answered from memory")
            return
        }
    }
}
