/// Rules for a card verification code (CVC, CVV, CID): validation only.
///
/// The CVC value itself is never stored anywhere — not in memory beyond the request that carries it, not in the
/// database, not in logs (PCI DSS forbids keeping it after authorization). The service records only whether one
/// was given, as the payment method's `cvc_check`.
public enum CardVerificationCode {
    /// The number of digits a CVC has for `brand`: 4 for American Express (the CID on the front), 3 otherwise.
    public static func expectedLength(for brand: CardBrand) -> Int {
        brand == .amex ? 4 : 3
    }

    /// Checks a CVC's shape for a card of `brand`.
    ///
    /// - Parameters:
    ///   - cvc: the code as received; ASCII digits only, no spaces.
    ///   - brand: the card's brand.
    /// - Throws: `CVCError.invalidCVC` unless `cvc` is exactly `expectedLength(for: brand)` ASCII digits.
    public static func validate(_ cvc: String, brand: CardBrand) throws(CVCError) {
        let bytes = cvc.utf8
        guard bytes.count == expectedLength(for: brand),
            bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { throw .invalidCVC }
    }
}
