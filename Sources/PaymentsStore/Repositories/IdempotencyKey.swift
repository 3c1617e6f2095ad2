import Foundation
import GRDB

/// A row of `idempotency_keys`: one (API key, Idempotency-Key) pair, who holds it now and until when, how far its
/// first request got, and the exact response that was sent.
public struct IdempotencyKey: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "idempotency_keys"

    /// How far the first request with the key got; a retry resumes from here.
    public enum RecoveryPoint: String, Codable, Sendable {
        /// Nothing committed yet.
        case started
        /// The PaymentIntent was created (`paymentIntent` names it).
        case intentCreated = "intent_created"
        /// A charge attempt was recorded before asking the network (`charge` names it).
        case attemptRecorded = "attempt_recorded"
        /// A refund was reserved before asking the network (`refund` names it).
        case refundRecorded = "refund_recorded"
        /// The response is saved; later requests replay it.
        case finished
    }

    /// A hash of the API key (never the key itself), or a fixed scope such as `pay` for keyless endpoints.
    public var apiKey: String
    public var key: String
    public var created: Int64
    /// When the sweeper deletes the key; nil for keys kept forever (recharge references).
    public var expiresAt: Int64?
    public var method: String
    public var path: String
    /// A keyed hash of method, path and the canonical parameters.
    public var fingerprint: String
    /// The lease token of the request holding the key, nil when nobody does.
    public var lockedBy: String?
    /// When the holder's lease runs out (unix seconds); after it, another request may take the key over.
    public var lockedUntil: Int64?
    public var recoveryPoint: RecoveryPoint
    public var paymentIntent: String?
    public var charge: String?
    public var refund: String?
    public var requestID: String
    public var responseStatus: Int?
    public var responseBody: Data?

    public enum CodingKeys: String, CodingKey {
        case key, created, method, path, fingerprint, charge, refund
        case apiKey = "api_key"
        case expiresAt = "expires_at"
        case lockedBy = "locked_by"
        case lockedUntil = "locked_until"
        case recoveryPoint = "recovery_point"
        case paymentIntent = "payment_intent"
        case requestID = "request_id"
        case responseStatus = "response_status"
        case responseBody = "response_body"
    }
}

/// What the begin phase found for a request's idempotency key.
public enum IdempotencyBegin: Sendable, Equatable {
    /// The key is new, or its holder's lease ran out: this request now holds it and resumes from `row`.
    case proceed(IdempotencyKey)
    /// The first request finished: replay its response.
    case replay(IdempotencyKey)
    /// Another request holds the key until `lockedUntil`.
    case inFlight(lockedUntil: Int64)
    /// The key was first used with other parameters (`samePath` false: on another endpoint).
    case mismatch(samePath: Bool, firstPath: String)
}

/// A write made under an idempotency lease that the request no longer holds: its lease ran out and another
/// request took the key over. The transaction that tried it rolls back.
public struct IdempotencyLeaseLost: Error, Sendable, Equatable {
    public let apiKey: String
    public let key: String
}

// MARK: - Idempotency keys

extension StoreTransaction {
    /// The begin phase: inserts the key held by `token` until `lockedUntil`, takes over a key whose holder's lease
    /// ran out before `now`, or reports what the key's first request left.
    public func beginIdempotentRequest(
        apiKey: String,
        key: String,
        method: String,
        path: String,
        fingerprint: String,
        requestID: String,
        token: String,
        now: Int64,
        lockedUntil: Int64,
        expiresAt: Int64?
    ) throws -> IdempotencyBegin {
        if var row = try IdempotencyKey.fetchOne(db, key: ["api_key": apiKey, "key": key]) {
            guard row.path == path && row.method == method else {
                return .mismatch(samePath: false, firstPath: row.path)
            }
            guard row.fingerprint == fingerprint else { return .mismatch(samePath: true, firstPath: row.path) }
            if row.recoveryPoint == .finished { return .replay(row) }
            if row.lockedBy != nil, let until = row.lockedUntil, until > now { return .inFlight(lockedUntil: until) }
            // Free, or its holder's lease ran out (the holder died, or overran and can no longer write): take it.
            row.lockedBy = token
            row.lockedUntil = lockedUntil
            try row.update(db)
            return .proceed(row)
        }
        let row = IdempotencyKey(
            apiKey: apiKey,
            key: key,
            created: now,
            expiresAt: expiresAt,
            method: method,
            path: path,
            fingerprint: fingerprint,
            lockedBy: token,
            lockedUntil: lockedUntil,
            recoveryPoint: .started,
            paymentIntent: nil,
            charge: nil,
            refund: nil,
            requestID: requestID,
            responseStatus: nil,
            responseBody: nil
        )
        try row.insert(db)
        return .proceed(row)
    }

    /// Records how far the key's request got, in the same transaction as the work it describes.
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key (the transaction must roll back).
    public func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String? = nil,
        charge: String? = nil,
        refund: String? = nil
    ) throws {
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET recovery_point = ?, payment_intent = coalesce(?, payment_intent),
                    charge = coalesce(?, charge), refund = coalesce(?, refund)
                WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
                """,
            arguments: [point.rawValue, paymentIntent, charge, refund, apiKey, key, token]
        )
        guard db.changesCount == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    /// Saves the response and ends the lease: later requests with the key replay these exact bytes.
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key (the transaction must roll back).
    public func finishIdempotentRequest(apiKey: String, key: String, token: String, status: Int, body: Data) throws {
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET recovery_point = 'finished', response_status = ?, response_body = ?,
                    locked_by = NULL, locked_until = NULL
                WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
                """,
            arguments: [status, body, apiKey, key, token]
        )
        guard db.changesCount == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    /// Ends the lease of a request that stopped without a result to save. A key still at its start is forgotten
    /// (the request never executed: a retry runs anew, as Stripe); one that recorded progress is only unlocked,
    /// so a retry resumes from it. Does nothing when `token` no longer holds the key.
    public func releaseIdempotentRequest(apiKey: String, key: String, token: String) throws {
        try db.execute(
            sql: """
                DELETE FROM idempotency_keys
                WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point = 'started'
                """,
            arguments: [apiKey, key, token]
        )
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET locked_by = NULL, locked_until = NULL
                WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
                """,
            arguments: [apiKey, key, token]
        )
    }

    /// The key row, if any.
    public func idempotencyKey(apiKey: String, key: String) throws -> IdempotencyKey? {
        try IdempotencyKey.fetchOne(db, key: ["api_key": apiKey, "key": key])
    }

    /// Deletes up to `limit` keys that expired before `now` and that nobody holds; returns how many.
    public func pruneIdempotencyKeys(expiredBefore now: Int64, limit: Int) throws -> Int {
        // The sweeper's rule c: searches `idempotency_keys_expiring` (see `SweeperQueryPlanTests`).
        try db.execute(sql: SweeperQuery.idempotencyKeysDue.sql, arguments: [now, now, limit])
        return db.changesCount
    }
}
