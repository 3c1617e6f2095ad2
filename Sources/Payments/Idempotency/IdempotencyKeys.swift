import Crypto
import Foundation
import PaymentsCore

/// The one owner of idempotency: every caller that runs a request under a key (the `/v1` routes, `/pay`,
/// `payments recharge`) begins, finishes and releases it here, and money-moving use cases record their recovery
/// points through the ``IdempotencyScope`` made from the lease it hands out.
///
/// A key in flight is held by a lease (``PaymentsContext/Settings/idempotencyLease``): until it runs out, anyone
/// else, in this process or another, is told the key is in flight (409). A live holder's process renews its lease
/// while it runs (``LeaseRenewal``), so it finishes first however long the network takes; a holder that died is
/// taken over once its lease has run out, and the new holder resumes from the recovery point the dead one
/// recorded. A holder whose lease ran out (a paused process) is fenced: its writes fail, and nothing it does counts.
public struct IdempotencyKeys: Sendable {
    let context: PaymentsContext

    /// How long an API key's idempotency key is kept: 24 hours, Stripe's period (CONTRACT.md, "Never charge twice").
    public static let apiKeyLifetime: Int64 = 24 * 3600

    /// The longest key accepted: Stripe's limit, in ``length(of:)``.
    public static let maximumKeyLength = 255

    /// A key's length as the stores count it: Unicode code points, what SQLite's and PostgreSQL's `length()` count in
    /// the `idempotency_keys` table's CHECK. A Swift `String`'s `count` counts characters (grapheme clusters), fewer
    /// when a key has combining marks or emoji sequences: `e` and U+0301 are one character and two code points, so
    /// 200 of them passed a check of `count` and failed the table's, a 500 instead of a 400.
    public static func length(of key: String) -> Int { key.unicodeScalars.count }

    /// Creates the owner.
    public init(context: PaymentsContext) { self.context = context }

    /// The scope of the idempotency keys sent with any of the secret keys.
    ///
    /// Stripe scopes idempotency keys per account, not per API key: a request sent with a key being rolled and
    /// retried with its successor is the same request, and replays. So every secret key shares one scope, and
    /// every publishable key another (a publishable key's requests stay apart from the secret keys', as before).
    public static let secretKeyScope = "api_key:secret"
    /// The scope of the idempotency keys sent with any of the publishable keys (see ``secretKeyScope``).
    public static let publishableKeyScope = "api_key:publishable"

    /// The scope keys were stored under before they were scoped by the key's kind: a hex SHA-256 of the API key
    /// they were sent with. Only ``adoptLegacyScopes(of:into:)`` uses it.
    public static func legacyScope(forAPIKey key: String) -> String {
        Array(SHA256.hash(data: Data(key.utf8))).hexString
    }

    /// Keys moved per transaction by ``adoptLegacyScopes(of:into:)``: small, so a start-up beside a running
    /// process holds the write lock only for moments.
    static let rescopeBatch = 500

    /// Moves the keys stored under the legacy scope of each of `apiKeys` (``legacyScope(forAPIKey:)``) into
    /// `scope`, so that a request made before keys were scoped by kind still replays after, whichever key of the
    /// kind retries it. Run at start, before the server takes requests; rows of a key no longer configured stay as
    /// they are and age out.
    /// - Returns: how many keys moved.
    public func adoptLegacyScopes(of apiKeys: [String], into scope: String) async throws -> Int {
        var moved = 0
        for apiKey in apiKeys {
            let legacy = Self.legacyScope(forAPIKey: apiKey)
            var after = ""
            while true {
                let from = after
                let batch = try await context.database.write { tx in
                    try tx.rescopeIdempotencyKeys(from: legacy, to: scope, after: from, limit: Self.rescopeBatch)
                }
                moved += batch.moved
                guard let last = batch.last else { break }
                after = last
            }
        }
        return moved
    }

    /// A request to run under a key.
    public struct Request: Sendable {
        /// The key's scope: the kind of API key (``secretKeyScope``, ``publishableKeyScope``), or a fixed scope
        /// (`pay`, `recharge`).
        public var apiKey: String
        public var key: String
        public var method: String
        public var path: String
        /// The request's parameters in a canonical text (sorted, independent of their order on the wire). Only a
        /// keyed hash of it is kept.
        public var parameters: String
        /// The request's id, shown as `Original-Request` on replays.
        public var requestID: String
        /// How long the key is kept; nil keeps it forever.
        public var lifetime: Int64?
        /// The body as received, when the parameters were parsed from one: noted when the key replays, so that
        /// the same bytes replay next time without being parsed (``IdempotencyKeys/replayed(apiKey:key:method:path:body:)``).
        public var body: RequestBodyDigest?

        /// Creates a request.
        public init(
            apiKey: String,
            key: String,
            method: String,
            path: String,
            parameters: String,
            requestID: String,
            lifetime: Int64? = IdempotencyKeys.apiKeyLifetime,
            body: RequestBodyDigest? = nil
        ) {
            self.apiKey = apiKey
            self.key = key
            self.method = method
            self.path = path
            self.parameters = parameters
            self.requestID = requestID
            self.lifetime = lifetime
            self.body = body
        }
    }

    /// What to do with a request.
    public enum Decision: Sendable, Equatable {
        /// The key's first request finished: answer with its saved response (`originalRequest` is its id).
        case replay(SavedResponse, originalRequest: String)
        /// Run the request, holding the key under this lease.
        case run(IdempotencyLease)
        /// Another request holds the key until `until` (unix seconds): 409, or wait and ask again.
        case inFlight(until: Int64)
    }

    /// A replay answered before the request is parsed: the saved response of a finished key that this process
    /// has already replayed to a request with the same body (``Request/body``), on the same method and path. Nil
    /// otherwise, and the request goes through ``begin(_:)`` as any other.
    ///
    /// The same bytes parse to the same parameters, whose fingerprint was found equal to the key's then; the row
    /// is the one ``begin(_:)`` would decide on (``FinishedKeys``: a finished row never changes before it expires).
    public func replayed(apiKey: String, key: String, method: String, path: String, body: RequestBodyDigest)
        -> Decision?
    {
        let now = context.clock.now()
        guard let row = context.finishedKeys.row(apiKey: apiKey, key: key, body: body, now: now),
            row.method == method, row.path == path
        else { return nil }
        return Self.replay(row)
    }

    /// The replay of a finished `row`: its saved response and its request's id.
    private static func replay(_ row: IdempotencyKey) -> Decision {
        .replay(
            SavedResponse(status: row.responseStatus ?? 500, body: Array(row.responseBody ?? Data())),
            originalRequest: row.requestID
        )
    }

    /// The begin phase: takes the key for this request, or says why not.
    ///
    /// It looks on a read snapshot first, so a replay, a key in flight or a mismatch costs no write (and a replay of a
    /// key this process has seen finished costs no read either: ``FinishedKeys``). A key with no
    /// row is not written here either: the lease carries a ``KeyClaim``, and the request's first write transaction
    /// inserts the row (run the request inside ``holding(_:_:)``). Only a key whose holder died, or that stopped at
    /// a recovery point, is taken over in a transaction of its own, which decides again on what it finds.
    /// - Throws: 400 `idempotency_error` when the key was first used with other parameters or on another
    ///   endpoint; 400 for a key that is empty or longer than 255 characters.
    public func begin(_ request: Request) async throws -> Decision {
        let length = Self.length(of: request.key)
        guard (1...Self.maximumKeyLength).contains(length) else {
            throw PaymentError.invalidRequest(
                "Idempotency-Key must be between 1 and \(Self.maximumKeyLength) characters long; the one sent has "
                    + "\(length).",
                code: "idempotency_key_invalid"
            )
        }
        let now = context.clock.now()
        let fingerprint = context.vault.requestFingerprint(
            "\(request.method) \(request.path)\n\(request.parameters)"
        )
        // The lease this request takes when it runs; a replay (most retries) takes none, and draws no token.
        let (ids, clock, lease) = (context.ids, context.clock, context.settings.idempotencyLease)
        func newClaim() -> KeyClaim {
            KeyClaim(
                request: request,
                fingerprint: fingerprint,
                token: "lease_" + ids.token(24),
                clock: clock,
                lease: lease
            )
        }
        // A finished key's row never changes until it expires: answered from memory when this process has read it.
        let existing: IdempotencyKey?
        if let finished = context.finishedKeys.row(apiKey: request.apiKey, key: request.key, now: now) {
            existing = finished
        } else {
            existing = try await context.database.read { tx in
                try tx.idempotencyKey(apiKey: request.apiKey, key: request.key)
            }
            if let existing { context.finishedKeys.remember(existing, now: now) }
        }
        guard let existing else {
            let claim = newClaim()
            return .run(
                IdempotencyLease(
                    apiKey: request.apiKey,
                    key: request.key,
                    token: claim.token,
                    until: claim.until,
                    claim: claim
                )
            )
        }
        let found: IdempotencyBegin
        // The claim of the write below, whose `.proceed` hands this request the lease it wrote.
        var taken: KeyClaim?
        if let decision = existing.decision(
            method: request.method,
            path: request.path,
            fingerprint: fingerprint,
            now: now
        ) {
            found = decision
        } else {
            let claim = newClaim()
            taken = claim
            found = try await context.database.write { tx in try claim.begin(in: tx) }
        }
        switch found {
        case .replay(let row):
            if let body = request.body {
                context.finishedKeys.noteReplay(apiKey: request.apiKey, key: request.key, body: body)
            }
            return Self.replay(row)
        case .inFlight(let lockedUntil):
            return .inFlight(until: lockedUntil)
        case .mismatch(let samePath, let firstPath):
            throw Self.mismatchError(request, samePath: samePath, firstPath: firstPath)
        case .proceed(let row):
            let claim = taken ?? newClaim()  // always `taken`: only the write above decides `.proceed`
            return .run(
                IdempotencyLease(
                    apiKey: request.apiKey,
                    key: request.key,
                    token: claim.token,
                    until: claim.until,
                    resumeIntent: row.paymentIntent,
                    resumeCharge: row.charge,
                    resumeRefund: row.refund,
                    firstTry: (row.requestID, row.created)
                )
            )
        }
    }

    /// What a request under `lease` must answer instead of the refusal it stopped with, when its key was new and
    /// another request with the key committed meanwhile: the first request's saved response (`.replay`), or that it
    /// is in flight (`.inFlight`). Nil when the key is still new or free, and the refusal stands.
    ///
    /// A request whose key was new when it began runs without writing until its first write transaction. When
    /// another request with the same key commits first, what this one reads can be that request's outcome: a retry
    /// of a capture found the intent `succeeded` by its own first try and answered 400, where Stripe replays the
    /// capture. Only a read: a key whose holder died is not taken over here.
    /// - Throws: the mismatch error when the request that took the key used other parameters or another endpoint.
    public func settledSince(_ lease: IdempotencyLease) async throws -> Decision? {
        guard let claim = lease.claim, !claim.isClaimed else { return nil }
        let row = try await context.database.read { tx in
            try tx.idempotencyKey(apiKey: lease.apiKey, key: lease.key)
        }
        let now = context.clock.now()
        let request = claim.request
        switch row?.decision(method: request.method, path: request.path, fingerprint: claim.fingerprint, now: now) {
        case .replay(let row): return Self.replay(row)
        case .inFlight(let until): return .inFlight(until: until)
        case .mismatch(let samePath, let firstPath):
            throw Self.mismatchError(request, samePath: samePath, firstPath: firstPath)
        case .proceed, nil: return nil
        }
    }

    /// The 400 for a key first used with other parameters (`samePath`) or on another endpoint.
    static func mismatchError(_ request: Request, samePath: Bool, firstPath: String) -> PaymentError {
        PaymentError.idempotencyMismatch(
            key: request.key,
            message: samePath
                ? nil
                : "Keys for idempotent requests can only be used for the same endpoint they were first used for "
                    + "('\(firstPath)' vs '\(request.path)'). Try using a key other than '\(request.key)' if you "
                    + "meant to execute a different request."
        )
    }

    /// Runs `body`, the request `lease` was handed out for: while its key is new, `body`'s first write transaction
    /// inserts the key row (see ``KeyClaim``). The lease is renewed while `body` runs (``LeaseRenewal``).
    /// - Throws: whatever `body` throws; ``IdempotencyKeyTaken`` when another request took the new key first.
    public func holding<T>(_ lease: IdempotencyLease, _ body: () async throws -> T) async throws -> T {
        context.leaseRenewal.hold(lease)
        defer { context.leaseRenewal.release(lease) }
        return try await KeyClaim.$current.withValue(lease.claim) { try await body() }
    }

    /// Saves the response of a request whose use case did not save it itself (endpoints that move no money) and
    /// ends the lease.
    /// - Throws: 409 when the lease was lost meanwhile (nothing is saved; the new holder's answer stands).
    public func finish(_ lease: IdempotencyLease, response: SavedResponse) async throws {
        try await holding(lease) {
            try await context.database.write { tx in try Self.save(response, under: lease, in: tx) }
        }
    }

    /// Saves `response` as the key's answer and ends the lease, in `tx`.
    /// - Throws: ``PaymentError/idempotencyLeaseLost(key:)`` when `lease` no longer holds the key.
    static func save(
        _ response: SavedResponse,
        under lease: IdempotencyLease,
        in tx: any StoreTransaction,
        paymentIntent: String? = nil
    ) throws {
        do {
            try tx.finishIdempotentRequest(
                apiKey: lease.apiKey,
                key: lease.key,
                token: lease.token,
                status: response.status,
                body: response.body,
                paymentIntent: paymentIntent
            )
        } catch is IdempotencyLeaseLost {
            throw PaymentError.idempotencyLeaseLost(key: lease.key)
        }
    }

    /// Ends the lease of a request that stopped without a response to save: a key at its start is forgotten (the
    /// request never executed, so a corrected retry runs anew); one with a recovery point is unlocked, so a retry
    /// resumes from it at once. A lease already lost is left alone.
    public func release(_ lease: IdempotencyLease) async throws {
        // A new key no write of the request claimed has no row to release.
        if let claim = lease.claim, !claim.isClaimed { return }
        try await context.database.write { tx in
            try tx.releaseIdempotentRequest(apiKey: lease.apiKey, key: lease.key, token: lease.token)
        }
    }
}
