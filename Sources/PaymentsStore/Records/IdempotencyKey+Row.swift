import GRDB
import PaymentsCore

extension IdempotencyKey: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "idempotency_keys"

    /// Every column; a key is found by its scope and its name. Every idempotent request reads its key, and inserts
    /// it or takes it over.
    static let columns = RowColumns<IdempotencyKey>(
        table: databaseTableName,
        primaryKey: ["api_key", "key"],
        [
            "api_key": { $0.apiKey },
            "key": { $0.key },
            "created": { $0.created },
            "expires_at": { $0.expiresAt },
            "method": { $0.method },
            "path": { $0.path },
            "fingerprint": { $0.fingerprint },
            "locked_by": { $0.lockedBy },
            "locked_until": { $0.lockedUntil },
            "recovery_point": { $0.recoveryPoint.rawValue },
            "payment_intent": { $0.paymentIntent },
            "charge": { $0.charge },
            "refund": { $0.refund },
            "request_id": { $0.requestID },
            "response_status": { $0.responseStatus },
            "response_body": { $0.responseBody },
        ]
    )

    /// Decodes a row by hand, without Codable's per-column overhead.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            apiKey: row["api_key"],
            key: row["key"],
            created: row["created"],
            expiresAt: row["expires_at"],
            method: row["method"],
            path: row["path"],
            fingerprint: row["fingerprint"],
            lockedBy: row["locked_by"],
            lockedUntil: row["locked_until"],
            recoveryPoint: try RowValue.choice(row, "recovery_point"),
            paymentIntent: row["payment_intent"],
            charge: row["charge"],
            refund: row["refund"],
            requestID: row["request_id"],
            responseStatus: row["response_status"],
            responseBody: row["response_body"]
        )
    }
}
