import GRDB
import PaymentsCore

extension Refund: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "refunds"

    /// Every column: a refund is inserted pending before the network is asked and saved again with its answer.
    static let columns = RowColumns<Refund>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "charge": { RowValue.stored($0.charge) },
            "payment_intent": { RowValue.stored($0.paymentIntent) },
            "amount": { RowValue.stored($0.amount) },
            "currency": { RowValue.stored($0.currency) },
            "status": { RowValue.stored($0.status.rawValue) },
            "reason": { RowValue.stored($0.reason?.rawValue) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "failure_reason": { RowValue.stored($0.failureReason) },
            "settles_at": { RowValue.stored($0.settlesAt) },
        ]
    )

    /// Decodes a row by hand, without Codable's per-column overhead.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            charge: row["charge"],
            paymentIntent: row["payment_intent"],
            amount: row["amount"],
            currency: row["currency"],
            reason: try RowValue.optionalChoice(row, "reason"),
            metadata: try RowValue.json(row, "metadata")
        )
        status = try RowValue.choice(row, "status")
        failureReason = row["failure_reason"]
        settlesAt = row["settles_at"]
    }
}
