import Foundation

/// The card data the leak test sends, every form it is sent in, and the searches for it in files and logs.
struct CardData: Sendable {
    /// The full number, digits only.
    let number: String
    /// How the number is split when printed (4-4-4-4, or 4-6-5 for American Express).
    let groups: [Int]
    /// The card's CVC: distinctive values (no amount, status, port or last four of the test uses them), 3 digits,
    /// or 4 for American Express.
    let cvc: String

    /// The cards: the seed's three (succeeds, needs 3-D Secure, declines) and an American Express card.
    static let all = [
        CardData(number: "4242424242424242", groups: [4, 4, 4, 4], cvc: "987"),
        CardData(number: "4000002500003155", groups: [4, 4, 4, 4], cvc: "864"),
        CardData(number: "4000000000009995", groups: [4, 4, 4, 4], cvc: "753"),
        CardData(number: "378282246310005", groups: [4, 6, 5], cvc: "6543"),
    ]

    /// The number split into its printed groups.
    var parts: [String] {
        var rest = Substring(number)
        return groups.map { size in
            defer { rest = rest.dropFirst(size) }
            return String(rest.prefix(size))
        }
    }

    /// The forms a client sends: digits only, grouped with spaces, grouped with dashes.
    var sentForms: [String] {
        [number, parts.joined(separator: " "), parts.joined(separator: "-")]
    }

    /// The forms searched for: the sent ones, and their spaces as a URL or a form body encodes them.
    var searchedForms: [String] {
        sentForms + [parts.joined(separator: "%20"), parts.joined(separator: "+")]
    }

    // MARK: - Searching

    /// Where `needle` occurs in `haystack`, as byte offsets.
    static func occurrences(of needle: String, in haystack: Data) -> [Int] {
        let pattern = Data(needle.utf8)
        var found: [Int] = []
        var start = haystack.startIndex
        while let range = haystack.range(of: pattern, in: start..<haystack.endIndex) {
            found.append(range.lowerBound - haystack.startIndex)
            start = range.lowerBound + 1
        }
        return found
    }

    /// Whether `text` occurs in `haystack` on its own: not inside a longer word, id or number (no letter, digit or
    /// decimal point on either side). A CVC is a short number, so it is only a leak where it stands alone, as a
    /// stored value or a JSON string does; inside a random id or a timestamp's milliseconds it is chance.
    static func standsAlone(_ text: String, in haystack: Data) -> Bool {
        let bytes = [UInt8](haystack)
        let length = text.utf8.count
        func isWordByte(_ byte: UInt8) -> Bool {
            (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || byte == UInt8(ascii: ".")
        }
        for offset in occurrences(of: text, in: haystack) {
            let before = offset > 0 ? bytes[offset - 1] : UInt8(ascii: " ")
            let after = offset + length < bytes.count ? bytes[offset + length] : UInt8(ascii: " ")
            if !isWordByte(before), !isWordByte(after) { return true }
        }
        return false
    }

    /// What of `cards` shows in `haystack`: any searched form of a number, and any CVC standing alone.
    static func leaks(of cards: [CardData], in haystack: Data) -> [String] {
        var leaks: [String] = []
        for card in cards {
            for form in card.searchedForms where !occurrences(of: form, in: haystack).isEmpty {
                leaks.append("number '\(form)'")
            }
            if standsAlone(card.cvc, in: haystack) { leaks.append("CVC '\(card.cvc)'") }
        }
        return leaks
    }
}
