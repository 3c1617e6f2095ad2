// MARK: - Finding card numbers in free text

extension CardNumber {
    /// Whether `text` holds a card number: a stretch of 12–19 digits, written together or in groups split by spaces
    /// and dashes (`4242 4242 4242 4242`, `4242-4242-…`), that starts like a known brand's numbers
    /// (``CardBrand/detect(fromDigits:)``) and passes the Luhn check, as ``init(parsing:)`` would read it.
    ///
    /// Fields that are stored or shown as sent (a description, a metadata value, an idempotency key) must never
    /// carry a full card number, so the API refuses them when this is true. A group of digits belongs to a number
    /// only whole: `ref 12 4242424242424242` finds the card in its last group, while a single run of 20 digits or
    /// more is not a card number. Every run of consecutive groups is tried, so a number among other numbers is
    /// found. Numbers no brand issues (a millisecond timestamp starts with 17) are left alone, so fewer ordinary
    /// values are mistaken for cards.
    ///
    /// - Parameter text: the value as received.
    /// - Returns: true when some run of consecutive digit groups is a plausible card number.
    public static func appears(in text: some StringProtocol) -> Bool {
        // Most values hold fewer digits than any card number: nothing to look at.
        var digitCount = 0
        for byte in text.utf8 where isDigit(byte) { digitCount += 1 }
        guard digitCount >= shortestNumber else { return false }
        let bytes = Array(text.utf8)
        // The digit groups (as ranges of `bytes`) of the current stretch of digits, spaces and dashes.
        var groups: [Range<Int>] = []
        var groupStart: Int?
        for (offset, byte) in bytes.enumerated() {
            if isDigit(byte) {
                if groupStart == nil { groupStart = offset }
                continue
            }
            if let start = groupStart {
                groups.append(start..<offset)
                groupStart = nil
            }
            if byte != UInt8(ascii: " "), byte != UInt8(ascii: "-") {
                if stretchHoldsCardNumber(groups, in: bytes) { return true }
                groups.removeAll(keepingCapacity: true)
            }
        }
        if let start = groupStart { groups.append(start..<bytes.count) }
        return stretchHoldsCardNumber(groups, in: bytes)
    }

    /// The longest card number ``init(parsing:)`` accepts, in digits.
    static let longestNumber = 19
    /// The shortest card number ``init(parsing:)`` accepts, in digits.
    static let shortestNumber = 12

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Whether consecutive `groups` of digits (one stretch, split by spaces and dashes) make a card number.
    private static func stretchHoldsCardNumber(_ groups: [Range<Int>], in bytes: [UInt8]) -> Bool {
        for first in groups.indices {
            var digits: [UInt8] = []
            for group in groups[first...] {
                digits.append(contentsOf: bytes[group])
                if digits.count > longestNumber { break }
                guard digits.count >= shortestNumber else { continue }
                let number = String(decoding: digits, as: UTF8.self)
                if CardBrand.detect(fromDigits: number) != .unknown, luhnIsValid(number) { return true }
            }
        }
        return false
    }
}
