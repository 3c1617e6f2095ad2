import Foundation
import GRDB
import PaymentsCore

/// Column readers and writers for the row types' handwritten decoding and ``RowColumns``, in the encodings GRDB's
/// Codable records used, so that rows written before the store wrote its own SQL read back the same.
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

    /// A TEXT column holding JSON (``jsonText(_:)``).
    static func json<T: Decodable>(_ row: Row, _ column: String) throws -> T {
        guard let value = try optionalJSON(row, column) as T? else {
            throw DatabaseError(message: "\(column) is NULL")
        }
        return value
    }

    /// A nullable TEXT column holding JSON (``jsonText(_:)``).
    static func optionalJSON<T: Decodable>(_ row: Row, _ column: String) throws -> T? {
        guard let text = row[column] as String? else { return nil }
        // The empty values most rows hold, without the decoder (see ``jsonText(_:)``).
        if text == "{}", let empty = [String: String]() as? T { return empty }
        if text == emptyBillingDetails, let empty = BillingDetails() as? T { return empty }
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    /// `value` as JSON text, the way GRDB's Codable records stored nested values (metadata, billing details,
    /// errors): keys sorted, so that equal values are equal text, and as TEXT so that admins' SQL can query it.
    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        // Most rows have no metadata and cards no billing details: skip the encoder for the text it would produce.
        if let metadata = value as? [String: String], metadata.isEmpty { return "{}" }
        if let details = value as? BillingDetails, details == BillingDetails() { return emptyBillingDetails }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The JSON of `BillingDetails()` as the encoder writes it (`CodableRowCompatibilityTests` compares).
    static let emptyBillingDetails = #"{"address":{}}"#

    /// GRDB's `databaseJSONEncoder(for:)`, shared: encoders are safe to use from several threads.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dataEncodingStrategy = .base64
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.nonConformingFloatEncodingStrategy = .throw
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// GRDB's `databaseJSONDecoder(for:)`, shared like ``encoder``.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dataDecodingStrategy = .base64
        decoder.dateDecodingStrategy = .millisecondsSince1970
        decoder.nonConformingFloatDecodingStrategy = .throw
        return decoder
    }()
}
