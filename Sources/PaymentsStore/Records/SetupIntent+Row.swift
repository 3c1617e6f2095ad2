import GRDB
import PaymentsCore

extension SetupIntent: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "setup_intents"

    /// Every column: a setup intent is written whole on each change, by a compare-and-set on its status.
    static let columns = RowColumns<SetupIntent>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "status": { RowValue.stored($0.status.rawValue) },
            "usage": { RowValue.stored($0.usage.rawValue) },
            "client_secret": { RowValue.stored($0.clientSecret) },
            "customer": { RowValue.stored($0.customer) },
            "payment_method": { RowValue.stored($0.paymentMethod) },
            "description": { RowValue.stored($0.description) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "last_setup_error": { try RowValue.stored($0.lastSetupError.map(RowValue.jsonText)) },
            "latest_attempt": { RowValue.stored($0.latestAttempt) },
            "return_url": { RowValue.stored($0.returnURL) },
            "authentication_token": { RowValue.stored($0.authenticationToken) },
            "attempt_expires_at": { RowValue.stored($0.attemptExpiresAt) },
            "succeeded_at": { RowValue.stored($0.succeededAt) },
            "canceled_at": { RowValue.stored($0.canceledAt) },
            "cancellation_reason": { RowValue.stored($0.cancellationReason?.rawValue) },
        ]
    )

    /// The full-row UPDATE while the status is still the expected one (the last parameter): the compare-and-set of
    /// ``SQLiteTransaction/update(_:expecting:)`` and the save, in one statement.
    static let compareAndSetSQL = columns.updateSQL(whereStill: "status")

    /// Decodes a row by hand, as the other row types do.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            usage: try RowValue.choice(row, "usage"),
            clientSecret: row["client_secret"],
            customer: row["customer"],
            paymentMethod: row["payment_method"],
            description: row["description"],
            metadata: try RowValue.json(row, "metadata")
        )
        status = try RowValue.choice(row, "status")
        lastSetupError = try RowValue.optionalJSON(row, "last_setup_error")
        latestAttempt = row["latest_attempt"]
        returnURL = row["return_url"]
        authenticationToken = row["authentication_token"]
        attemptExpiresAt = row["attempt_expires_at"]
        succeededAt = row["succeeded_at"]
        canceledAt = row["canceled_at"]
        cancellationReason = try RowValue.optionalChoice(row, "cancellation_reason")
    }
}
