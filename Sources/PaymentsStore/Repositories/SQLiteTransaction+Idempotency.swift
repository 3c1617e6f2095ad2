import Foundation
import GRDB
import PaymentsCore

// MARK: - Idempotency keys

extension SQLiteTransaction {
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
        // Nearly every key arrives new: insert it straight away, and read the row only when the key was there
        // already (one statement instead of a read that finds nothing and an insert, on the writer).
        let new = IdempotencyKey(
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
        let columns = IdempotencyKey.columns
        try db.cachedStatement(sql: Self.insertNewKeySQL).run(columns.values(of: new))
        if db.changesCount == 1 { return .proceed(new) }
        guard
            var row = try fetchOne(
                IdempotencyKey.self,
                "SELECT * FROM idempotency_keys WHERE api_key = ? AND key = ?",
                [apiKey, key]
            )
        else {
            throw DatabaseError(message: "idempotency key \(key) neither inserted nor found")
        }
        if let decision = row.decision(method: method, path: path, fingerprint: fingerprint, now: now) {
            return decision
        }
        // Free, or its holder's lease ran out (the holder died, or overran and can no longer write): take it.
        row.lockedBy = token
        row.lockedUntil = lockedUntil
        try updateRow(row)
        return .proceed(row)
    }

    /// Inserts a key unless one with its API key and key exists (`changesCount` tells which).
    private static let insertNewKeySQL = IdempotencyKey.columns.insertSQL + " ON CONFLICT (api_key, key) DO NOTHING"

    /// Records how far the key's request got, in the same transaction as the work it describes.
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key (the transaction must roll back).
    public func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String?,
        charge: String?,
        refund: String?
    ) throws {
        try execute(
            """
            UPDATE idempotency_keys SET recovery_point = ?, payment_intent = coalesce(?, payment_intent),
                charge = coalesce(?, charge), refund = coalesce(?, refund)
            WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
            """,
            [point.rawValue, paymentIntent, charge, refund, apiKey, key, token]
        )
        guard db.changesCount == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    /// Saves the response and ends the lease: later requests with the key replay these exact bytes.
    /// - Throws: ``IdempotencyLeaseLost`` when `token` no longer holds the key (the transaction must roll back).
    public func finishIdempotentRequest(
        apiKey: String,
        key: String,
        token: String,
        status: Int,
        body: [UInt8],
        paymentIntent: String?
    ) throws {
        try execute(
            """
            UPDATE idempotency_keys SET recovery_point = 'finished', response_status = ?, response_body = ?,
                payment_intent = coalesce(?, payment_intent), locked_by = NULL, locked_until = NULL
            WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
            """,
            [status, Data(body), paymentIntent, apiKey, key, token]
        )
        guard db.changesCount == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    /// Ends the lease of a request that stopped without a result to save. A key still at its start is forgotten
    /// (the request never executed: a retry runs anew, as Stripe); one that recorded progress is only unlocked,
    /// so a retry resumes from it. Does nothing when `token` no longer holds the key.
    public func releaseIdempotentRequest(apiKey: String, key: String, token: String) throws {
        try execute(
            """
            DELETE FROM idempotency_keys
            WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point = 'started'
            """,
            [apiKey, key, token]
        )
        try execute(
            """
            UPDATE idempotency_keys SET locked_by = NULL, locked_until = NULL
            WHERE api_key = ? AND key = ? AND locked_by = ? AND recovery_point != 'finished'
            """,
            [apiKey, key, token]
        )
    }

    public func renewIdempotencyLeases(_ held: [HeldIdempotencyKey], until: Int64) throws {
        for lease in held {
            try execute(
                """
                UPDATE idempotency_keys SET locked_until = ?
                WHERE api_key = ? AND key = ? AND locked_by = ? AND locked_until < ?
                """,
                [until, lease.apiKey, lease.key, lease.token, until]
            )
        }
    }

    /// The key row, if any.
    public func idempotencyKey(apiKey: String, key: String) throws -> IdempotencyKey? {
        try fetchOne(
            IdempotencyKey.self,
            "SELECT * FROM idempotency_keys WHERE api_key = ? AND key = ?",
            [apiKey, key]
        )
    }

    /// Moves up to `limit` keys of the scope `old` to `new`, after `key` (the primary key's prefix finds them);
    /// `UPDATE OR IGNORE` leaves a key that `new` holds already where it is.
    public func rescopeIdempotencyKeys(from old: String, to new: String, after key: String, limit: Int) throws
        -> (last: String?, moved: Int)
    {
        let keys = try String.fetchAll(
            db,
            sql: "SELECT key FROM idempotency_keys WHERE api_key = ? AND key > ? ORDER BY key LIMIT ?",
            arguments: [old, key, limit]
        )
        var moved = 0
        for found in keys {
            try execute(
                "UPDATE OR IGNORE idempotency_keys SET api_key = ? WHERE api_key = ? AND key = ?",
                [new, old, found]
            )
            moved += db.changesCount
        }
        return (keys.last, moved)
    }

    /// Deletes up to `limit` keys that expired before `now` and that nobody holds at `realNow`; returns how many.
    public func pruneIdempotencyKeys(expiredBefore now: Int64, unheldAt realNow: Int64, limit: Int) throws -> Int {
        // The sweeper's rule c: searches `idempotency_keys_expiring` (see `SweeperQueryPlanTests`).
        try execute(SweeperQuery.idempotencyKeysDue.sql, [now, realNow, limit])
        return db.changesCount
    }
}
