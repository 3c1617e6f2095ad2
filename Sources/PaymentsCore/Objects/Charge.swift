/// One attempt to move money for a PaymentIntent. Also the `charges` table's row.
///
/// Its id is the attempt id the card network sees. It is written `pending` before the network is asked and
/// resolved to `succeeded` or `failed` with the network's answer, so a crash in between leaves a pending charge
/// that recovery settles by asking the network again with the same id.
public struct Charge: Codable, Sendable, Equatable {
    /// Where the attempt stands.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, succeeded, failed
    }

    public var id: String
    public var created: Int64
    public var paymentIntent: String
    public var paymentMethod: String?
    public var customer: String?
    public var amount: Int64
    public var currency: String
    public var status: Status
    /// Whether the authorization asked for immediate capture.
    public var capture: Bool
    public var captured: Bool
    public var amountCaptured: Int64
    public var amountRefunded: Int64
    public var failureCode: String?
    public var failureMessage: String?
    public var declineCode: String?
    public var offSession: Bool
    /// `authenticated` when 3-D Secure was passed, `failed`/`expired` for attempts that ended there.
    public var threeDSecure: String?
    public var authorizationCode: String?
    public var resolvedAt: Int64?

    /// Creates a pending attempt.
    public init(
        id: String,
        created: Int64,
        paymentIntent: String,
        paymentMethod: String?,
        customer: String?,
        amount: Int64,
        currency: String,
        capture: Bool,
        offSession: Bool,
        threeDSecure: String?
    ) {
        self.id = id
        self.created = created
        self.paymentIntent = paymentIntent
        self.paymentMethod = paymentMethod
        self.customer = customer
        self.amount = amount
        self.currency = currency
        self.status = .pending
        self.capture = capture
        self.captured = false
        self.amountCaptured = 0
        self.amountRefunded = 0
        self.failureCode = nil
        self.failureMessage = nil
        self.declineCode = nil
        self.offSession = offSession
        self.threeDSecure = threeDSecure
        self.authorizationCode = nil
        self.resolvedAt = nil
    }

    /// A pending attempt to collect `intent`'s amount with `paymentMethod`, as the intent stands now.
    public static func attempt(
        id: String,
        for intent: PaymentIntent,
        paymentMethod: String?,
        at now: Int64,
        offSession: Bool = false,
        threeDSecure: String? = nil
    ) -> Charge {
        Charge(
            id: id,
            created: now,
            paymentIntent: intent.id,
            paymentMethod: paymentMethod,
            customer: intent.customer,
            amount: intent.amount,
            currency: intent.currency,
            capture: intent.captureMethod != .manual,
            offSession: offSession,
            threeDSecure: threeDSecure
        )
    }

    /// Whether the whole charge was given back: all that was captured refunded, or an uncaptured authorization
    /// released (as Stripe shows a canceled hold: `refunded` with `amount_refunded` equal to the amount).
    public var refunded: Bool {
        captured
            ? amountCaptured > 0 && amountRefunded >= amountCaptured : status == .succeeded && amountRefunded >= amount
    }

    /// Marks the attempt failed with the network's decline.
    public mutating func fail(with decline: CardDecline, at now: Int64) {
        status = .failed
        failureCode = decline.code
        declineCode = decline.declineCode
        failureMessage = decline.message
        resolvedAt = now
    }

    /// Marks the attempt failed before it reached the network (3-D Secure failed, the attempt expired).
    public mutating func fail(with failure: LastPaymentError, at now: Int64) {
        status = .failed
        failureCode = failure.code
        declineCode = failure.declineCode
        failureMessage = failure.message
        resolvedAt = now
    }

    /// Marks the attempt approved by the network: captured at once when the intent captures automatically,
    /// otherwise an authorization to capture later.
    public mutating func approve(authorizationCode code: String, at now: Int64) {
        status = .succeeded
        authorizationCode = code
        captured = capture
        amountCaptured = capture ? amount : 0
        resolvedAt = now
    }

    /// Records the capture of `amount` of an approved authorization.
    public mutating func recordCapture(_ amount: Int64) {
        captured = true
        amountCaptured = amount
    }

    /// Marks an uncaptured authorization released (the intent canceled, by the merchant or for expiry).
    public mutating func releaseAuthorization() {
        guard status == .succeeded, !captured else { return }
        amountRefunded = amount
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, customer, amount, currency, status, capture, captured
        case paymentIntent = "payment_intent"
        case paymentMethod = "payment_method"
        case amountCaptured = "amount_captured"
        case amountRefunded = "amount_refunded"
        case failureCode = "failure_code"
        case failureMessage = "failure_message"
        case declineCode = "decline_code"
        case offSession = "off_session"
        case threeDSecure = "three_d_secure"
        case authorizationCode = "authorization_code"
        case resolvedAt = "resolved_at"
    }
}
