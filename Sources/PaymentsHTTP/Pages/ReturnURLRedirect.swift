/// The `Location` of the redirect to a merchant's `return_url` after a 3-D Secure answer: the URL as the merchant sent
/// it, with the intent's parameters added to its query, before its fragment.
///
/// Built on the text, not through `URLComponents`: Foundation re-encodes a whole query in which it finds one
/// character a URL may not hold (`tags[]=1`, a raw space, `é`), escapes included, so `sig=a%2Bb` came back
/// `sig=a%252Bb` and a signed return URL no longer verified. Here only what a header and a URL cannot carry is
/// escaped (spaces, control characters, bytes that are not ASCII, `` "<>\^`{|} ``, a `%` that starts no escape), byte
/// by byte; every escape and every other character of the merchant's comes back as sent.
enum ReturnURLRedirect {
    /// `returnURL` with `parameters` (names and values of `[A-Za-z0-9_]`, escaped anyway) added to its query.
    static func location(_ returnURL: String, adding parameters: [(name: String, value: String)]) -> String {
        let text = Array(returnURL.utf8)
        let hash = text.firstIndex(of: UInt8(ascii: "#"))
        let base = text[..<(hash ?? text.endIndex)]
        let fragment = hash.map { text[$0...] }
        var location = escaped(base)
        let added = parameters.map { "\(component($0.name))=\(component($0.value))" }.joined(separator: "&")
        switch base.firstIndex(of: UInt8(ascii: "?")) {
        case nil: location += "?"
        case _ where base.last == UInt8(ascii: "?") || base.last == UInt8(ascii: "&"): break
        default: location += "&"
        }
        location += added
        if let fragment {
            // The fragment's own `#` stays; a second one is not a URL's, so it is escaped
            location += "#" + escaped(fragment.dropFirst(), also: UInt8(ascii: "#"))
        }
        return location
    }

    /// `bytes` with what a URL cannot hold (and `also`) percent-encoded, and everything else (escapes included) as
    /// it is.
    static func escaped(_ bytes: ArraySlice<UInt8>, also: UInt8? = nil) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                let next = bytes.index(after: index)
                let isEscape =
                    bytes.distance(from: next, to: bytes.endIndex) >= 2 && isHexDigit(bytes[next])
                    && isHexDigit(bytes[bytes.index(after: next)])
                out += isEscape ? [byte] : percentEncoded(byte)
            } else if byte > 0x20, byte < 0x7F, !unsafe.contains(byte), byte != also {
                out.append(byte)
            } else {
                out += percentEncoded(byte)
            }
            index = bytes.index(after: index)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Printable ASCII that a URL may not hold as it is (RFC 3986 has no place for them; browsers escape them).
    private static let unsafe: Set<UInt8> = Set("\"<>\\^`{|}".utf8)

    /// A query name or value of ours: everything but letters, digits, `-`, `.`, `_` and `~` escaped.
    private static func component(_ text: String) -> String {
        var out = [UInt8]()
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += percentEncoded(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func percentEncoded(_ byte: UInt8) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        return [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "F"),
            UInt8(ascii: "a")...UInt8(ascii: "f"):
            true
        default: false
        }
    }
}
