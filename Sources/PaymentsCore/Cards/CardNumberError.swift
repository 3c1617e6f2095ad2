/// Why a card number was refused. Stripe answers 402 `card_error` with the case's `code`.
public enum CardNumberError: Error, Equatable, Sendable {
    /// Not a card number at all: characters other than digits, spaces and dashes, or a length outside 12–19.
    case invalidNumber
    /// Shaped like a card number but failing the Luhn check.
    case incorrectNumber

    /// Stripe's error code: `invalid_number` or `incorrect_number`.
    public var code: String {
        switch self {
        case .invalidNumber: "invalid_number"
        case .incorrectNumber: "incorrect_number"
        }
    }

    /// Stripe's message wording.
    public var message: String {
        switch self {
        case .invalidNumber: "Your card number is invalid."
        case .incorrectNumber: "Your card number is incorrect."
        }
    }
}
