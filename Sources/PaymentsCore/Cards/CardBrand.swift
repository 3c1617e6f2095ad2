/// A card's network brand, with Stripe's `card.brand` spelling as the raw value.
public enum CardBrand: String, Sendable, Codable, CaseIterable {
    case amex
    case diners
    case discover
    case eftposAu = "eftpos_au"
    case jcb
    case mastercard
    case unionpay
    case visa
    case unknown

    /// Detects the brand from the leading digits (the IIN) of a card number.
    ///
    /// Ranges, checked most specific first:
    /// - amex: 34, 37
    /// - diners: 300–305, 36, 38–39
    /// - discover: 6011, 644–649, 65
    /// - jcb: 3528–3589
    /// - mastercard: 51–55, 2221–2720
    /// - unionpay: 62
    /// - visa: 4
    ///
    /// `eftpos_au` cards are co-branded and carry a Visa or Mastercard number, so they are never detected here.
    ///
    /// - Parameter digits: the number, or at least its first four digits; only ASCII digits are read.
    /// - Returns: the brand, or `.unknown` when no range matches.
    public static func detect(fromDigits digits: some StringProtocol) -> CardBrand {
        let leading = Array(digits.utf8.prefix(4))
        guard let first = leading.first, leading.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return .unknown }

        /// The first `count` digits as a number, or nil when there are fewer digits.
        func prefix(_ count: Int) -> Int? {
            guard leading.count >= count else { return nil }
            return leading.prefix(count).reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        }

        if first == UInt8(ascii: "4") { return .visa }
        if let two = prefix(2) {
            switch two {
            case 34, 37: return .amex
            case 36, 38, 39: return .diners
            case 51...55: return .mastercard
            case 62: return .unionpay
            case 65: return .discover
            default: break
            }
        }
        if let three = prefix(3) {
            switch three {
            case 300...305: return .diners
            case 644...649: return .discover
            default: break
            }
        }
        if let four = prefix(4) {
            switch four {
            case 6011: return .discover
            case 3528...3589: return .jcb
            case 2221...2720: return .mastercard
            default: break
            }
        }
        return .unknown
    }
}
