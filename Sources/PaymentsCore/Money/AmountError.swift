/// Why an amount cannot be charged. Always about the `amount` parameter; Stripe answers 400
/// `invalid_request_error` for each.
public enum AmountError: Error, Equatable, Sendable {
    /// Zero or negative.
    case notPositive
    /// Below the currency's minimum charge amount, which is attached.
    case tooSmall(minimum: Money)
    /// Above the currency's maximum charge amount, which is attached.
    case tooLarge(maximum: Money)
    /// Not a multiple of the currency's ``Currency/settlementMultiple`` (see ``Money/checkPrecision(_:currency:)``).
    case notSettleable(Currency)

    /// Stripe's error code: `amount_too_small`, `amount_too_large`, or `parameter_invalid_integer` for a value
    /// that is not a positive integer.
    public var code: String {
        switch self {
        case .notPositive: "parameter_invalid_integer"
        case .tooSmall: "amount_too_small"
        case .tooLarge: "amount_too_large"
        case .notSettleable: "invalid_charge_amount"
        }
    }

    /// The request parameter at fault: always `amount`.
    public var param: String { "amount" }

    /// Stripe's message wording.
    ///
    /// `tooSmall` names the currency code after the amount when the amount is written with a symbol, as Stripe
    /// does (`Amount must be at least $0.50 usd`); amounts written with their code (`3.00 SEK`) do not repeat it.
    /// `tooLarge` reads `Amount must be no more than $999,999.99`.
    public var message: String {
        switch self {
        case .notPositive:
            return "Invalid positive integer"
        case .tooSmall(let minimum):
            let suffix = minimum.currency.symbol == nil ? "" : " " + minimum.currency.code
            return "Amount must be at least " + minimum.description + suffix
        case .tooLarge(let maximum):
            return "Amount must be no more than " + maximum.description
        case .notSettleable(let currency) where currency.settlementMultiple == 100:
            return
                "Amounts in \(currency.code) must be a multiple of 100: it has no minor unit in use, and amounts are "
                + "sent with two decimal digits of 0 (e.g. 1000 for \(currency.formatted(1000)), not 1050)."
        case .notSettleable(let currency):
            return "Amounts in \(currency.code) must be a multiple of 10: the last of its three decimal digits must be "
                + "0 (e.g. 1010 for \(currency.formatted(1010)), not 1005)."
        }
    }
}
