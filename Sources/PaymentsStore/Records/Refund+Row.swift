import GRDB
import PaymentsCore

extension Refund: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "refunds"

    /// Every column: a refund is inserted pending before the network is asked and saved again with its answer.
    static let columns = RowColumns<Refund>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "charge": { $0.charge },
            "payment_intent": { $0.paymentIntent },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "reason": { $0.reason?.rawValue },
            "metadata": { try RowValue.jsonText($0.metadata) },
            "failure_reason": { $0.failureReason },
            "settles_at": { $0.settlesAt },
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
