/// A card error from an issuer or Radar decline, as Stripe reports it: HTTP 402, `type=card_error`.
public struct CardDecline: Sendable, Hashable {
    /// Stripe's error `code`, such as `card_declined` or `expired_card`.
    public let code: String
    /// The issuer's reason (`decline_code`), such as `insufficient_funds`; nil when Stripe gives none.
    public let declineCode: String?
    /// Stripe's customer-safe message, such as `Your card has insufficient funds.`
    public let message: String

    /// Creates a decline.
    public init(code: String, declineCode: String?, message: String) {
        self.code = code
        self.declineCode = declineCode
        self.message = message
    }

    /// The card field a decline points at, Stripe's `param` on it: `cvc` for `incorrect_cvc`, `exp_month` for
    /// `expired_card`, nil for the others. A checkout marks the field from it; it was missing, so none was marked.
    public var param: String? { Self.param(forCode: code) }

    /// ``param`` for a decline known only by its `code` (a failed charge's `failure_code`).
    public static func param(forCode code: String) -> String? {
        switch code {
        case "incorrect_cvc": "cvc"
        case "expired_card": "exp_month"
        default: nil
        }
    }
}

// MARK: - Stripe's declines

extension CardDecline {
    /// `card_declined` / `generic_decline`.
    public static let genericDecline = CardDecline(
        code: "card_declined",
        declineCode: "generic_decline",
        message: "Your card was declined."
    )

    /// `card_declined` / `insufficient_funds`.
    public static let insufficientFunds = CardDecline(
        code: "card_declined",
        declineCode: "insufficient_funds",
        message: "Your card has insufficient funds."
    )

    /// `card_declined` / `lost_card`; the message does not reveal the reason, as Stripe's does not.
    public static let lostCard = CardDecline(
        code: "card_declined",
        declineCode: "lost_card",
        message: "Your card was declined."
    )

    /// `card_declined` / `stolen_card`; the message does not reveal the reason.
    public static let stolenCard = CardDecline(
        code: "card_declined",
        declineCode: "stolen_card",
        message: "Your card was declined."
    )

    /// `card_declined` / `fraudulent`: a Radar block; the message does not reveal the reason.
    public static let fraudulent = CardDecline(
        code: "card_declined",
        declineCode: "fraudulent",
        message: "Your card was declined."
    )

    /// `card_declined` / `card_velocity_exceeded`.
    public static let velocityExceeded = CardDecline(
        code: "card_declined",
        declineCode: "card_velocity_exceeded",
        message: "Your card was declined for making repeated attempts too frequently or exceeding its amount limit."
    )

    /// `expired_card`. Stripe's docs give no decline code; real responses repeat the code, and so do we.
    public static let expiredCard = CardDecline(
        code: "expired_card",
        declineCode: "expired_card",
        message: "Your card has expired."
    )

    /// `incorrect_cvc`, with the code repeated as decline code.
    public static let incorrectCVC = CardDecline(
        code: "incorrect_cvc",
        declineCode: "incorrect_cvc",
        message: "Your card's security code is incorrect."
    )

    /// `processing_error`, with the code repeated as decline code.
    public static let processingError = CardDecline(
        code: "processing_error",
        declineCode: "processing_error",
        message: "An error occurred while processing your card. Try again in a little bit."
    )
}
