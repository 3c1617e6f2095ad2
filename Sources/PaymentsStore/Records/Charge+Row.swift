import GRDB
import PaymentsCore

extension Charge: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "charges"

    /// Every column: a charge is inserted pending before the network is asked and saved again with its answer.
    static let columns = RowColumns<Charge>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { $0.id },
            "created": { $0.created },
            "payment_intent": { $0.paymentIntent },
            "payment_method": { $0.paymentMethod },
            "customer": { $0.customer },
            "amount": { $0.amount },
            "currency": { $0.currency },
            "status": { $0.status.rawValue },
            "capture": { $0.capture },
            "captured": { $0.captured },
            "amount_captured": { $0.amountCaptured },
            "amount_refunded": { $0.amountRefunded },
            "failure_code": { $0.failureCode },
            "failure_message": { $0.failureMessage },
            "decline_code": { $0.declineCode },
            "off_session": { $0.offSession },
            "three_d_secure": { $0.threeDSecure },
            "authorization_code": { $0.authorizationCode },
            "resolved_at": { $0.resolvedAt },
            "description": { $0.description },
            "metadata": { try RowValue.jsonText($0.metadata) },
            "risk_level": { $0.riskLevel?.rawValue },
            "cvc_check": { $0.cvcCheck?.rawValue },
            "address_line1_check": { $0.addressLine1Check?.rawValue },
            "address_postal_code_check": { $0.addressPostalCodeCheck?.rawValue },
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
        riskLevel = try RowValue.optionalChoice(row, "risk_level")
        cvcCheck = try RowValue.optionalChoice(row, "cvc_check")
        addressLine1Check = try RowValue.optionalChoice(row, "address_line1_check")
        addressPostalCodeCheck = try RowValue.optionalChoice(row, "address_postal_code_check")
    }
}
