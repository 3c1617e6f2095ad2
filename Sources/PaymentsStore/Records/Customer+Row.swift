import GRDB
import PaymentsCore

extension Customer: FetchableRecord, TableRecord, StoredRow {
    public static let databaseTableName = "customers"

    /// Every column.
    static let columns = RowColumns<Customer>(
        table: databaseTableName,
        primaryKey: ["id"],
        [
            "id": { RowValue.stored($0.id) },
            "created": { RowValue.stored($0.created) },
            "email": { RowValue.stored($0.email) },
            "name": { RowValue.stored($0.name) },
            "phone": { RowValue.stored($0.phone) },
            "description": { RowValue.stored($0.description) },
            "metadata": { try RowValue.stored(RowValue.jsonText($0.metadata)) },
            "default_payment_method": { RowValue.stored($0.defaultPaymentMethod) },
            "deleted": { RowValue.stored($0.deleted) },
            "address": { try RowValue.stored($0.address.map(RowValue.jsonText)) },
            "shipping": { try RowValue.stored($0.shipping.map(RowValue.jsonText)) },
        ]
    )

    /// Decodes a row by hand, without Codable's per-column overhead.
    public init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(
            id: row["id"],
            created: row["created"],
            email: row["email"],
            name: row["name"],
            phone: row["phone"],
            description: row["description"],
            metadata: try RowValue.json(row, "metadata"),
            defaultPaymentMethod: row["default_payment_method"],
            deleted: row["deleted"],
            address: try RowValue.optionalJSON(row, "address"),
            shipping: try RowValue.optionalJSON(row, "shipping")
        )
    }
}
