import Foundation

// MARK: - Finding card numbers in free text

extension CardNumber {
    /// Whether `text` holds a card number: a stretch of 13–19 digits, written together or in groups split by spaces
    /// and dashes (`4242 4242 4242 4242`, `4242-4242-…`), that starts like the numbers a card scheme issues
    /// (``startsLikeIssued(_:)``) and passes the Luhn check, as ``init(parsing:)`` would read it.
    ///
    /// Any space (a tab, a line break, a no-break space) counts as a space, any dash (an en dash, an underscore) as
    /// a dash, and any script's digits (full-width `４２４２`) as digits: a number copied from a document or a
    /// spreadsheet keeps them.
    ///
    /// Fields that are stored or shown as sent (a description, a metadata value, an idempotency key) must never
    /// carry a full card number, so the API refuses them when this is true. A group of digits belongs to a number
    /// only whole: `ref 12 4242424242424242` finds the card in its last group, while a single run of 20 digits or
    /// more is not a card number. Every run of consecutive groups is tried, so a number among other numbers is
    /// found. Numbers no brand issues (a millisecond timestamp starts with 17) are left alone, so fewer ordinary
    /// values are mistaken for cards.
    ///
    /// Takes a `String`, not any `StringProtocol`: called from other modules, a generic function runs unspecialized,
    /// stepping through the text's bytes by protocol witnesses, and that was 2.5% of a W3 replay's CPU (`perf`).
    ///
    /// - Parameter text: the value as received.
    /// - Returns: true when some run of consecutive digit groups is a plausible card number.
    public static func appears(in text: String) -> Bool {
        // Most values hold fewer digits than any card number, and are ASCII: nothing to look at, or the bytes as
        // they are
        var digitCount = 0
        var ascii = true
        for byte in text.utf8 {
            if isDigit(byte) { digitCount += 1 } else if byte >= 0x80 { ascii = false }
        }
        if ascii {
            guard digitCount >= shortestFoundNumber else { return false }
            return holdsCardNumber(Array(text.utf8), hexTokensAreIDs: true)
        }
        let folded = folded(text)
        guard folded.count(where: isDigit) >= shortestFoundNumber else { return false }
        // Folding reads every letter as `a`, a hex digit: only text as sent can hold a hex token
        return holdsCardNumber(folded, hexTokensAreIDs: false)
    }

    /// `text` as ASCII the search reads: any script's decimal digits (full-width `４２４２`, Arabic-Indic) as `0`-`9`,
    /// any space (a no-break space, a tab) as a space, any dash (an en dash, a minus sign) as `-`, letters as `a` and
    /// anything else as `#`. A card number copied from a document or a spreadsheet keeps such characters.
    private static func folded(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if scalar.isASCII {
                bytes.append(UInt8(scalar.value))
                continue
            }
            let properties = scalar.properties
            // Invisible format characters (a zero-width space, a soft hyphen) are read as if absent
            if properties.generalCategory == .format { continue }
            if properties.numericType == .decimal, let value = properties.numericValue, (0...9).contains(value) {
                bytes.append(UInt8(ascii: "0") + UInt8(value))
            } else if properties.isWhitespace {
                bytes.append(UInt8(ascii: " "))
            } else if properties.generalCategory == .dashPunctuation || scalar == "\u{2212}" {
                bytes.append(UInt8(ascii: "-"))
            } else if properties.isAlphabetic {
                bytes.append(UInt8(ascii: "a"))
            } else {
                bytes.append(UInt8(ascii: "#"))
            }
        }
        return bytes
    }

    /// Whether `bytes` (ASCII) hold a card number: each stretch of digit groups split by spaces and dashes, tried by
    /// ``stretchHoldsCardNumber(_:in:)``.
    /// - Parameter hexTokensAreIDs: a digit run inside a long hex token is part of an id (see ``insideHexToken(_:in:)``).
    private static func holdsCardNumber(_ bytes: [UInt8], hexTokensAreIDs: Bool) -> Bool {
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
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "\t"), UInt8(ascii: "\n"),
                UInt8(ascii: "\r"), 0x0B, 0x0C:
                break
            default:
                if stretchHoldsCardNumber(groups, in: bytes, hexTokensAreIDs: hexTokensAreIDs) { return true }
                groups.removeAll(keepingCapacity: true)
            }
        }
        if let start = groupStart { groups.append(start..<bytes.count) }
        return stretchHoldsCardNumber(groups, in: bytes, hexTokensAreIDs: hexTokensAreIDs)
    }

    /// The longest card number ``init(parsing:)`` accepts, in digits.
    static let longestNumber = 19
    /// The fewest digits a number found in free text has (see ``stretchHoldsCardNumber(_:in:)``).
    static let shortestFoundNumber = 13

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// Whether consecutive `groups` of digits (one stretch, split by spaces and dashes) make a card number: one
    /// whole group of 13–19 digits, or groups joined as a card's number is printed (4-4-4-4, 4-6-5, 4-4-4-4-3),
    /// 13 to 19 digits in all: the first group has 4 to 6 digits, each later one at most 6, and only the last may
    /// have fewer than 3.
    ///
    /// Short groups keep a merchant's own keys and references from reading as cards: `payout-4111-11-12-10218` or
    /// `i-2-32-17300-10004` join small numbers into 13 Luhn-valid digits that start like a brand's, and one such
    /// value in ten passes the Luhn check. A load test whose keys were `i-<round>-<connections>-<random>-<counter>`
    /// had 6% of its requests refused that way.
    ///
    /// These bounds keep random UUIDs (the Stripe libraries' own idempotency keys) from reading as cards: their
    /// groups are 8-4-4-4-12, so whole 4-digit ones join to 12 digits at most, the last group has 12, and a run of
    /// digits cut from a hex group by a letter (`…f1234-4000-…-5678ab…`) joins nothing. Joining any runs from 12
    /// digits up, about one UUID in ten thousand read as a card (`scripts/chaos` met three in 2,434 requests).
    /// The price: a 12-digit card number (some Maestro cards; no test card) in free text is not recognised.
    ///
    /// The letters' rule holds where dashes (or underscores) split the groups joined, as they split a UUID's:
    /// `PAN4242 4242 4242 4242` and `4242 4242 4242 4242exp`, a number written in a sentence, are found.
    ///
    /// A run of digits inside a long hex token (``insideHexToken(_:in:)``) is part of an id, not a card's number.
    private static func stretchHoldsCardNumber(_ groups: [Range<Int>], in bytes: [UInt8], hexTokensAreIDs: Bool)
        -> Bool
    {
        func isCard(_ digits: some Collection<UInt8>) -> Bool {
            let number = String(decoding: digits, as: UTF8.self)
            return startsLikeIssued(number) && luhnIsValid(number)
        }
        func dashed(between earlier: Range<Int>, and later: Range<Int>) -> Bool {
            bytes[earlier.upperBound..<later.lowerBound].contains { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
        for (index, first) in groups.enumerated() {
            if (shortestFoundNumber...longestNumber).contains(first.count), isCard(bytes[first]),
                !(hexTokensAreIDs && insideHexToken(first, in: bytes))
            {
                return true
            }
            guard firstPrintedGroup.contains(first.count) else { continue }
            let touchedBefore = touchesLetter(before: first, in: bytes)
            var digits = Array(bytes[first])
            var joinedByDash = false
            var previous = first
            for group in groups[(index + 1)...] {
                joinedByDash = joinedByDash || dashed(between: previous, and: group)
                guard printedGroup.contains(group.count), !(joinedByDash && touchedBefore),
                    !(joinedByDash && touchesLetter(after: group, in: bytes))
                else { break }
                previous = group
                digits.append(contentsOf: bytes[group])
                if digits.count > longestNumber { break }
                if digits.count >= shortestFoundNumber, isCard(digits) { return true }
                // A group shorter than a printed one can only end a number
                if group.count < shortestInnerGroup { break }
            }
        }
        return false
    }

    /// Whether `digits` start like the numbers a card scheme issues: a brand this service names
    /// (``CardBrand/detect(fromDigits:)``), or one it does not but accepts in `card[number]`: Maestro (50, 56-69),
    /// RuPay (60, 65, 81, 82, 508), Mir (2200-2204), Verve (506, 650) and Troy (9792).
    static func startsLikeIssued(_ digits: String) -> Bool {
        if CardBrand.detect(fromDigits: digits) != .unknown { return true }
        let leading = digits.utf8.prefix(4).map { Int($0) - Int(UInt8(ascii: "0")) }
        guard leading.count == 4 else { return false }
        let two = leading[0] * 10 + leading[1]
        let four = two * 100 + leading[2] * 10 + leading[3]
        return two == 50 || (56...69).contains(two) || two == 81 || two == 82 || (2200...2204).contains(four)
            || four == 9792
    }

    /// The fewest characters of a hex token read as an id (``insideHexToken(_:in:)``): a UUID without its dashes.
    static let shortestHexID = 32

    /// Whether `group` lies inside a token (letters and digits, between anything else) of at least
    /// ``shortestHexID`` hex digits with a letter among them: a UUID without its dashes (`uuid4().hex`, a common
    /// idempotency key) or a hash. One such key in about 1,100 holds 13 to 19 digits in a row that pass the Luhn
    /// check and start like a brand's (`03100c71082540c49706162281432163`), and was refused as a card number.
    /// A card number hidden in one is not found: the price of taking those keys.
    private static func insideHexToken(_ group: Range<Int>, in bytes: [UInt8]) -> Bool {
        func isAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || isLetter(byte) }
        var start = group.lowerBound
        while start > 0, isAlphanumeric(bytes[start - 1]) { start -= 1 }
        var end = group.upperBound
        while end < bytes.count, isAlphanumeric(bytes[end]) { end += 1 }
        let token = bytes[start..<end]
        return token.count >= shortestHexID && token.contains(where: { !isDigit($0) })
            && token.allSatisfy { isDigit($0) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0 | 0x20) }
    }

    /// Whether a letter comes right before `group`: a run of digits cut from a word (`f1234` in a UUID's hex) is no
    /// printed group of a card's number.
    private static func touchesLetter(before group: Range<Int>, in bytes: [UInt8]) -> Bool {
        group.lowerBound > 0 && isLetter(bytes[group.lowerBound - 1])
    }

    /// Whether a letter comes right after `group` (`5678abcd`).
    private static func touchesLetter(after group: Range<Int>, in bytes: [UInt8]) -> Bool {
        group.upperBound < bytes.count && isLetter(bytes[group.upperBound])
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    /// How many digits a group of a card's number has when it is printed in groups (its last may be short).
    static let printedGroup = 1...6
    /// How many digits the first group of a card's number has when it is printed in groups.
    static let firstPrintedGroup = 4...6
    /// The fewest digits of a printed group that another group follows.
    static let shortestInnerGroup = 3
}

extension CardNumber {
    /// Whether `text`, a part of a URL's path as sent or decoded, holds a card number (``appears(in:)``): its
    /// percent-escapes decoded (`4242%204242%204242%204242`, a library's escaped id, was quoted in a 404 whole), and
    /// a `+` counting as the space a form encoding writes with it (`4242+4242+4242+4242`, Python's `quote_plus`).
    public static func appears(inPathPart text: String) -> Bool {
        let decoded = text.utf8.contains(UInt8(ascii: "%")) ? (text.removingPercentEncoding ?? text) : text
        return appears(in: decoded)
            || (decoded.utf8.contains(UInt8(ascii: "+"))
                && appears(in: decoded.replacingOccurrences(of: "+", with: " ")))
    }
}
