import GRDB
import PaymentsCore

extension PaymentIntent: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "payment_intents"

    /// Every column: an intent is written several times on every payment's path (created, confirmed, settled).
    static let columns = RowColumns<PaymentIntent>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "capture_method": { $0.captureMethod.rawValue },
            "confirmation_method": { $0.confirmationMethod.rawValue },
            "client_secret": { $0.clientSecret },
            "customer": { $0.customer },
            "payment_method": { $0.paymentMethod },
            "description": { $0.description },
            "receipt_email": { $0.receiptEmail },
            "statement_descriptor": { $0.statementDescriptor },
            "statement_descriptor_suffix": { $0.statementDescriptorSuffix },
            "metadata": { try RowValue.jsonText($0.metadata) },
            "setup_future_usage": { $0.setupFutureUsage?.rawValue },
            "amount_capturable": { $0.amountCapturable },
            "amount_received": { $0.amountReceived },
            "latest_charge": { $0.latestCharge },
            "last_payment_error": { try $0.lastPaymentError.map(RowValue.jsonText) },
            "canceled_at": { $0.canceledAt },
            "cancellation_reason": { $0.cancellationReason?.rawValue },
            "return_url": { $0.returnURL },
            "off_session": { $0.offSession },
            "authenticated_payment_method": { $0.authenticatedPaymentMethod },
            "authentication_token": { $0.authenticationToken },
            "attempt_expires_at": { $0.attemptExpiresAt },
            "succeeded_at": { $0.succeededAt },
            "authorized_at": { $0.authorizedAt },
            "origin": { $0.origin.rawValue },
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
    }
}
