import Logging

/// JSON text written byte by byte, for log lines: strings escaped as RFC 8259 requires, metadata values in their
/// shape.
enum JSONText {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// `"name":`, after a comma unless it is the object's first field.
    static func field(_ name: String, first: Bool = false, into out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        string(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    /// `text` as a JSON string: quotes, backslashes and every control character (U+0000–U+001F, and DEL) escaped;
    /// everything else, non-ASCII included, as its UTF-8 bytes. A newline in a message stays inside its line.
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20, 0x7f:
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0f)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A metadata value: a dictionary as an object (keys sorted), an array as an array, a number or a boolean
    /// given as one as itself, anything else as a string.
    static func value(_ value: Logger.Metadata.Value, into out: inout [UInt8]) {
        switch value {
        case .string(let text):
            string(text, into: &out)
        case .stringConvertible(let convertible):
            if let number = plainNumber(convertible) {
                out.append(contentsOf: number.utf8)
            } else {
                string(convertible.description, into: &out)
            }
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                self.value(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            out.append(UInt8(ascii: "{"))
            for (index, (key, item)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                field(key, first: index == 0, into: &out)
                self.value(item, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The JSON text of an integer, a finite floating-point number or a boolean; nil for anything else.
    private static func plainNumber(_ value: any CustomStringConvertible & Sendable) -> String? {
        switch value {
        case let integer as any BinaryInteger: integer.description
        case let double as Double where double.isFinite: double.description
        case let float as Float where float.isFinite: float.description
        case let bool as Bool: bool ? "true" : "false"
        default: nil
        }
    }
}
