import Foundation
import GRDB
import PaymentsCore

// GRDB conformances of the domain's row types. The values are plain Codable structs in PaymentsCore; their coding
// keys are the column names, and nested values (metadata, billing details, errors) are stored as JSON text.

extension PaymentIntent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payment_intents"
}

extension Customer: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "customers"
}

extension PaymentMethod: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payment_methods"
}

extension Charge: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "charges"
}

/// A row of the `card_vault` table: one sealed card number.
struct VaultRecord: Codable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "card_vault"
    var paymentMethod: String
    var keyID: String
    var sealed: Data

    enum CodingKeys: String, CodingKey {
        case paymentMethod = "payment_method"
        case keyID = "key_id"
        case sealed
    }
}

extension Refund: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "refunds"
}

extension IdempotencyKey: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "idempotency_keys"
}
