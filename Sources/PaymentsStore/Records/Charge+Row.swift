import GRDB
import PaymentsCore

extension Charge: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "charges"

    /// Every column: a charge is inserted pending before the network is asked and saved again with its answer.
    static let columns = RowColumns<Charge>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "payment_intent": { RowValue.stored($0.paymentIntent) },
            "payment_method": { RowValue.stored($0.paymentMethod) },
            "customer": { RowValue.stored($0.customer) },
            "amount": { RowValue.stored($0.amount) },
            "currency": { RowValue.stored($0.currency) },
            "status": { RowValue.stored($0.status.rawValue) },
            "capture": { RowValue.stored($0.capture) },
            "captured": { RowValue.stored($0.captured) },
            "amount_captured": { RowValue.stored($0.amountCaptured) },
            "amount_refunded": { RowValue.stored($0.amountRefunded) },
            "failure_code": { RowValue.stored($0.failureCode) },
            "failure_message": { RowValue.stored($0.failureMessage) },
            "decline_code": { RowValue.stored($0.declineCode) },
            "off_session": { RowValue.stored($0.offSession) },
            "three_d_secure": { RowValue.stored($0.threeDSecure) },
            "authorization_code": { RowValue.stored($0.authorizationCode) },
            "resolved_at": { RowValue.stored($0.resolvedAt) },
            "description": { RowValue.stored($0.description) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "receipt_email": { RowValue.stored($0.receiptEmail) },
            "statement_descriptor": { RowValue.stored($0.statementDescriptor) },
            "statement_descriptor_suffix": { RowValue.stored($0.statementDescriptorSuffix) },
            "shipping": { try RowValue.stored($0.shipping.map(RowValue.jsonText)) },
            "risk_level": { RowValue.stored($0.riskLevel?.rawValue) },
            "cvc_check": { RowValue.stored($0.cvcCheck?.rawValue) },
            "address_line1_check": { RowValue.stored($0.addressLine1Check?.rawValue) },
            "address_postal_code_check": { RowValue.stored($0.addressPostalCodeCheck?.rawValue) },
            "named_payment_method": { RowValue.stored($0.namedPaymentMethod) },
        ]
    )

    /// Decodes a row by hand, without Codable's per-column overhead.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            paymentIntent: row["payment_intent"],
            paymentMethod: row["payment_method"],
            customer: row["customer"],
            amount: row["amount"],
            currency: row["currency"],
            capture: row["capture"],
            offSession: row["off_session"],
            threeDSecure: row["three_d_secure"]
        )
        status = try RowValue.choice(row, "status")
        captured = row["captured"]
        amountCaptured = row["amount_captured"]
        amountRefunded = row["amount_refunded"]
        failureCode = row["failure_code"]
        failureMessage = row["failure_message"]
        declineCode = row["decline_code"]
        authorizationCode = row["authorization_code"]
        resolvedAt = row["resolved_at"]
        description = row["description"]
        metadata = try RowValue.json(row, "metadata")
        receiptEmail = row["receipt_email"]
        statementDescriptor = row["statement_descriptor"]
        statementDescriptorSuffix = row["statement_descriptor_suffix"]
        shipping = try RowValue.optionalJSON(row, "shipping")
        riskLevel = try RowValue.optionalChoice(row, "risk_level")
        cvcCheck = try RowValue.optionalChoice(row, "cvc_check")
        addressLine1Check = try RowValue.optionalChoice(row, "address_line1_check")
        addressPostalCodeCheck = try RowValue.optionalChoice(row, "address_postal_code_check")
        namedPaymentMethod = row["named_payment_method"]
    }
}
