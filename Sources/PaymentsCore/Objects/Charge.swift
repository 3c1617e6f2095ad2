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
    /// The intent's description and metadata when the attempt was made (Stripe copies both onto the charge).
    public var description: String?
    public var metadata: [String: String]
    /// The intent's receipt address and statement descriptors when the attempt was made, copied as Stripe copies
    /// them (nil on charges made before they were kept).
    public var receiptEmail: String?
    public var statementDescriptor: String?
    public var statementDescriptorSuffix: String?
    /// The intent's shipping when the attempt was made, as Stripe copies it (nil on charges made before it was kept).
    public var shipping: Shipping?
    /// Radar's risk level for the payment; nil for an attempt that never reached the network's assessment.
    public var riskLevel: RiskLevel?
    /// The issuer's answer to each verification datum the payment carried; nil for one it did not carry.
    public var cvcCheck: CheckResult?
    public var addressLine1Check: CheckResult?
    public var addressPostalCodeCheck: CheckResult?
    /// Whether the request that made this attempt named its payment method (`payment_method` on the confirm, or on
    /// the create that confirmed), rather than using the card the intent held; nil on attempts made before it was
    /// kept. Not part of Stripe's object: a confirm that finds another request's attempt in flight reads it to tell
    /// that request's retry from another request.
    public var namedPaymentMethod: Bool?

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
        self.description = nil
        self.metadata = [:]
        self.receiptEmail = nil
        self.statementDescriptor = nil
        self.statementDescriptorSuffix = nil
        self.shipping = nil
        self.riskLevel = nil
        self.cvcCheck = nil
        self.addressLine1Check = nil
        self.addressPostalCodeCheck = nil
        self.namedPaymentMethod = nil
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
        var charge = Charge(
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
        charge.description = intent.description
        charge.metadata = intent.metadata
        charge.receiptEmail = intent.receiptEmail
        charge.statementDescriptor = intent.statementDescriptor
        charge.statementDescriptorSuffix = intent.statementDescriptorSuffix
        charge.shipping = intent.shipping
        return charge
    }

    // MARK: - Amounts

    /// What a partial capture released: the part of the authorization that was never captured (0 until captured).
    public var amountReleased: Int64 {
        captured ? amount - amountCaptured : 0
    }

    /// Stripe's `amount_refunded`: what refunds gave back, plus what a partial capture released (Stripe counts the
    /// uncaptured remainder as refunded). `amountRefunded`, the stored column, holds the refunds alone, so that it
    /// never exceeds what was captured; a released hold holds the whole amount there already.
    public var totalAmountRefunded: Int64 {
        amountRefunded + amountReleased
    }

    /// What may still be refunded: what was captured less what refunds gave back (or hold reserved).
    public var refundable: Int64 {
        captured ? amountCaptured - amountRefunded : 0
    }

    /// Whether the whole charge was given back: everything captured refunded (a partial capture's remainder counting
    /// as refunded), or an uncaptured authorization released (as Stripe shows a canceled hold: `refunded` with
    /// `amount_refunded` equal to the amount).
    public var refunded: Bool {
        status == .succeeded && totalAmountRefunded >= amount
    }

    // MARK: - Changes

    /// Records how the network assesses the payment: Radar's risk level, and the issuer's answer to each
    /// verification datum `paymentMethod` carries (a CVC given at collection, a billing address line 1 or postal
    /// code); a datum it lacks stays unchecked (nil), as Stripe shows it. An off-session charge sends no CVC (the
    /// customer is away, and the CVC is never kept: ``cvcSent(with:)``), so its CVC stays unchecked.
    public mutating func assess(_ profile: CardProfile, paymentMethod: PaymentMethod) {
        let address = paymentMethod.billingDetails.address
        riskLevel = profile.riskLevel
        cvcCheck = cvcSent(with: paymentMethod) ? profile.checks.cvc : nil
        addressLine1Check = address.line1 == nil ? nil : profile.checks.addressLine1
        addressPostalCodeCheck = address.postalCode == nil ? nil : profile.checks.addressPostalCode
    }

    /// Whether this attempt sends the card's CVC to the network: one was given when `paymentMethod` was collected,
    /// and the customer is there. An off-session charge of a saved card showed the CVC check of its collection as if
    /// the CVC had been sent again (a `4000000000000101` card's `fail` on every recharge), where Stripe, which keeps
    /// no CVC, shows none. Decided from the attempt's own row, so a retry after a crash sends what the first try
    /// sent.
    public func cvcSent(with paymentMethod: PaymentMethod) -> Bool {
        paymentMethod.cvcCheck != nil && !offSession
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

    /// Records the capture of `amount` of an approved authorization; the rest of it is released
    /// (``amountReleased``), which Stripe shows as refunded.
    public mutating func recordCapture(_ amount: Int64) {
        captured = true
        amountCaptured = amount
    }

    /// Marks an uncaptured authorization released (the intent canceled, by the merchant or for expiry).
    public mutating func releaseAuthorization() {
        guard status == .succeeded, !captured else { return }
        amountRefunded = amount
    }

    /// Gives back to the refundable amount a refund that failed after it was reserved (or reported succeeded): the
    /// money never left, so it may be refunded again.
    public mutating func reverseRefund(_ amount: Int64) {
        amountRefunded -= amount
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
        case description, metadata
        case receiptEmail = "receipt_email"
        case statementDescriptor = "statement_descriptor"
        case statementDescriptorSuffix = "statement_descriptor_suffix"
        case shipping
        case riskLevel = "risk_level"
        case cvcCheck = "cvc_check"
        case addressLine1Check = "address_line1_check"
        case addressPostalCodeCheck = "address_postal_code_check"
        case namedPaymentMethod = "named_payment_method"
    }
}
