import Foundation
import GRDB
import PaymentsCore

/// Column readers and writers for the row types' handwritten decoding and ``RowColumns``, in the encodings GRDB's
/// Codable records used, so that rows written before the store wrote its own SQL read back the same.
enum RowValue {
    /// A TEXT column holding one of an enum's raw values.
    static func choice<T: RawRepresentable>(_ row: some ColumnValues, _ column: String) throws -> T
    where T.RawValue == String {
        guard let value = try optionalChoice(row, column) as T? else {
            throw DatabaseError(message: "\(column) is NULL")
        }
        return value
    }

    /// A nullable TEXT column holding one of an enum's raw values.
    static func optionalChoice<T: RawRepresentable>(_ row: some ColumnValues, _ column: String) throws -> T?
    where T.RawValue == String {
        guard let text = row[column] as String? else { return nil }
        guard let value = T(rawValue: text) else {
            throw DatabaseError(message: "\(column) holds an unknown value: \(text)")
        }
        return value
    }

    /// `value` as a column stores it, for ``RowColumns``: `NULL` for nil. Generic, so each column's closure is
    /// specialized for its type.
    @inline(__always)
    static func stored<T: DatabaseValueConvertible>(_ value: T?) -> DatabaseValue {
        value?.databaseValue ?? .null
    }

    /// A TEXT column holding JSON (``jsonText(_:)``).
    static func json<T: Decodable>(_ row: some ColumnValues, _ column: String) throws -> T {
        guard let value = try optionalJSON(row, column) as T? else {
            throw DatabaseError(message: "\(column) is NULL")
        }
        return value
    }

    /// A nullable TEXT column holding JSON (``jsonText(_:)``).
    static func optionalJSON<T: Decodable>(_ row: some ColumnValues, _ column: String) throws -> T? {
        guard let text = row[column] as String? else { return nil }
        // The empty values most rows hold, without the decoder (see ``jsonText(_:)``).
        if text == "{}", let empty = [String: String]() as? T { return empty }
        if text == emptyBillingDetails, let empty = BillingDetails() as? T { return empty }
        if T.self == [String: String].self, let metadata = FlatJSON.object(text) as? T { return metadata }
        if T.self == LastPaymentError.self, let object = FlatJSON.object(text),
            let error = LastPaymentError(flatJSON: object) as? T
        {
            return error
        }
        return try decoder.decode(T.self, from: Data(text.utf8))
    }

    /// `value` as JSON text, the way GRDB's Codable records stored nested values (metadata, billing details,
    /// errors): keys sorted, so that equal values are equal text, and as TEXT so that admins' SQL can query it.
    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        // Most rows have no metadata and cards no billing details: skip the encoder for the text it would produce.
        if let metadata = value as? [String: String] { return FlatJSON.text(metadata) }
        if let error = value as? LastPaymentError { return FlatJSON.text(error.flatJSON) }
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

extension LastPaymentError {
    /// The fields `JSONEncoder` writes (the ones that are not nil, under their coding keys): all strings, so the
    /// error is a flat object for ``FlatJSON``. A failed payment writes one, and the sweeper one per expired attempt.
    var flatJSON: [String: String] {
        var object = ["type": type.rawValue, "code": code, "message": message]
        object["decline_code"] = declineCode
        object["param"] = param
        object["payment_method"] = paymentMethod
        object["charge"] = charge
        return object
    }

    /// The error ``flatJSON`` describes; nil when a field is missing, unknown or holds an unknown type.
    init?(flatJSON object: [String: String]) {
        let known: Set = ["type", "code", "message", "decline_code", "param", "payment_method", "charge"]
        guard let type = object["type"].flatMap(PaymentError.Kind.init(rawValue:)), let code = object["code"],
            let message = object["message"], object.keys.allSatisfy(known.contains)
        else { return nil }
        self.init(
            type: type,
            code: code,
            declineCode: object["decline_code"],
            message: message,
            param: object["param"],
            paymentMethod: object["payment_method"],
            charge: object["charge"]
        )
    }
}

/// Metadata (`[String: String]`) as JSON text and back without Foundation's coders, which cost 5% of
/// `payments recharge`'s CPU (its rows carry metadata, read and written several times per payment).
///
/// ``text(_:)`` writes what `JSONEncoder` with `.sortedKeys` writes, byte for byte (`FlatJSONTests` compares), so
/// rows keep one text per value whichever wrote them. ``object(_:)`` reads that text back, and gives up (nil) on
/// anything else (spaces, nesting, surrogate pairs), for `JSONDecoder` to read.
enum FlatJSON {
    static func text(_ object: [String: String]) -> String {
        if object.isEmpty { return "{}" }
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(16 + object.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        for (index, key) in object.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            append(object[key] ?? "", to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string as `JSONEncoder` escapes it: quotes, backslashes, slashes and control characters.
    private static func append(_ string: String, to bytes: inout [UInt8]) {
        JSONString.append(string, to: &bytes, likeJSONEncoder: true)
    }

    /// The object `text` holds when it is a flat object of strings, written without spaces, whose escapes are not
    /// surrogate pairs (all ``text(_:)`` writes); nil for anything else.
    static func object(_ text: String) -> [String: String]? {
        var text = text
        return text.withUTF8 { utf8 -> [String: String]? in
            var reader = Reader(bytes: utf8)
            guard reader.take(UInt8(ascii: "{")) else { return nil }
            var object: [String: String] = [:]
            if reader.take(UInt8(ascii: "}")) { return reader.atEnd ? object : nil }
            repeat {
                guard let key = reader.string(), reader.take(UInt8(ascii: ":")), let value = reader.string(),
                    object.updateValue(value, forKey: key) == nil
                else { return nil }
            } while reader.take(UInt8(ascii: ","))
            guard reader.take(UInt8(ascii: "}")), reader.atEnd else { return nil }
            return object
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// Four hex digits after `\u`, as a scalar; nil for a surrogate or anything that is not four hex digits.
        mutating func hexScalar() -> Unicode.Scalar? {
            guard index + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[index..<index + 4] {
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: return nil
                }
                value = value << 4 | UInt32(digit)
            }
            index += 4
            return Unicode.Scalar(value)
        }

        /// A string with the escapes JSON allows but surrogate pairs (nil then, and for raw control bytes).
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(validating: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return nil }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escaped)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                    case UInt8(ascii: "r"): out.append(UInt8(ascii: "\r"))
                    case UInt8(ascii: "t"): out.append(UInt8(ascii: "\t"))
                    case UInt8(ascii: "u"):
                        // \u00XX for control characters; a surrogate (half of a pair) is left to the decoder
                        guard let scalar = hexScalar() else { return nil }
                        out.append(contentsOf: String(Character(scalar)).utf8)
                    default: return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    out.append(byte)
                }
            }
            return nil
        }
    }
}
