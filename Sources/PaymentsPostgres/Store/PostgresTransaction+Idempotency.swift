import Foundation
import PaymentsCore

// MARK: - Idempotency keys

extension PostgresTransaction {
    /// The begin phase, safe with any number of instances: `INSERT … ON CONFLICT DO NOTHING` first (a second
    /// transaction inserting the same new key waits for the first to commit, then inserts nothing), then the row read
    /// `FOR NO KEY UPDATE`, so a takeover of a key whose lease ran out is decided by one transaction at a time.
    func beginIdempotentRequest(
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
        let fresh = IdempotencyKey(
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
        let columns = PostgresRecords.idempotencyKey
        // A row found by the insert can be deleted before the read (pruned, or released at its start): insert again.
        for _ in 0..<Self.beginAttempts {
            if try execute(
                columns.insertSQL + " ON CONFLICT (api_key, key) DO NOTHING",
                try columns.arguments(for: fresh)
            ) == 1 {
                return .proceed(fresh)
            }
            guard
                var row = try fetchOne(
                    "SELECT * FROM idempotency_keys WHERE api_key = $1 AND key = $2" + lockRow,
                    [.text(apiKey), .text(key)],
                    PostgresRecords.idempotencyKey
                )
            else { continue }
            if let decision = row.decision(method: method, path: path, fingerprint: fingerprint, now: now) {
                return decision
            }
            // Free, or its holder's lease ran out (the holder died, or overran and can no longer write): take it.
            row.lockedBy = token
            row.lockedUntil = lockedUntil
            try updateRow(row, columns)
            return .proceed(row)
        }
        throw PostgresStoreError.rowMissing(table: columns.table)
    }

    /// How many times the begin phase inserts a key that keeps disappearing before it is read: a key is deleted
    /// only by its own release or by the pruning of expired keys, so a second try finds it inserted or stable.
    static let beginAttempts = 3

    func markIdempotentProgress(
        apiKey: String,
        key: String,
        token: String,
        point: IdempotencyKey.RecoveryPoint,
        paymentIntent: String?,
        charge: String?,
        refund: String?
    ) throws {
        let changed = try execute(
            """
            UPDATE idempotency_keys SET recovery_point = $1, payment_intent = coalesce($2, payment_intent),
                charge = coalesce($3, charge), refund = coalesce($4, refund)
            WHERE api_key = $5 AND key = $6 AND locked_by = $7 AND recovery_point <> 'finished'
            """,
            [
                .text(point.rawValue), paymentIntent.postgresValue, charge.postgresValue, refund.postgresValue,
                .text(apiKey), .text(key), .text(token),
            ]
        )
        guard changed == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    func finishIdempotentRequest(
        apiKey: String,
        key: String,
        token: String,
        status: Int,
        body: [UInt8],
        paymentIntent: String?
    ) throws {
        let changed = try execute(
            """
            UPDATE idempotency_keys SET recovery_point = 'finished', response_status = $1, response_body = $2,
                payment_intent = coalesce($3, payment_intent), locked_by = NULL, locked_until = NULL
            WHERE api_key = $4 AND key = $5 AND locked_by = $6 AND recovery_point <> 'finished'
            """,
            [
                .integer(Int64(status)), .bytes(Data(body)), paymentIntent.postgresValue, .text(apiKey), .text(key),
                .text(token),
            ]
        )
        guard changed == 1 else { throw IdempotencyLeaseLost(apiKey: apiKey, key: key) }
    }

    func releaseIdempotentRequest(apiKey: String, key: String, token: String) throws {
        let arguments: [PostgresValue] = [.text(apiKey), .text(key), .text(token)]
        try execute(
            """
            DELETE FROM idempotency_keys
            WHERE api_key = $1 AND key = $2 AND locked_by = $3 AND recovery_point = 'started'
            """,
            arguments
        )
        try execute(
            """
            UPDATE idempotency_keys SET locked_by = NULL, locked_until = NULL
            WHERE api_key = $1 AND key = $2 AND locked_by = $3 AND recovery_point <> 'finished'
            """,
            arguments
        )
    }

    /// One statement for all of them: one round trip, whatever their number.
    func renewIdempotencyLeases(_ held: [HeldIdempotencyKey], until: Int64) throws {
        guard !held.isEmpty else { return }
        try execute(
            """
            UPDATE idempotency_keys AS k SET locked_until = $1
            FROM unnest($2::text[], $3::text[], $4::text[]) AS h(api_key, key, token)
            WHERE k.api_key = h.api_key AND k.key = h.key AND k.locked_by = h.token AND k.locked_until < $1
            """,
            [.integer(until), .texts(held.map(\.apiKey)), .texts(held.map(\.key)), .texts(held.map(\.token))]
        )
    }

    func idempotencyKey(apiKey: String, key: String) throws -> IdempotencyKey? {
        try fetchOne(
            "SELECT * FROM idempotency_keys WHERE api_key = $1 AND key = $2" + lockRow,
            [.text(apiKey), .text(key)],
            PostgresRecords.idempotencyKey
        )
    }

    /// Deletes up to `limit` keys that expired before `now` and that nobody holds at `realNow`, skipping rows
    /// another transaction holds (a request finishing its key, another instance's sweeper).
    func pruneIdempotencyKeys(expiredBefore now: Int64, unheldAt realNow: Int64, limit: Int) throws -> Int {
        try execute(
            """
            DELETE FROM idempotency_keys WHERE (api_key, key) IN (
                SELECT api_key, key FROM idempotency_keys
                WHERE expires_at IS NOT NULL AND expires_at < $1 AND (locked_until IS NULL OR locked_until <= $2)
                LIMIT $3\(skipLocked))
            """,
            [.integer(now), .integer(realNow), .integer(Int64(limit))]
        )
    }

    /// Moves up to `limit` keys of the scope `old` to `new`, after `key`; a key the scope `new` holds already
    /// stays where it is (SQLite's `UPDATE OR IGNORE`, as a `NOT EXISTS`).
    func rescopeIdempotencyKeys(from old: String, to new: String, after key: String, limit: Int) throws
        -> (last: String?, moved: Int)
    {
        let keys = try fetchAll(
            "SELECT key FROM idempotency_keys WHERE api_key = $1 AND key > $2 ORDER BY key LIMIT $3",
            [.text(old), .text(key), .integer(Int64(limit))]
        ) { row in try row.string("key") }
        var moved = 0
        for found in keys {
            moved += try execute(
                """
                UPDATE idempotency_keys SET api_key = $1 WHERE api_key = $2 AND key = $3
                    AND NOT EXISTS (SELECT 1 FROM idempotency_keys WHERE api_key = $1 AND key = $3)
                """,
                [.text(new), .text(old), .text(found)]
            )
        }
        return (keys.last, moved)
    }
}
