/// Why a card verification code was refused. Stripe answers 402 `card_error` with code `invalid_cvc`.
public enum CVCError: Error, Equatable, Sendable {
    /// Not all digits, or not the brand's length (4 for American Express, 3 otherwise).
    case invalidCVC

    /// Stripe's error code: `invalid_cvc`.
    public var code: String { "invalid_cvc" }

    /// Stripe's message wording.
    public var message: String { "Your card's security code is invalid." }
}
