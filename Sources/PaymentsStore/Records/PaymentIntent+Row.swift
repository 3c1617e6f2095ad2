import GRDB
import PaymentsCore

extension PaymentIntent: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "payment_intents"

    /// Every column: an intent is written several times on every payment's path (created, confirmed, settled).
    static let columns = RowColumns<PaymentIntent>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "amount": { RowValue.stored($0.amount) },
            "currency": { RowValue.stored($0.currency) },
            "status": { RowValue.stored($0.status.rawValue) },
            "capture_method": { RowValue.stored($0.captureMethod.rawValue) },
            "confirmation_method": { RowValue.stored($0.confirmationMethod.rawValue) },
            "client_secret": { RowValue.stored($0.clientSecret) },
            "customer": { RowValue.stored($0.customer) },
            "payment_method": { RowValue.stored($0.paymentMethod) },
            "description": { RowValue.stored($0.description) },
            "receipt_email": { RowValue.stored($0.receiptEmail) },
            "statement_descriptor": { RowValue.stored($0.statementDescriptor) },
            "statement_descriptor_suffix": { RowValue.stored($0.statementDescriptorSuffix) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "shipping": { try RowValue.stored($0.shipping.map(RowValue.jsonText)) },
            "setup_future_usage": { RowValue.stored($0.setupFutureUsage?.rawValue) },
            "amount_capturable": { RowValue.stored($0.amountCapturable) },
            "amount_received": { RowValue.stored($0.amountReceived) },
            "latest_charge": { RowValue.stored($0.latestCharge) },
            "last_payment_error": { try RowValue.stored($0.lastPaymentError.map(RowValue.jsonText)) },
            "canceled_at": { RowValue.stored($0.canceledAt) },
            "cancellation_reason": { RowValue.stored($0.cancellationReason?.rawValue) },
            "return_url": { RowValue.stored($0.returnURL) },
            "off_session": { RowValue.stored($0.offSession) },
            "authenticated_payment_method": { RowValue.stored($0.authenticatedPaymentMethod) },
            "authentication_token": { RowValue.stored($0.authenticationToken) },
            "attempt_expires_at": { RowValue.stored($0.attemptExpiresAt) },
            "succeeded_at": { RowValue.stored($0.succeededAt) },
            "authorized_at": { RowValue.stored($0.authorizedAt) },
            "origin": { RowValue.stored($0.origin.rawValue) },
            "settling": { try RowValue.stored($0.settling.map(RowValue.jsonText)) },
        ]
    )

    /// The full-row UPDATE while the status is still the expected one (the last parameter): the compare-and-set of
    /// ``SQLiteTransaction/update(_:expecting:)`` and the save, in one statement.
    static let compareAndSetSQL = columns.updateSQL(whereStill: "status")

    /// Decodes a row by hand: an intent is read several times on every payment's path, and decoding its 30 columns
    /// through Codable cost more than running the query.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            amount: row["amount"],
            currency: row["currency"],
            captureMethod: try RowValue.choice(row, "capture_method"),
            confirmationMethod: try RowValue.choice(row, "confirmation_method"),
            clientSecret: row["client_secret"],
            customer: row["customer"],
            paymentMethod: row["payment_method"],
            description: row["description"],
            receiptEmail: row["receipt_email"],
            statementDescriptor: row["statement_descriptor"],
            statementDescriptorSuffix: row["statement_descriptor_suffix"],
            metadata: try RowValue.json(row, "metadata"),
            shipping: try RowValue.optionalJSON(row, "shipping"),
            setupFutureUsage: try RowValue.optionalChoice(row, "setup_future_usage"),
            origin: try RowValue.choice(row, "origin")
        )
        status = try RowValue.choice(row, "status")
        amountCapturable = row["amount_capturable"]
        amountReceived = row["amount_received"]
        latestCharge = row["latest_charge"]
        lastPaymentError = try RowValue.optionalJSON(row, "last_payment_error")
        canceledAt = row["canceled_at"]
        cancellationReason = try RowValue.optionalChoice(row, "cancellation_reason")
        returnURL = row["return_url"]
        offSession = row["off_session"]
        authenticatedPaymentMethod = row["authenticated_payment_method"]
        authenticationToken = row["authentication_token"]
        attemptExpiresAt = row["attempt_expires_at"]
        succeededAt = row["succeeded_at"]
        authorizedAt = row["authorized_at"]
        settling = try RowValue.optionalJSON(row, "settling")
    }
}
