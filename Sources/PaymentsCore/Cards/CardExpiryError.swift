/// Why a card's expiry date was refused. Stripe answers 402 `card_error` with the case's `code`.
public enum CardExpiryError: Error, Equatable, Sendable {
    /// The month is outside 1...12, or the card expired earlier this year.
    case invalidExpiryMonth
    /// The year is in the past or more than 50 years ahead.
    case invalidExpiryYear

    /// Stripe's error code: `invalid_expiry_month` or `invalid_expiry_year`.
    public var code: String {
        switch self {
        case .invalidExpiryMonth: "invalid_expiry_month"
        case .invalidExpiryYear: "invalid_expiry_year"
        }
    }

    /// Stripe's message wording.
    public var message: String {
        switch self {
        case .invalidExpiryMonth: "Your card's expiration month is invalid."
        case .invalidExpiryYear: "Your card's expiration year is invalid."
        }
    }
}
