import Foundation
import GRDB

/// A row of the `card_vault` table: one sealed card number.
struct VaultRecord: FetchableRecord, TableRecord, StoredRow {
    static let databaseTableName = "card_vault"
    var paymentMethod: String
    var keyID: String
    var sealed: Data

    /// Every column; the sealed bytes are a blob.
    static let columns = RowColumns<VaultRecord>(
        table: databaseTableName,
        primaryKey: ["payment_method"],
        [
            "payment_method": { RowValue.stored($0.paymentMethod) },
            "key_id": { RowValue.stored($0.keyID) },
            "sealed": { RowValue.stored($0.sealed) },
        ]
    )

    /// Creates a row.
    init(paymentMethod: String, keyID: String, sealed: Data) {
        self.paymentMethod = paymentMethod
        self.keyID = keyID
        self.sealed = sealed
    }

    /// Decodes a row by hand.
    init(row: Row) throws { try self.init(columns: row) }

    init<Columns: ColumnValues>(columns row: Columns) throws {
        self.init(paymentMethod: row["payment_method"], keyID: row["key_id"], sealed: row["sealed"])
    }
}
