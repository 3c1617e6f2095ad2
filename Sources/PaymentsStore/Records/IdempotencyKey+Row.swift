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
            "api_key": { RowValue.stored($0.apiKey) },
            "key": { RowValue.stored($0.key) },
            "created": { RowValue.stored($0.created) },
            "expires_at": { RowValue.stored($0.expiresAt) },
            "method": { RowValue.stored($0.method) },
            "path": { RowValue.stored($0.path) },
            "fingerprint": { RowValue.stored($0.fingerprint) },
            "locked_by": { RowValue.stored($0.lockedBy) },
            "locked_until": { RowValue.stored($0.lockedUntil) },
            "recovery_point": { RowValue.stored($0.recoveryPoint.rawValue) },
            "payment_intent": { RowValue.stored($0.paymentIntent) },
            "charge": { RowValue.stored($0.charge) },
            "refund": { RowValue.stored($0.refund) },
            "request_id": { RowValue.stored($0.requestID) },
            "response_status": { RowValue.stored($0.responseStatus) },
            "response_body": { RowValue.stored($0.responseBody) },
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
