/// One cell of an archived row, typed as both databases store the schema's columns.
///
/// SQLite's STRICT tables and the PostgreSQL translation hold only 64-bit integers, text, byte strings and NULL
/// (money and times are integers, JSON is text), so those four are the archive's types. A row line is a JSON array
/// of cells: an integer as a JSON number, text as a JSON string, bytes as `{"base64": "…"}`, NULL as `null`.
public enum ArchiveValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

// MARK: - Writing a row line

extension ArchiveValue {
    /// Appends the row line of `values` (a JSON array, no newline) to `bytes`. The same values always give the same
    /// bytes (no optional escapes, keys in one order), so two exports of the same rows are byte for byte equal.
    static func appendRow(_ values: [ArchiveValue], to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            value.append(to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private func append(to bytes: inout [UInt8]) {
        switch self {
        case .null:
            bytes.append(contentsOf: "null".utf8)
        case .integer(let number):
            bytes.append(contentsOf: String(number).utf8)
        case .text(let text):
            Self.appendString(text, to: &bytes)
        case .blob(let data):
            bytes.append(contentsOf: #"{"base64":""#.utf8)
            Base64.encode(data, into: &bytes)
            bytes.append(contentsOf: #""}"#.utf8)
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or `\u00XX`, the rest as UTF-8.
    static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most texts need no escape: copied in one go.
        guard text.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) else {
            bytes.append(contentsOf: text.utf8)
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(Base64.hexDigit(byte >> 4))
                bytes.append(Base64.hexDigit(byte & 0x0F))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
