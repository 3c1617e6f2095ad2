/// The one JSON string escaping the service writes by hand (event snapshots, API responses, metadata columns): a
/// quote, a backslash and control characters escaped, everything else as its UTF-8 bytes.
///
/// Nearly every string written (ids, statuses, currencies, codes) needs no escape at all, and appending it byte by
/// byte, a capacity check per byte, was the cost of writing it: ``append(_:to:likeJSONEncoder:)`` checks first and
/// then copies the bytes in one go.
public enum JSONString {
    /// Appends `text` as a JSON string, quotes included, to `bytes`.
    /// - Parameter likeJSONEncoder: write what Foundation's `JSONEncoder` writes (the stored metadata columns keep
    ///   its bytes): `/` escaped as `\/`, and backspace and form feed as `\b` and `\f` rather than `\u0008`, `\u000c`.
    public static func append(_ text: String, to bytes: inout [UInt8], likeJSONEncoder: Bool = false) {
        bytes.append(UInt8(ascii: "\""))
        if isVerbatim(text, likeJSONEncoder: likeJSONEncoder) {
            bytes.append(contentsOf: text.utf8)
        } else {
            for byte in text.utf8 { appendEscaped(byte, to: &bytes, likeJSONEncoder: likeJSONEncoder) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether every byte of `text` goes into a JSON string as it is.
    static func isVerbatim(_ text: String, likeJSONEncoder: Bool) -> Bool {
        func plain(_ byte: UInt8) -> Bool {
            byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                && (!likeJSONEncoder || byte != UInt8(ascii: "/"))
        }
        if let verbatim = text.utf8.withContiguousStorageIfAvailable({ $0.allSatisfy(plain) }) { return verbatim }
        return text.utf8.allSatisfy(plain)
    }

    private static func appendEscaped(_ byte: UInt8, to bytes: inout [UInt8], likeJSONEncoder: Bool) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(byte)
        case UInt8(ascii: "/") where likeJSONEncoder:
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(byte)
        case 0x08 where likeJSONEncoder: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
        case 0x0C where likeJSONEncoder: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
        case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
        case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
        case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
        case 0..<0x20:
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            bytes.append(hexDigit(byte >> 4))
            bytes.append(hexDigit(byte & 0x0F))
        default:
            bytes.append(byte)
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
