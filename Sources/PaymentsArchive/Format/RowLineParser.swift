/// Reads a row line back into cells: exactly the JSON ``ArchiveValue/appendRow(_:to:)`` writes (an array of
/// integers, strings, `null` and `{"base64": "…"}` objects), and refuses anything else, such as a fraction, a
/// boolean or a key other than `base64`.
struct RowLineParser {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// Why a line was refused.
    struct Failure: Error {
        let reason: String
    }

    /// Parses `line` (without its newline).
    static func parse(_ line: ArraySlice<UInt8>) throws(Failure) -> [ArchiveValue] {
        var parser = RowLineParser(bytes: line, index: line.startIndex)
        return try parser.row()
    }

    private init(bytes: ArraySlice<UInt8>, index: Int) {
        self.bytes = bytes
        self.index = index
    }

    private mutating func row() throws(Failure) -> [ArchiveValue] {
        try expect(UInt8(ascii: "["))
        var values: [ArchiveValue] = []
        if peek() == UInt8(ascii: "]") {
            index += 1
        } else {
            while true {
                values.append(try value())
                guard let next = peek() else { throw Failure(reason: "the row does not end") }
                index += 1
                if next == UInt8(ascii: "]") { break }
                guard next == UInt8(ascii: ",") else { throw Failure(reason: "expected , or ] between cells") }
            }
        }
        guard index == bytes.endIndex else { throw Failure(reason: "text after the row") }
        return values
    }

    private mutating func value() throws(Failure) -> ArchiveValue {
        guard let first = peek() else { throw Failure(reason: "a cell is missing") }
        switch first {
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "\""):
            return .text(try string())
        case UInt8(ascii: "{"):
            try literal(#"{"base64":""#)
            let start = index
            while let byte = peek(), byte != UInt8(ascii: "\"") { index += 1 }
            guard let data = Base64.decode(bytes[start..<index]) else { throw Failure(reason: "bad base64") }
            try literal(#""}"#)
            return .blob(data)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return .integer(try integer())
        default:
            throw Failure(reason: "a cell is not an integer, text, bytes or null")
        }
    }

    private mutating func integer() throws(Failure) -> Int64 {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        while let byte = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let number = Int64(text), String(number) == text else {
            throw Failure(reason: "\(text.prefix(30)) is not a 64-bit integer as the archive writes one")
        }
        return number
    }

    private mutating func string() throws(Failure) -> String {
        try expect(UInt8(ascii: "\""))
        // Most texts have no escape: taken in one slice up to the closing quote.
        let start = index
        while let byte = peek(), byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { index += 1 }
        if peek() == UInt8(ascii: "\"") {
            index += 1
            guard let text = String(validating: bytes[start..<(index - 1)], as: UTF8.self) else {
                throw Failure(reason: "a text is not UTF-8")
            }
            return text
        }
        var output = Array(bytes[start..<index])
        while true {
            guard let byte = peek() else { throw Failure(reason: "a text does not end") }
            index += 1
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\") else {
                guard byte >= 0x20 else { throw Failure(reason: "a control character in a text") }
                output.append(byte)
                continue
            }
            guard let escaped = peek() else { throw Failure(reason: "a text does not end") }
            index += 1
            switch escaped {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
            case UInt8(ascii: "n"): output.append(UInt8(ascii: "\n"))
            case UInt8(ascii: "r"): output.append(UInt8(ascii: "\r"))
            case UInt8(ascii: "t"): output.append(UInt8(ascii: "\t"))
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "u"):
                let unit = try hex4()
                guard unit < 0x20 else { throw Failure(reason: "\\u is only written for control characters") }
                output.append(UInt8(unit))
            default: throw Failure(reason: "an unknown escape in a text")
            }
        }
        guard let text = String(validating: output, as: UTF8.self) else {
            throw Failure(reason: "a text is not UTF-8")
        }
        return text
    }

    private mutating func hex4() throws(Failure) -> UInt16 {
        guard index + 4 <= bytes.endIndex,
            let unit = UInt16(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
        else { throw Failure(reason: "a bad \\u escape") }
        index += 4
        return unit
    }

    private func peek() -> UInt8? { index < bytes.endIndex ? bytes[index] : nil }

    private mutating func expect(_ byte: UInt8) throws(Failure) {
        guard peek() == byte else { throw Failure(reason: "expected \(Character(Unicode.Scalar(byte)))") }
        index += 1
    }

    private mutating func literal(_ text: String) throws(Failure) {
        for byte in text.utf8 { try expect(byte) }
    }
}
