/// The error of an intent's most recent failed attempt, kept on the intent as Stripe's `last_payment_error`.
public struct LastPaymentError: Codable, Sendable, Equatable {
    /// Stripe's error type: `card_error` for declines, `invalid_request_error` for failed authentication.
    public var type: PaymentError.Kind
    public var code: String
    public var declineCode: String?
    public var message: String
    public var param: String?
    /// The payment method of the failed attempt.
    public var paymentMethod: String?
    /// The failed charge, when the attempt reached the card network.
    public var charge: String?

    /// Creates a record of a failed attempt.
    public init(
        type: PaymentError.Kind,
        code: String,
        declineCode: String? = nil,
        message: String,
        param: String? = nil,
        paymentMethod: String?,
        charge: String? = nil
    ) {
        self.type = type
        self.code = code
        self.declineCode = declineCode
        self.message = message
        self.param = param
        self.paymentMethod = paymentMethod
        self.charge = charge
    }

    enum CodingKeys: String, CodingKey {
        case type, code, message, param, charge
        case declineCode = "decline_code"
        case paymentMethod = "payment_method"
    }

    /// 3-D Secure failed or was abandoned by the customer.
    public static func authenticationFailure(paymentMethod: String?) -> LastPaymentError {
        LastPaymentError(
            type: .invalidRequest,
            code: "payment_intent_authentication_failure",
            message: "The provided PaymentMethod has failed authentication. You can provide payment_method_data or "
                + "a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            paymentMethod: paymentMethod
        )
    }

    /// The confirmation window passed without the attempt being completed.
    public static func attemptExpired(paymentMethod: String?) -> LastPaymentError {
        LastPaymentError(
            type: .invalidRequest,
            code: "payment_intent_payment_attempt_expired",
            message: "The latest payment attempt of this PaymentIntent has expired. You can provide "
                + "payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
            paymentMethod: paymentMethod
        )
    }

    /// 3-D Secure failed or was abandoned while setting up a card (a SetupIntent's `last_setup_error`).
    public static func setupAuthenticationFailure(paymentMethod: String?) -> LastPaymentError {
        LastPaymentError(
            type: .invalidRequest,
            code: "setup_intent_authentication_failure",
            message: "The latest attempt to set up the payment method has failed because authentication failed. "
                + "Provide a new payment method to attempt to set up again.",
            paymentMethod: paymentMethod
        )
    }

    /// The confirmation window passed before the customer completed a SetupIntent's 3-D Secure challenge.
    public static func setupAttemptExpired(paymentMethod: String?) -> LastPaymentError {
        LastPaymentError(
            type: .invalidRequest,
            code: "setup_intent_setup_attempt_expired",
            message: "The latest setup attempt for this SetupIntent has expired. Provide a new payment method to "
                + "attempt to set up again.",
            paymentMethod: paymentMethod
        )
    }
}
