import Foundation
import PaymentsCore

/// The JSON text of nested values (metadata, billing details, errors), byte for byte as the SQLite store writes it
/// (`RowValue.jsonText` in PaymentsStore): keys sorted, the same encoder settings and the same shortcuts for the
/// empty values most rows hold. A row written by either store therefore reads the same, and an admin's SQL that
/// compares the text finds it on both databases (`PostgresStoreParityTests` compares the columns).
enum PostgresJSON {
    /// `value` as JSON text.
    static func text<T: Encodable>(_ value: T) throws -> String {
        if let metadata = value as? [String: String], metadata.isEmpty { return "{}" }
        if let details = value as? BillingDetails, details == BillingDetails() { return emptyBillingDetails }
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The value of JSON `text`.
    static func value<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        if text == "{}", let empty = [String: String]() as? T { return empty }
        if text == emptyBillingDetails, let empty = BillingDetails() as? T { return empty }
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    /// The JSON of `BillingDetails()` as the encoder writes it.
    static let emptyBillingDetails = #"{"address":{}}"#

    /// GRDB's `databaseJSONEncoder(for:)` settings, as the SQLite store uses them; encoders are thread-safe.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dataEncodingStrategy = .base64
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.nonConformingFloatEncodingStrategy = .throw
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    /// GRDB's `databaseJSONDecoder(for:)` settings, shared like ``encoder``.
    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dataDecodingStrategy = .base64
        decoder.dateDecodingStrategy = .millisecondsSince1970
        decoder.nonConformingFloatDecodingStrategy = .throw
        return decoder
    }()
}
