/// Base64 (RFC 4648, with padding) and hex digits over byte arrays, without going through `Data` and `String`
/// for every cell of a large export.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// The value of each base64 character, 255 for bytes that are not one.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 255, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    /// Appends the base64 text of `data` to `bytes`.
    static func encode(_ data: [UInt8], into bytes: inout [UInt8]) {
        var index = 0
        while index + 3 <= data.count {
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8 | UInt32(data[index + 2])
            for shift in [18, 12, 6, 0] { bytes.append(alphabet[Int((chunk >> UInt32(shift)) & 63)]) }
            index += 3
        }
        let rest = data.count - index
        if rest == 1 {
            let chunk = UInt32(data[index]) << 16
            bytes.append(alphabet[Int((chunk >> 18) & 63)])
            bytes.append(alphabet[Int((chunk >> 12) & 63)])
            bytes.append(contentsOf: "==".utf8)
        } else if rest == 2 {
            let chunk = UInt32(data[index]) << 16 | UInt32(data[index + 1]) << 8
            bytes.append(alphabet[Int((chunk >> 18) & 63)])
            bytes.append(alphabet[Int((chunk >> 12) & 63)])
            bytes.append(alphabet[Int((chunk >> 6) & 63)])
            bytes.append(UInt8(ascii: "="))
        }
    }

    /// The bytes of base64 `text`, or nil when it is not canonical base64 with padding.
    static func decode(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 4 * 3)
        var index = text.startIndex
        while index < text.endIndex {
            let last = index + 4 == text.endIndex
            var chunk: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = text[index + offset]
                if character == UInt8(ascii: "="), last, offset >= 2 {
                    padding += 1
                    chunk <<= 6
                    continue
                }
                let value = values[Int(character)]
                guard value != 255, padding == 0 else { return nil }
                chunk = chunk << 6 | UInt32(value)
            }
            output.append(UInt8((chunk >> 16) & 0xFF))
            if padding < 2 { output.append(UInt8((chunk >> 8) & 0xFF)) }
            if padding < 1 { output.append(UInt8(chunk & 0xFF)) }
            index += 4
        }
        return output
    }

    /// The lowercase hex digit of `nibble` (0 to 15).
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// `bytes` in lowercase hex.
    static func hex<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> String {
        var text: [UInt8] = []
        for byte in bytes {
            text.append(hexDigit(byte >> 4))
            text.append(hexDigit(byte & 0x0F))
        }
        return String(decoding: text, as: UTF8.self)
    }
}
