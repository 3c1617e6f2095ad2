import Foundation
import GRDB
import PaymentsCore

// GRDB conformances of the domain's row types. The values are plain Codable structs in PaymentsCore; their coding
// keys are the column names, and nested values (metadata, billing details, errors) are stored as JSON text.

extension PaymentIntent: FetchableRecord, PersistableRecord {
    public static let databaseTableName = "payment_intents"

    /// Decodes a row by hand: an intent is read several times on every payment's path, and decoding its 32 columns
    /// through Codable cost more than running the query. Writes still go through Codable (`PersistableRecord`);
    /// the store conformance suite checks that what is written reads back equal.
    public init(row: Row) throws {
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
            metadata: try RowValue.json(row, "metadata") ?? [:],
            setupFutureUsage: try RowValue.optionalChoice(row, "setup_future_usage"),
            origin: try RowValue.choice(row, "origin")
        )
        status = try RowValue.choice(row, "status")
        amountCapturable = row["amount_capturable"]
        amountReceived = row["amount_received"]
        latestCharge = row["latest_charge"]
        lastPaymentError = try RowValue.json(row, "last_payment_error")
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

/// Column readers for hand-written row decoding.
enum RowValue {
    /// A TEXT column holding one of an enum's raw values.
    static func choice<T: RawRepresentable>(_ row: Row, _ column: String) throws -> T where T.RawValue == String {
        guard let value = try optionalChoice(row, column) as T? else {
            throw DatabaseError(message: "\(column) is NULL")
        }
        return value
    }

    /// A nullable TEXT column holding one of an enum's raw values.
    static func optionalChoice<T: RawRepresentable>(_ row: Row, _ column: String) throws -> T?
    where T.RawValue == String {
        guard let text = row[column] as String? else { return nil }
        guard let value = T(rawValue: text) else {
            throw DatabaseError(message: "\(column) holds an unknown value: \(text)")
        }
        return value
    }

    /// A nullable TEXT column holding JSON, as GRDB's Codable records store nested values.
    static func json<T: Decodable>(_ row: Row, _ column: String) throws -> T? {
        guard let text = row[column] as String? else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
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
