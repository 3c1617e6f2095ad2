import GRDB
import PaymentsCore

extension PaymentMethod: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "payment_methods"

    /// Every column but `type`, which has no property (every payment method is a card) and keeps its default.
    static let columns = RowColumns<PaymentMethod>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "customer": { RowValue.stored($0.customer) },
            "brand": { RowValue.stored($0.brand) },
            "last4": { RowValue.stored($0.last4) },
            "exp_month": { RowValue.stored($0.expMonth) },
            "exp_year": { RowValue.stored($0.expYear) },
            "fingerprint": { RowValue.stored($0.fingerprint) },
            "funding": { RowValue.stored($0.funding) },
            "country": { RowValue.stored($0.country) },
            "cvc_check": { RowValue.stored($0.cvcCheck) },
            "address_line1_check": { RowValue.stored($0.addressLine1Check) },
            "address_postal_code_check": { RowValue.stored($0.addressPostalCodeCheck) },
            "billing_details": { try RowValue.stored(RowValue.jsonText($0.billingDetails)) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "reusable": { RowValue.stored($0.reusable) },
            "off_session_ready": { RowValue.stored($0.offSessionReady) },
        ]
    )

    /// Decodes a row by hand, without Codable's per-column overhead.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        try self.init(read: row)
        self = withUnrecordedChecksUnchecked()
    }

    private init<Columns: ColumnValues>(read row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            customer: row["customer"],
            brand: row["brand"],
            last4: row["last4"],
            expMonth: row["exp_month"],
            expYear: row["exp_year"],
            fingerprint: row["fingerprint"],
            funding: row["funding"],
            country: row["country"],
            cvcCheck: row["cvc_check"],
            addressLine1Check: row["address_line1_check"],
            addressPostalCodeCheck: row["address_postal_code_check"],
            billingDetails: try RowValue.json(row, "billing_details"),
            metadata: try RowValue.json(row, "metadata"),
            reusable: row["reusable"],
            offSessionReady: row["off_session_ready"]
        )
    }
}
