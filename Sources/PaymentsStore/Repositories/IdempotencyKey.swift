import Foundation
import GRDB

/// A row of `idempotency_keys`: one (API key, Idempotency-Key) pair, how far its first request got, and the
/// exact response that was sent.
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
        /// The response is saved; later requests replay it.
        case finished
    }

    /// A hash of the API key (never the key itself), or a fixed scope such as `pay` for keyless endpoints.
    public var apiKey: String
    public var key: String
    public var created: Int64
    public var method: String
    public var path: String
    /// A hash of method, path and the canonical parameters.
    public var fingerprint: String
    public var lockedAt: Int64?
    /// The server instance whose request holds the lock; a lock held by another instance was left by a crash.
    public var lockedBy: String?
    public var recoveryPoint: RecoveryPoint
    public var paymentIntent: String?
    public var charge: String?
    public var requestID: String
    public var responseStatus: Int?
    public var responseBody: Data?

    public enum CodingKeys: String, CodingKey {
        case key, created, method, path, fingerprint, charge
        case apiKey = "api_key"
        case lockedAt = "locked_at"
        case lockedBy = "locked_by"
        case recoveryPoint = "recovery_point"
        case paymentIntent = "payment_intent"
        case requestID = "request_id"
        case responseStatus = "response_status"
        case responseBody = "response_body"
    }
}

/// What the begin phase found for a request's idempotency key.
public enum IdempotencyBegin: Sendable, Equatable {
    /// The key is new, or its first request died: this request owns the lock and resumes from `row`.
    case proceed(IdempotencyKey)
    /// The first request finished: replay its response.
    case replay(IdempotencyKey)
    /// The first request is still running.
    case inFlight
    /// The key was first used with other parameters (`samePath` false: on another endpoint).
    case mismatch(samePath: Bool, firstPath: String)
}

// MARK: - Idempotency keys

extension StoreTransaction {
    /// The begin phase: inserts the key locked by `instance`, or reports what its first request left.
    public func beginIdempotentRequest(
        apiKey: String,
        key: String,
        method: String,
        path: String,
        fingerprint: String,
        requestID: String,
        instance: String,
        now: Int64
    ) throws -> IdempotencyBegin {
        if var row = try IdempotencyKey.fetchOne(db, key: ["api_key": apiKey, "key": key]) {
            guard row.path == path && row.method == method else {
                return .mismatch(samePath: false, firstPath: row.path)
            }
            guard row.fingerprint == fingerprint else { return .mismatch(samePath: true, firstPath: row.path) }
            if row.recoveryPoint == .finished { return .replay(row) }
            if row.lockedBy == instance { return .inFlight }
            // Locked by an instance that no longer runs (a crash): take the lock over and resume.
            row.lockedAt = now
            row.lockedBy = instance
            try row.update(db)
            return .proceed(row)
        }
        let row = IdempotencyKey(
            apiKey: apiKey,
            key: key,
            created: now,
            method: method,
            path: path,
            fingerprint: fingerprint,
            lockedAt: now,
            lockedBy: instance,
            recoveryPoint: .started,
            paymentIntent: nil,
            charge: nil,
            requestID: requestID,
            responseStatus: nil,
            responseBody: nil
        )
        try row.insert(db)
        return .proceed(row)
    }

    /// Records how far the key's request got, in the same transaction as the work it describes.
    public func markIdempotentProgress(
        apiKey: String,
        key: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String?,
        charge: String?
    ) throws {
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET recovery_point = ?, payment_intent = coalesce(?, payment_intent),
                    charge = coalesce(?, charge)
                WHERE api_key = ? AND key = ? AND recovery_point != 'finished'
                """,
            arguments: [point.rawValue, paymentIntent, charge, apiKey, key]
        )
    }

    /// Saves the response and releases the lock: later requests with the key replay these exact bytes.
    public func finishIdempotentRequest(apiKey: String, key: String, status: Int, body: Data) throws {
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET recovery_point = 'finished', response_status = ?, response_body = ?,
                    locked_at = NULL, locked_by = NULL
                WHERE api_key = ? AND key = ?
                """,
            arguments: [status, body, apiKey, key]
        )
    }

    /// Forgets a key whose request failed validation before executing: a retry runs anew, as Stripe.
    /// Only a key still at its start is removed; one that recorded progress is unlocked instead.
    public func abandonIdempotentRequest(apiKey: String, key: String) throws {
        try db.execute(
            sql: "DELETE FROM idempotency_keys WHERE api_key = ? AND key = ? AND recovery_point = 'started'",
            arguments: [apiKey, key]
        )
        try db.execute(
            sql: """
                UPDATE idempotency_keys SET locked_at = NULL, locked_by = NULL
                WHERE api_key = ? AND key = ? AND recovery_point != 'finished'
                """,
            arguments: [apiKey, key]
        )
    }

    /// Deletes up to `limit` unlocked keys created before `cutoff`; returns how many.
    public func pruneIdempotencyKeys(createdBefore cutoff: Int64, limit: Int) throws -> Int {
        // The sweeper's rule c: searches `idempotency_keys_by_created` (see `SweeperQueryPlanTests`).
        try db.execute(sql: SweeperQuery.idempotencyKeysDue.sql, arguments: [cutoff, limit])
        return db.changesCount
    }
}
