import Foundation
import PaymentsCore
import Synchronization

/// The behaviour every ``PaymentStore`` must have, written against the protocol alone so that each store (SQLite
/// today, a second one later) runs the same checks: its test target runs every ``Check`` against a fresh store.
///
/// A check throws ``Failure`` with what it saw when the store does not behave.
public enum StoreConformance {
    /// Opens a second store on the database of the check's first (another instance: its own pool, or for SQLite
    /// its own `PaymentDatabase` on the same file).
    public typealias OpenSecond = @Sendable () async throws -> any PaymentStore

    /// One named check.
    public struct Check: Sendable, CustomStringConvertible {
        public let name: String
        let body: @Sendable (any PaymentStore, OpenSecond) async throws -> Void
        public var description: String { name }

        /// A check of one store.
        init(name: String, run: @escaping @Sendable (any PaymentStore) async throws -> Void) {
            self.name = name
            self.body = { store, _ in try await run(store) }
        }

        /// A check of two instances on one database: `run` gets the store and a second one opened on its database.
        init(name: String, instances run: @escaping @Sendable (any PaymentStore, any PaymentStore) async throws -> Void)
        {
            self.name = name
            self.body = { store, openSecond in try await run(store, try await openSecond()) }
        }

        /// Runs the check on `store`; `openSecond` opens another instance on its database when the check needs one.
        public func run(_ store: any PaymentStore, openSecond: OpenSecond) async throws {
            try await body(store, openSecond)
        }
    }

    /// What a check saw that it should not have.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    static func require(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw Failure(description: message()) }
    }

    /// An error a check throws on purpose inside a transaction.
    struct Abort: Error {}

    /// Every check.
    public static let checks: [Check] =
        singleInstanceChecks + instanceChecks + sweeperLeaseChecks + batchChecks + eventOrderChecks

    /// The checks of one store.
    static let singleInstanceChecks: [Check] = [
        Check(name: "an intent reads back as written; a compare-and-set on a stale status changes nothing") { store in
            let intent = intent("pi_conf1", created: 100)
            try await store.write { tx in try tx.insert(intent) }
            try require(try await store.read { tx in try tx.paymentIntent(intent.id) } == intent, "read back differs")
            let next = intent.with { $0.status = .canceled }
            let stale = try await store.write { tx in try tx.update(next, expecting: .requiresAction) }
            try require(!stale, "a compare-and-set on a stale status passed")
            try require(
                try await store.read { tx in try tx.paymentIntent(intent.id) } == intent,
                "a stale update wrote"
            )
            let fresh = try await store.write { tx in try tx.update(next, expecting: intent.status) }
            try require(fresh, "a compare-and-set on the current status failed")
            try require(try await store.read { tx in try tx.paymentIntent(intent.id)?.status } == .canceled, "lost")
        },
        Check(name: "an intent with every field set reads back equal") { store in
            let full = intent("pi_conf1b", created: 100).with {
                $0.status = .requiresPaymentMethod
                $0.captureMethod = .manual
                $0.confirmationMethod = .manual
                $0.description = "Order 42"
                $0.receiptEmail = "jenny@example.com"
                $0.statementDescriptor = "SHOP"
                $0.statementDescriptorSuffix = "42"
                $0.metadata = ["order": "42", "note": "ünïcode \"quoted\""]
                $0.setupFutureUsage = .offSession
                $0.amountCapturable = 0
                $0.amountReceived = 0
                $0.latestCharge = "ch_x"
                $0.lastPaymentError = .attemptExpired(paymentMethod: "pm_x")
                $0.canceledAt = 150
                $0.cancellationReason = .requestedByCustomer
                $0.returnURL = "https://example.com/return?a=1&b=2"
                $0.offSession = true
                $0.authenticatedPaymentMethod = "pm_x"
                $0.authenticationToken = "tok"
                $0.attemptExpiresAt = 3_700
                $0.succeededAt = 120
                $0.authorizedAt = 110
                $0.origin = .pay
            }
            try await store.write { tx in try tx.insert(full) }
            let read = try await store.read { tx in try tx.paymentIntent(full.id) }
            try require(read == full, "read back differs: \(String(describing: read))")
        },
        Check(name: "every row type reads back equal with every optional field set or none, inserted or updated") {
            store in
            let inserted = [SampleRows(.full, suffix: "conf1c"), SampleRows(.bare, suffix: "conf1d")]
            try await store.write { tx in for rows in inserted { try rows.insert(in: tx) } }
            for rows in inserted {
                let read = try await store.read { tx in try rows.readBack(in: tx) }
                try require(read == rows, "inserted rows read back as \(String(describing: read))")
            }
            // Each saved over the other shape: every column is written both ways, NULLs included.
            let updated = [SampleRows(.bare, suffix: "conf1c"), SampleRows(.full, suffix: "conf1d")]
            let saved = try await store.write { tx in
                try zip(updated, inserted).map { next, previous in try next.update(over: previous, in: tx) }
            }
            try require(saved == [true, true], "a compare-and-set failed: \(saved)")
            for rows in updated {
                let read = try await store.read { tx in try rows.readBack(in: tx) }
                try require(read == rows, "updated rows read back as \(String(describing: read))")
            }
        },
        Check(name: "of many racing compare-and-sets from one status, exactly one wins") { store in
            let intent = intent("pi_conf2", created: 100)
            try await store.write { tx in try tx.insert(intent) }
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let next = intent.with {
                            $0.status = .processing
                            $0.latestCharge = "ch_race\(index)"
                        }
                        return try await store.write { tx in try tx.update(next, expecting: .requiresConfirmation) }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try require(wins == 1, "\(wins) compare-and-sets won")
        },
        Check(name: "a second succeeded charge for one intent is refused") { store in
            let intent = intent("pi_conf3", created: 100)
            try await store.write { tx in
                try tx.insert(intent)
                try tx.insert(charge("ch_conf3a", intent: intent.id, status: .succeeded))
            }
            do {
                try await store.write { tx in try tx.insert(charge("ch_conf3b", intent: intent.id, status: .succeeded))
                }
                throw Failure(description: "a second succeeded charge was stored")
            } catch is Failure {
                throw Failure(description: "a second succeeded charge was stored")
            } catch {}
            try require(try await store.read { tx in try tx.charge("ch_conf3b") } == nil, "the refused charge is there")
        },
        Check(name: "a charge's receipt email and shipping, read and saved in one transaction, are set and unset") {
            store in
            // As `POST /v1/charges/:id` changes them: the row read, then saved, in one write.
            let intent = intent("pi_conf3c", created: 100)
            let original = charge("ch_conf3c", intent: intent.id, status: .succeeded)
            try await store.write { tx in
                try tx.insert(intent)
                try tx.insert(original)
            }
            let shipping = Shipping(
                address: Address(city: "Paris", country: "FR", line1: "2 quai \"Branly\"", postalCode: "75007"),
                carrier: "UPS",
                name: "Jenny ☂",
                phone: "+33 1",
                trackingNumber: "1Z999"
            )
            for (email, next) in [("gift@example.com", shipping), (nil, nil)] as [(String?, Shipping?)] {
                let saved = try await store.write { tx in
                    guard var charge = try tx.charge(original.id) else { throw Failure(description: "no charge") }
                    charge.receiptEmail = email
                    charge.shipping = next
                    try tx.update(charge)
                    return charge
                }
                let read = try await store.read { tx in try tx.charge(original.id) }
                try require(read == saved, "read back as \(String(describing: read))")
                try require(
                    read?.receiptEmail == email && read?.shipping == next,
                    "not saved: \(String(describing: read))"
                )
            }
        },
        Check(name: "a write that throws stores nothing, runs its rollback actions and not its commit actions") {
            store in
            let events = Mutex<[String]>([])
            do {
                try await store.write { tx in
                    tx.afterCommit { events.withLock { $0.append("commit") } }
                    tx.onRollback { events.withLock { $0.append("rollback") } }
                    try tx.insert(intent("pi_conf4", created: 100))
                    throw Abort()
                }
            } catch is Abort {}
            try require(try await store.read { tx in try tx.paymentIntent("pi_conf4") } == nil, "a rolled-back write")
            try require(events.withLock { $0 } == ["rollback"], "hooks: \(events.withLock { $0 })")
            try await store.write { tx in
                tx.afterCommit { events.withLock { $0.append("commit") } }
                tx.onRollback { events.withLock { $0.append("rollback") } }
            }
            try require(events.withLock { $0 } == ["rollback", "commit"], "hooks: \(events.withLock { $0 })")
        },
        Check(name: "a payment method keeps its sealed card, byte for byte") { store in
            let method = paymentMethod("pm_conf5")
            let sealed = SealedCard(keyID: "vk_1", sealed: Data([1, 2, 3, 250]))
            try await store.write { tx in try tx.insert(method, card: sealed) }
            try require(try await store.read { tx in try tx.paymentMethod(method.id) } == method, "method differs")
            try require(try await store.read { tx in try tx.sealedCard(of: method.id) } == sealed, "card differs")
            try require(try await store.read { tx in try tx.sealedCard(of: "pm_none") } == nil, "a card for nothing")
        },
        Check(name: "sealed cards are re-sealed by compare-and-set on their key id, in batches by payment method") {
            store in
            let old: @Sendable (UInt8) -> SealedCard = { byte in SealedCard(keyID: "vk_old", sealed: Data([byte])) }
            try await store.write { tx in
                try tx.insert(paymentMethod("pm_rot3"), card: old(3))
                try tx.insert(paymentMethod("pm_rot1"), card: old(1))
                try tx.insert(paymentMethod("pm_rot2"), card: SealedCard(keyID: "vk_new", sealed: Data([2])))
                try tx.insert(paymentMethod("pm_rot4"), card: old(4))
            }
            let first = try await store.read { tx in try tx.sealedCards(notUnder: "vk_new", after: nil, limit: 2) }
            try require(first.map(\.paymentMethod) == ["pm_rot1", "pm_rot3"], "first batch \(first)")
            try require(first[0].card == old(1), "entry \(first[0])")
            let rest = try await store.read { tx in try tx.sealedCards(notUnder: "vk_new", after: "pm_rot3", limit: 2) }
            try require(rest.map(\.paymentMethod) == ["pm_rot4"], "second batch \(rest)")
            let resealed = SealedCard(keyID: "vk_new", sealed: Data([9]))
            let swapped = try await store.write { tx in
                try tx.replaceSealedCard(of: "pm_rot1", expecting: "vk_old", with: resealed)
            }
            let again = try await store.write { tx in
                try tx.replaceSealedCard(of: "pm_rot1", expecting: "vk_old", with: old(7))
            }
            try require(swapped && !again, "compare-and-set: \(swapped), then \(again)")
            try require(try await store.read { tx in try tx.sealedCard(of: "pm_rot1") } == resealed, "not re-sealed")
            let counts = try await store.read { tx in try tx.sealedCardCounts() }
            try require(counts == ["vk_old": 2, "vk_new": 2], "counts \(counts)")
        },
        Check(name: "a vault secret is stored once and replaced only from the key it is sealed under") { store in
            let first = SealedCard(keyID: "vk_a", sealed: Data([1]))
            try require(try await store.read { tx in try tx.vaultSecret("s") } == nil, "a secret before any")
            let stored = try await store.write { tx in try tx.insertVaultSecret("s", first) }
            let second = try await store.write { tx in
                try tx.insertVaultSecret("s", SealedCard(keyID: "vk_b", sealed: Data([2])))
            }
            try require(stored && !second, "inserted \(stored), then \(second)")
            try require(try await store.read { tx in try tx.vaultSecret("s") } == first, "the first did not stay")
            let next = SealedCard(keyID: "vk_c", sealed: Data([3]))
            let wrong = try await store.write { tx in try tx.replaceVaultSecret("s", expecting: "vk_b", with: next) }
            let right = try await store.write { tx in try tx.replaceVaultSecret("s", expecting: "vk_a", with: next) }
            try require(!wrong && right, "replaced \(wrong) from the wrong key, \(right) from the right one")
            try require(try await store.read { tx in try tx.vaultSecret("s") } == next, "not replaced")
        },
        Check(name: "idempotency keys move to another scope in batches; a key the new scope holds stays put") {
            store in
            func begin(_ scope: String, _ key: String, requestID: String) async throws {
                _ = try await store.write { tx in
                    try tx.beginIdempotentRequest(
                        apiKey: scope,
                        key: key,
                        method: "POST",
                        path: "/v1/x",
                        fingerprint: "f",
                        requestID: requestID,
                        token: "t",
                        now: 100,
                        lockedUntil: 130,
                        expiresAt: 1_000
                    )
                }
            }
            for key in ["a", "b", "c"] { try await begin("old", key, requestID: "req_old_" + key) }
            try await begin("new", "b", requestID: "req_new_b")
            let one = try await store.write { tx in
                try tx.rescopeIdempotencyKeys(from: "old", to: "new", after: "", limit: 2)
            }
            let two = try await store.write { tx in
                try tx.rescopeIdempotencyKeys(from: "old", to: "new", after: one.last ?? "", limit: 2)
            }
            let three = try await store.write { tx in
                try tx.rescopeIdempotencyKeys(from: "old", to: "new", after: two.last ?? "", limit: 2)
            }
            try require(one.last == "b" && one.moved == 1, "first batch \(one)")
            try require(two.last == "c" && two.moved == 1 && three.last == nil, "then \(two), \(three)")
            for (key, request) in [("a", "req_old_a"), ("b", "req_new_b"), ("c", "req_old_c")] {
                let row = try await store.read { tx in try tx.idempotencyKey(apiKey: "new", key: key) }
                try require(row?.requestID == request, "\(key) under the new scope: \(String(describing: row))")
            }
            let left = try await store.read { tx in try tx.idempotencyKey(apiKey: "old", key: "b") }
            try require(left?.requestID == "req_old_b", "the clashing key left its scope")
        },
        Check(name: "idempotency keys: a renewal extends only the leases its tokens still hold, never shortens one") {
            store in
            func begin(_ key: String, _ token: String, until: Int64) async throws {
                _ = try await store.write { tx in
                    try tx.beginIdempotentRequest(
                        apiKey: "scope",
                        key: key,
                        method: "POST",
                        path: "/v1/x",
                        fingerprint: "f",
                        requestID: "req_\(key)",
                        token: token,
                        now: 100,
                        lockedUntil: until,
                        expiresAt: 1_000
                    )
                }
            }
            func lease(_ key: String) async throws -> (String?, Int64?) {
                let row = try await store.read { tx in try tx.idempotencyKey(apiKey: "scope", key: key) }
                return (row?.lockedBy, row?.lockedUntil)
            }
            try await begin("a", "ta", until: 106)
            try await begin("b", "tb", until: 106)
            try await begin("c", "tc", until: 120)
            try await begin("d", "td", until: 106)
            try await store.write { tx in
                try tx.finishIdempotentRequest(
                    apiKey: "scope",
                    key: "d",
                    token: "td",
                    status: 200,
                    body: [1],
                    paymentIntent: nil
                )
            }
            // a: its token's; b: named with another token (taken over); c: runs later already; d: finished
            let renewed = [("a", "ta"), ("b", "other"), ("c", "tc"), ("d", "td")].map {
                HeldIdempotencyKey(apiKey: "scope", key: $0.0, token: $0.1)
            }
            try await store.write { tx in try tx.renewIdempotencyLeases(renewed, until: 110) }
            let (a, b, c, d) = (try await lease("a"), try await lease("b"), try await lease("c"), try await lease("d"))
            try require(a == ("ta", 110), "a: \(a)")
            try require(b == ("tb", 106), "b: \(b)")
            try require(c == ("tc", 120), "c: \(c)")
            try require(d == (nil, nil), "d: \(d)")
        },
        Check(name: "idempotency keys: in flight under a lease, fenced, replayed, taken over, pruned at expiry") {
            store in
            func begin(_ token: String, now: Int64, expiresAt: Int64? = 1_000) async throws -> IdempotencyBegin {
                try await store.write { tx in
                    try tx.beginIdempotentRequest(
                        apiKey: "scope",
                        key: "k",
                        method: "POST",
                        path: "/v1/x",
                        fingerprint: "f",
                        requestID: "req_1",
                        token: token,
                        now: now,
                        lockedUntil: now + 30,
                        expiresAt: expiresAt
                    )
                }
            }
            guard case .proceed = try await begin("t1", now: 100) else { throw Failure(description: "new key") }
            try require(try await begin("t2", now: 110) == .inFlight(lockedUntil: 130), "not in flight")
            guard case .proceed(let taken) = try await begin("t2", now: 130) else {
                throw Failure(description: "a lease that ran out was not taken over")
            }
            try require(taken.lockedBy == "t2", "holder \(String(describing: taken.lockedBy))")
            do {
                try await store.write { tx in
                    try tx.markIdempotentProgress(apiKey: "scope", key: "k", token: "t1", point: .intentCreated)
                }
                throw Failure(description: "a lost lease wrote progress")
            } catch is IdempotencyLeaseLost {}
            try await store.write { tx in
                try tx.markIdempotentProgress(
                    apiKey: "scope",
                    key: "k",
                    token: "t2",
                    point: .intentCreated,
                    paymentIntent: "pi_x"
                )
                // No intent given: the one the progress named stays.
                try tx.finishIdempotentRequest(
                    apiKey: "scope",
                    key: "k",
                    token: "t2",
                    status: 201,
                    body: [7, 8],
                    paymentIntent: nil
                )
            }
            guard case .replay(let row) = try await begin("t3", now: 140) else { throw Failure(description: "replay") }
            try require(row.responseStatus == 201 && row.responseBody == Data([7, 8]), "saved response differs")
            try require(row.paymentIntent == "pi_x" && row.recoveryPoint == .finished, "progress differs")
            let early = try await store.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: 1_000, unheldAt: 1_000, limit: 10)
            }
            let late = try await store.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: 1_001, unheldAt: 1_001, limit: 10)
            }
            try require(early == 0 && late == 1, "pruned \(early) then \(late)")
            // A key that never expires is never pruned.
            _ = try await store.write { tx in
                try tx.beginIdempotentRequest(
                    apiKey: "recharge",
                    key: "ref",
                    method: "RECHARGE",
                    path: "recharge",
                    fingerprint: "f",
                    requestID: "r",
                    token: "t",
                    now: 0,
                    lockedUntil: 1,
                    expiresAt: nil
                )
            }
            let never = try await store.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: .max, unheldAt: .max, limit: 10)
            }
            try require(never == 0, "a key without expiry was pruned")
        },
        Check(name: "a key a request holds in real time is not pruned, however late the pass's own time") { store in
            // Given a key begun at 100, expiring at 200, whose request holds it until 130 (real time)
            _ = try await store.write { tx in
                try tx.beginIdempotentRequest(
                    apiKey: "scope",
                    key: "held",
                    method: "POST",
                    path: "/v1/payment_intents",
                    fingerprint: "f",
                    requestID: "r",
                    token: "t",
                    now: 100,
                    lockedUntil: 130,
                    expiresAt: 200
                )
            }
            // When a pass that treats a day later as now runs at real time 110, its holder still in flight
            let held = try await store.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: 100 + 86_400, unheldAt: 110, limit: 10)
            }
            // Then the key stays; once its lease is over in real time, it goes
            let over = try await store.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: 100 + 86_400, unheldAt: 130, limit: 10)
            }
            try require(held == 0 && over == 1, "pruned \(held) while held, then \(over)")
        },
        Check(name: "an idempotency key reads back as each step of its requests wrote it") { store in
            let scope = "scope"
            func begin(_ key: String, _ token: String, now: Int64, expiresAt: Int64?) async throws -> IdempotencyBegin {
                try await store.write { tx in
                    try tx.beginIdempotentRequest(
                        apiKey: scope,
                        key: key,
                        method: "POST",
                        path: "/v1/x",
                        fingerprint: "f",
                        requestID: "req_" + token,
                        token: token,
                        now: now,
                        lockedUntil: now + 30,
                        expiresAt: expiresAt
                    )
                }
            }
            func requireStored(_ key: String, _ expected: IdempotencyKey, _ step: String) async throws {
                let read = try await store.read { tx in try tx.idempotencyKey(apiKey: scope, key: key) }
                try require(read == expected, "\(step), read back as \(String(describing: read))")
            }
            // Without expiry, released after progress without references: every optional field nil.
            let bare = "k \"ü\" / bare"
            guard case .proceed(var released) = try await begin(bare, "t0", now: 50, expiresAt: nil) else {
                throw Failure(description: "a new key did not proceed")
            }
            try await requireStored(bare, released, "inserted")
            try await store.write { tx in
                try tx.markIdempotentProgress(apiKey: scope, key: bare, token: "t0", point: .intentCreated)
                try tx.releaseIdempotentRequest(apiKey: scope, key: bare, token: "t0")
            }
            released.recoveryPoint = .intentCreated
            released.lockedBy = nil
            released.lockedUntil = nil
            try await requireStored(bare, released, "released")
            guard case .proceed(let resumed) = try await begin(bare, "t4", now: 60, expiresAt: nil) else {
                throw Failure(description: "a released key was not taken")
            }
            try await requireStored(bare, resumed, "taken after its release")
            // With an expiry, taken over once its lease ran out: the whole row saved again, with every reference.
            let full = "k \"ü\" / full"
            guard case .proceed(let inserted) = try await begin(full, "t1", now: 100, expiresAt: 86_500) else {
                throw Failure(description: "a new key did not proceed")
            }
            try await requireStored(full, inserted, "inserted")
            try await store.write { tx in
                try tx.markIdempotentProgress(
                    apiKey: scope,
                    key: full,
                    token: "t1",
                    point: .refundRecorded,
                    paymentIntent: "pi_x",
                    charge: "ch_x",
                    refund: "re_x"
                )
            }
            guard case .proceed(let taken) = try await begin(full, "t2", now: 200, expiresAt: 86_500) else {
                throw Failure(description: "a lease that ran out was not taken over")
            }
            try require(
                taken.lockedBy == "t2" && taken.lockedUntil == 230 && taken.recoveryPoint == .refundRecorded
                    && taken.paymentIntent == "pi_x" && taken.charge == "ch_x" && taken.refund == "re_x",
                "taken over: \(taken)"
            )
            try await requireStored(full, taken, "taken over")
            // Finished: the response replays as stored, bytes included, and the intent it names is the key's.
            try await store.write { tx in
                try tx.finishIdempotentRequest(
                    apiKey: scope,
                    key: full,
                    token: "t2",
                    status: 402,
                    body: [0, 255, 34],
                    paymentIntent: "pi_finished"
                )
            }
            guard case .replay(let finished) = try await begin(full, "t3", now: 300, expiresAt: 86_500) else {
                throw Failure(description: "a finished key did not replay")
            }
            try require(
                finished.responseStatus == 402 && finished.responseBody == Data([0, 255, 34])
                    && finished.lockedBy == nil && finished.lockedUntil == nil
                    && finished.paymentIntent == "pi_finished",
                "finished: \(finished)"
            )
            try await requireStored(full, finished, "finished")
        },
        Check(name: "lists are newest first and page both ways") { store in
            try await store.write { tx in
                for index in 1...5 { try tx.insert(intent("pi_conf7_\(index)", created: 100 + Int64(index))) }
            }
            let first = try await store.read { tx in
                try tx.paymentIntents(customer: nil, created: nil, page: PageRequest(limit: 2))
            }
            try require(first.items.map(\.id) == ["pi_conf7_5", "pi_conf7_4"] && first.hasMore, "first page")
            let next = try await store.read { tx in
                try tx.paymentIntents(
                    customer: nil,
                    created: nil,
                    page: PageRequest(limit: 2, startingAfter: "pi_conf7_4")
                )
            }
            try require(next.items.map(\.id) == ["pi_conf7_3", "pi_conf7_2"] && next.hasMore, "next page")
            let ranged = try await store.read { tx in
                try tx.paymentIntents(customer: nil, created: CreatedFilter(gte: 104), page: PageRequest())
            }
            try require(ranged.items.map(\.id) == ["pi_conf7_5", "pi_conf7_4"], "created filter")
        },
        Check(name: "pending attempts are found oldest first, paged past") { store in
            try await store.write { tx in
                for index in 1...3 {
                    let intent = intent("pi_conf8_\(index)", created: 100)
                    try tx.insert(intent)
                    try tx.insert(
                        charge("ch_conf8_\(index)", intent: intent.id, status: .pending, created: 200 - Int64(index))
                    )
                }
            }
            let due = try await store.read { tx in
                try tx.pendingChargesDue(createdAtOrBefore: 198, after: .start, limit: 10)
            }
            try require(due.map(\.charge) == ["ch_conf8_3", "ch_conf8_2"], "due: \(due.map(\.charge))")
            let after = try await store.read { tx in
                try tx.pendingChargesDue(createdAtOrBefore: 1_000, after: due[0].position, limit: 10)
            }
            try require(after.map(\.charge) == ["ch_conf8_2", "ch_conf8_1"], "after: \(after.map(\.charge))")
        },
        Check(name: "a payment method's attempts in flight are its pending charges, no others") { store in
            try await store.write { tx in
                for id in ["pm_conf8a", "pm_conf8b"] {
                    try tx.insert(paymentMethod(id), card: SealedCard(keyID: "vk", sealed: Data([1])))
                }
                let intent = intent("pi_conf8a", created: 100)
                try tx.insert(intent)
                for (id, method, status) in [
                    ("ch_conf8a1", "pm_conf8a", Charge.Status.pending), ("ch_conf8a2", "pm_conf8a", .failed),
                    ("ch_conf8a3", "pm_conf8b", .pending), ("ch_conf8a4", "pm_conf8a", .pending),
                ] {
                    var charge = charge(id, intent: intent.id, status: status)
                    charge.paymentMethod = method
                    try tx.insert(charge)
                }
            }
            let pending = try await store.read { tx in try tx.pendingCharges(paymentMethod: "pm_conf8a") }
            try require(Set(pending.map(\.id)) == ["ch_conf8a1", "ch_conf8a4"], "pending: \(pending.map(\.id))")
            let none = try await store.read { tx in try tx.pendingCharges(paymentMethod: "pm_none") }
            try require(none.isEmpty, "pending charges of no payment method: \(none.map(\.id))")
        },
        Check(name: "charges list newest first, by customer or intent, paged") { store in
            try await store.write { tx in
                try tx.insert(Customer(id: "cus_conf9", created: 100))
                for index in 1...4 {
                    let intent = intent("pi_conf9_\(index % 2)", created: 100)
                    if index <= 2 { try tx.insert(intent) }
                    var charge = charge(
                        "ch_conf9_\(index)",
                        intent: intent.id,
                        status: .failed,
                        created: 100 + Int64(index)
                    )
                    charge.customer = index == 2 ? nil : "cus_conf9"
                    try tx.insert(charge)
                }
            }
            let all = try await store.read { tx in
                try tx.charges(customer: nil, paymentIntent: nil, created: nil, page: PageRequest(limit: 3))
            }
            try require(all.items.map(\.id) == ["ch_conf9_4", "ch_conf9_3", "ch_conf9_2"] && all.hasMore, "all")
            let byCustomer = try await store.read { tx in
                try tx.charges(customer: "cus_conf9", paymentIntent: nil, created: nil, page: PageRequest())
            }
            try require(byCustomer.items.map(\.id) == ["ch_conf9_4", "ch_conf9_3", "ch_conf9_1"], "by customer")
            let byIntent = try await store.read { tx in
                try tx.charges(
                    customer: "cus_conf9",
                    paymentIntent: "pi_conf9_1",
                    created: CreatedFilter(lt: 104),
                    page: PageRequest(limit: 1, endingBefore: "ch_conf9_1")
                )
            }
            try require(byIntent.items.map(\.id) == ["ch_conf9_3"] && !byIntent.hasMore, "by intent")
        },
        Check(name: "refunds the network settles later are found when due; unanswered pending ones apart") { store in
            try await store.write { tx in
                let intent = intent("pi_conf10", created: 100)
                try tx.insert(intent)
                try tx.insert(charge("ch_conf10", intent: intent.id, status: .succeeded))
                for (index, status, settlesAt) in [
                    (1, Refund.Status.pending, nil), (2, .pending, 300), (3, .succeeded, 200), (4, .succeeded, nil),
                ] as [(Int, Refund.Status, Int64?)] {
                    var refund = Refund(
                        id: "re_conf10_\(index)",
                        created: 100,
                        charge: "ch_conf10",
                        paymentIntent: intent.id,
                        amount: 100,
                        currency: "usd",
                        reason: nil,
                        metadata: [:]
                    )
                    refund.status = status
                    refund.settlesAt = settlesAt
                    try tx.insert(refund)
                }
            }
            let unanswered = try await store.read { tx in try tx.pendingRefunds(createdBefore: 1_000, limit: 10) }
            try require(unanswered == ["re_conf10_1"], "unanswered: \(unanswered)")
            let due = try await store.read { tx in try tx.refundsSettling(at: 300, after: .start, limit: 10) }
            try require(due.map(\.refund) == ["re_conf10_3", "re_conf10_2"], "due: \(due.map(\.refund))")
            let early = try await store.read { tx in try tx.refundsSettling(at: 299, after: .start, limit: 10) }
            try require(early.map(\.refund) == ["re_conf10_3"], "early: \(early.map(\.refund))")
            let after = try await store.read { tx in try tx.refundsSettling(at: 300, after: due[0].position, limit: 10)
            }
            try require(after.map(\.refund) == ["re_conf10_2"], "after: \(after.map(\.refund))")
        },
        Check(name: "a setup intent reads back equal with every field set or none, inserted or saved over") { store in
            // The customer and card the full one names, as the service links them.
            let owner = SampleRows(.bare, suffix: "conf13")
            try await store.write { tx in
                try tx.insert(owner.customer)
                try tx.insert(owner.paymentMethod, card: owner.card)
            }
            let bare = setupIntent("seti_conf13a", created: 100)
            let full = setupIntent("seti_conf13b", created: 101).with {
                $0.status = .requiresAction
                $0.usage = .onSession
                $0.customer = owner.customer.id
                $0.paymentMethod = owner.paymentMethod.id
                $0.description = "Card on file — \"renewals\""
                $0.metadata = SampleRows.trickyMetadata
                $0.lastSetupError = .setupAuthenticationFailure(paymentMethod: owner.paymentMethod.id)
                $0.latestAttempt = "setatt_x"
                $0.returnURL = "https://shop.example/saved?a=1&b=%22x%22"
                $0.authenticationToken = "tok"
                $0.attemptExpiresAt = 3_700
                $0.succeededAt = 120
                $0.canceledAt = 150
                $0.cancellationReason = .requestedByCustomer
            }
            try await store.write { tx in
                try tx.insert(bare)
                try tx.insert(full)
            }
            for setup in [bare, full] {
                let read = try await store.read { tx in try tx.setupIntent(setup.id) }
                try require(read == setup, "inserted, read back as \(String(describing: read))")
            }
            // Each saved over the other shape: every column is written both ways, NULLs included.
            let swapped = [
                full.with {
                    $0.id = bare.id
                    $0.created = bare.created
                },
                bare.with {
                    $0.id = full.id
                    $0.created = full.created
                },
            ]
            let saved = try await store.write { tx in
                [
                    try tx.update(swapped[0], expecting: bare.status),
                    try tx.update(swapped[1], expecting: full.status),
                ]
            }
            try require(saved == [true, true], "a compare-and-set failed: \(saved)")
            for setup in swapped {
                let read = try await store.read { tx in try tx.setupIntent(setup.id) }
                try require(read == setup, "saved over, read back as \(String(describing: read))")
            }
            try require(try await store.read { tx in try tx.setupIntent("seti_none") } == nil, "a setup for nothing")
        },
        Check(name: "of many racing compare-and-sets of a setup intent from one status, exactly one wins") { store in
            let setup = setupIntent("seti_conf14", created: 100)
            try await store.write { tx in try tx.insert(setup) }
            let stale = try await store.write { tx in
                try tx.update(setup.with { $0.status = .canceled }, expecting: .requiresAction)
            }
            try require(!stale, "a compare-and-set on a stale status passed")
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        let next = setup.with {
                            $0.status = .succeeded
                            $0.latestAttempt = "setatt_race\(index)"
                        }
                        return try await store.write { tx in try tx.update(next, expecting: .requiresConfirmation) }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            try require(wins == 1, "\(wins) compare-and-sets won")
        },
        Check(name: "setup intents list newest first, by customer, payment method and created, paging both ways") {
            store in
            let owner = SampleRows(.bare, suffix: "conf15")
            try await store.write { tx in
                try tx.insert(owner.customer)
                try tx.insert(owner.paymentMethod, card: owner.card)
                for index in 1...4 {
                    try tx.insert(
                        setupIntent("seti_conf15_\(index)", created: 100 + Int64(index)).with {
                            $0.customer = index.isMultiple(of: 2) ? owner.customer.id : nil
                            $0.paymentMethod = index == 3 ? owner.paymentMethod.id : nil
                        }
                    )
                }
            }
            func ids(
                customer: String? = nil,
                paymentMethod: String? = nil,
                created: CreatedFilter? = nil,
                page: PageRequest = PageRequest()
            ) async throws -> ([String], Bool) {
                let page = try await store.read { tx in
                    try tx.setupIntents(customer: customer, paymentMethod: paymentMethod, created: created, page: page)
                }
                return (page.items.map(\.id), page.hasMore)
            }
            let all = try await ids()
            try require(all.0 == (1...4).reversed().map { "seti_conf15_\($0)" } && !all.1, "all: \(all)")
            let first = try await ids(page: PageRequest(limit: 2))
            try require(first == (["seti_conf15_4", "seti_conf15_3"], true), "first page: \(first)")
            let next = try await ids(page: PageRequest(limit: 2, startingAfter: "seti_conf15_3"))
            try require(next == (["seti_conf15_2", "seti_conf15_1"], false), "next page: \(next)")
            let back = try await ids(page: PageRequest(limit: 2, endingBefore: "seti_conf15_2"))
            try require(back == (["seti_conf15_4", "seti_conf15_3"], false), "back: \(back)")
            let mine = try await ids(customer: owner.customer.id)
            try require(mine.0 == ["seti_conf15_4", "seti_conf15_2"], "by customer: \(mine)")
            let withCard = try await ids(paymentMethod: owner.paymentMethod.id)
            try require(withCard.0 == ["seti_conf15_3"], "by payment method: \(withCard)")
            let ranged = try await ids(created: CreatedFilter(gt: 101, lt: 104))
            try require(ranged.0 == ["seti_conf15_3", "seti_conf15_2"], "by created: \(ranged)")
        },
        Check(name: "setup attempts due are those waiting for a challenge past their time, longest-expired first") {
            store in
            try await store.write { tx in
                for (index, (status, expiresAt)) in [
                    (SetupIntentStatus.requiresAction, Int64(300)), (.requiresAction, 200), (.requiresAction, 900),
                    (.requiresPaymentMethod, 100), (.succeeded, 100),
                ]
                .enumerated() {
                    try tx.insert(
                        setupIntent("seti_conf16_\(index)", created: 100).with {
                            $0.status = status
                            $0.attemptExpiresAt = expiresAt
                        }
                    )
                }
            }
            let due = try await store.read { tx in try tx.setupAttemptsDue(at: 300, limit: 10) }
            try require(due.map(\.id) == ["seti_conf16_1", "seti_conf16_0"], "due: \(due.map(\.id))")
            let limited = try await store.read { tx in try tx.setupAttemptsDue(at: 1_000, limit: 2) }
            try require(limited.map(\.id) == ["seti_conf16_1", "seti_conf16_0"], "limited: \(limited.map(\.id))")
        },
    ]

    // MARK: - Fixtures

    static func intent(_ id: String, created: Int64) -> PaymentIntent {
        PaymentIntent(
            id: id,
            created: created,
            amount: 2_000,
            currency: "usd",
            clientSecret: id + "_secret_x",
            paymentMethod: nil
        ).with { $0.status = .requiresConfirmation }
    }

    static func setupIntent(_ id: String, created: Int64) -> SetupIntent {
        SetupIntent(id: id, created: created, clientSecret: id + "_secret_x").with {
            $0.status = .requiresConfirmation
        }
    }

    /// A visa card payment method created at 100, valid until 12/2030.
    static func paymentMethod(_ id: String) -> PaymentMethod {
        PaymentMethod(
            id: id,
            created: 100,
            brand: "visa",
            last4: "4242",
            expMonth: 12,
            expYear: 2030,
            fingerprint: "fp",
            funding: "credit",
            country: "US",
            cvcCheck: nil
        )
    }

    static func charge(_ id: String, intent: String, status: Charge.Status, created: Int64 = 100) -> Charge {
        var charge = Charge(
            id: id,
            created: created,
            paymentIntent: intent,
            paymentMethod: nil,
            customer: nil,
            amount: 2_000,
            currency: "usd",
            capture: true,
            offSession: false,
            threeDSecure: nil
        )
        charge.status = status
        return charge
    }
}

extension PaymentIntent {
    func with(_ change: (inout PaymentIntent) -> Void) -> PaymentIntent {
        var copy = self
        change(&copy)
        return copy
    }
}

extension SetupIntent {
    func with(_ change: (inout SetupIntent) -> Void) -> SetupIntent {
        var copy = self
        change(&copy)
        return copy
    }
}
