/// A syntactically valid card number (a PAN): 12–19 ASCII digits that pass the Luhn check.
///
/// The full number is sensitive. `digits` exists for the card vault (which seals it) and the card network (which
/// needs it in memory); callers must never log, print, persist in plain text or send it anywhere else. Every
/// textual form of the value itself — `description`, `debugDescription`, `String(reflecting:)`, `dump()` and
/// mirrors — shows only the brand and the last four digits (`•••• 4242`). The type is deliberately not `Codable`,
/// so it cannot end up in a JSON body or a table by accident.
public struct CardNumber: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The full card number, digits only. Never log or persist it; see the type's documentation.
    public let digits: String

    /// Parses a card number as typed by a person or sent by a client.
    ///
    /// Spaces and dashes are ignored (`4242 4242 4242 4242`, `4242-4242-4242-4242`).
    ///
    /// - Parameter raw: the number as received.
    /// - Throws: `CardNumberError.invalidNumber` when anything other than digits, spaces and dashes is present or
    ///   the length is outside 12...19; `.incorrectNumber` when the Luhn check fails.
    public init(parsing raw: String) throws(CardNumberError) {
        var digits = ""
        digits.reserveCapacity(19)
        for scalar in raw.unicodeScalars {
            switch scalar {
            case " ", "-":
                continue
            case "0"..."9":
                digits.unicodeScalars.append(scalar)
            default:
                throw .invalidNumber
            }
        }
        guard (12...19).contains(digits.utf8.count) else { throw .invalidNumber }
        guard Self.luhnIsValid(digits) else { throw .incorrectNumber }
        self.digits = digits
    }

    /// The last four digits, safe to show and store.
    public var last4: String { String(digits.suffix(4)) }

    /// The first six digits (the bank identification number), safe to show and store.
    public var bin: String { String(digits.prefix(6)) }

    /// The brand, from the number's leading digits.
    public var brand: CardBrand { CardBrand.detect(fromDigits: digits) }

    /// A redacted form for people: `•••• 4242`.
    public var description: String { "•••• " + last4 }

    /// A redacted form for debugging: `CardNumber(visa •••• 4242)`.
    public var debugDescription: String { "CardNumber(\(brand.rawValue) •••• \(last4))" }

    /// A redacted mirror, so `dump()` and reflection show only the brand and last four digits.
    public var customMirror: Mirror {
        Mirror(self, children: ["brand": brand, "last4": last4], displayStyle: .struct)
    }

    /// Whether `digits` passes the Luhn (mod 10) check.
    ///
    /// - Parameter digits: ASCII digits only; anything else, or an empty string, fails.
    /// - Returns: true when the weighted digit sum is a multiple of 10.
    public static func luhnIsValid(_ digits: some StringProtocol) -> Bool {
        var sum = 0
        var doubles = false
        var count = 0
        for byte in digits.utf8.reversed() {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return false }
            var value = Int(byte - UInt8(ascii: "0"))
            if doubles {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
            doubles.toggle()
            count += 1
        }
        return count > 0 && sum % 10 == 0
    }
}
