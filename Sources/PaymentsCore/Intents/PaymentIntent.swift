/// A PaymentIntent: one payment the merchant wants to collect, and every attempt to collect it.
///
/// The value is also the row of the `payment_intents` table (its coding keys are the column names, which are
/// Stripe's field names). Its status only changes through ``PaymentIntentStateMachine``.
public struct PaymentIntent: Codable, Sendable, Equatable {
    public var id: String
    public var created: Int64
    /// Amount to collect in the currency's minor unit.
    public var amount: Int64
    /// Lowercase ISO 4217 code.
    public var currency: String
    public var status: PaymentIntentStatus
    public var captureMethod: CaptureMethod
    public var confirmationMethod: ConfirmationMethod
    /// Lets a publishable-key holder read and confirm this one intent. A credential: never logged.
    public var clientSecret: String
    public var customer: String?
    public var paymentMethod: String?
    public var description: String?
    public var receiptEmail: String?
    public var statementDescriptor: String?
    public var statementDescriptorSuffix: String?
    public var metadata: [String: String]
    /// Where the order goes (Stripe's `shipping`); each attempt's charge copies it.
    public var shipping: Shipping?
    public var setupFutureUsage: SetupFutureUsage?
    public var amountCapturable: Int64
    public var amountReceived: Int64
    public var latestCharge: String?
    public var lastPaymentError: LastPaymentError?
    public var canceledAt: Int64?
    public var cancellationReason: CancellationReason?
    /// Where the 3-D Secure challenge sends the customer back to.
    public var returnURL: String?
    /// Whether the current attempt is off-session (a per-confirm flag, kept for crash recovery).
    public var offSession: Bool
    /// The payment method that passed 3-D Secure for this intent; confirming it again needs no new challenge.
    public var authenticatedPaymentMethod: String?
    /// The secret part of the challenge page's URL while the intent is `requires_action`.
    public var authenticationToken: String?
    /// When the current attempt falls back to `requires_payment_method` if not completed (the sweeper's due time).
    public var attemptExpiresAt: Int64?
    /// When the intent succeeded; reports count payments by this day.
    public var succeededAt: Int64?
    /// When the authorization was approved, for the 7-day capture limit.
    public var authorizedAt: Int64?
    /// Where the intent was created; `/pay` confirms only intents it created itself.
    public var origin: Origin
    /// A capture or release the network was asked for and whose answer is not recorded yet (``SettlementRequest``).
    public var settling: SettlementRequest?

    /// Where an intent was created.
    public enum Origin: String, Codable, Sendable, CaseIterable {
        /// Through `/v1/payment_intents`, by the merchant's backend with its secret key.
        case api
        /// By the checkout's `POST /pay`.
        case pay
        /// By `payments recharge`.
        case recharge
    }

    /// Creates an intent in the status its payment method implies: `requires_confirmation` with one,
    /// `requires_payment_method` without.
    public init(
        id: String,
        created: Int64,
        amount: Int64,
        currency: String,
        captureMethod: CaptureMethod = .automatic,
        confirmationMethod: ConfirmationMethod = .automatic,
        clientSecret: String,
        customer: String? = nil,
        paymentMethod: String? = nil,
        description: String? = nil,
        receiptEmail: String? = nil,
        statementDescriptor: String? = nil,
        statementDescriptorSuffix: String? = nil,
        metadata: [String: String] = [:],
        shipping: Shipping? = nil,
        setupFutureUsage: SetupFutureUsage? = nil,
        origin: Origin = .api
    ) {
        self.id = id
        self.created = created
        self.amount = amount
        self.currency = currency
        self.status = paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation
        self.captureMethod = captureMethod
        self.confirmationMethod = confirmationMethod
        self.clientSecret = clientSecret
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.description = description
        self.receiptEmail = receiptEmail
        self.statementDescriptor = statementDescriptor
        self.statementDescriptorSuffix = statementDescriptorSuffix
        self.metadata = metadata
        self.shipping = shipping
        self.setupFutureUsage = setupFutureUsage
        self.amountCapturable = 0
        self.amountReceived = 0
        self.latestCharge = nil
        self.lastPaymentError = nil
        self.canceledAt = nil
        self.cancellationReason = nil
        self.returnURL = nil
        self.offSession = false
        self.authenticatedPaymentMethod = nil
        self.authenticationToken = nil
        self.attemptExpiresAt = nil
        self.succeededAt = nil
        self.authorizedAt = nil
        self.origin = origin
        self.settling = nil
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, amount, currency, status, customer, description, metadata, shipping, origin
        case captureMethod = "capture_method"
        case confirmationMethod = "confirmation_method"
        case clientSecret = "client_secret"
        case paymentMethod = "payment_method"
        case receiptEmail = "receipt_email"
        case statementDescriptor = "statement_descriptor"
        case statementDescriptorSuffix = "statement_descriptor_suffix"
        case setupFutureUsage = "setup_future_usage"
        case amountCapturable = "amount_capturable"
        case amountReceived = "amount_received"
        case latestCharge = "latest_charge"
        case lastPaymentError = "last_payment_error"
        case canceledAt = "canceled_at"
        case cancellationReason = "cancellation_reason"
        case returnURL = "return_url"
        case offSession = "off_session"
        case authenticatedPaymentMethod = "authenticated_payment_method"
        case authenticationToken = "authentication_token"
        case attemptExpiresAt = "attempt_expires_at"
        case succeededAt = "succeeded_at"
        case authorizedAt = "authorized_at"
        case settling
    }
}

extension PaymentIntent {
    /// The longest `description` an intent takes, in characters, as Stripe's API: on create and update, and in a
    /// recharge row.
    public static let maximumDescriptionLength = 1000
}
