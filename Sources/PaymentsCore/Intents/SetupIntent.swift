/// A SetupIntent: saving a card for later payments without charging it, with any 3-D Secure the card asks for
/// done now, while the customer is present.
///
/// The value is also the row of the `setup_intents` table (column names are Stripe's field names). Its status only
/// changes through ``SetupIntent/apply(_:now:)``, which checks ``SetupIntentStateMachine`` first.
public struct SetupIntent: Codable, Sendable, Equatable {
    public var id: String
    public var created: Int64
    public var status: SetupIntentStatus
    /// How the card will be used later: `off_session` (Stripe's default) makes it ready for charges while the
    /// customer is away.
    public var usage: SetupFutureUsage
    /// Lets a publishable-key holder read and confirm this one setup intent. A credential: never logged.
    public var clientSecret: String
    /// The customer the card is attached to once set up.
    public var customer: String?
    public var paymentMethod: String?
    public var description: String?
    public var metadata: [String: String]
    /// The error of the latest failed attempt (Stripe's `last_setup_error`, the same shape as a payment's).
    public var lastSetupError: LastPaymentError?
    /// The id of the latest confirmation attempt (`setatt_...`); attempts are not stored as objects of their own.
    public var latestAttempt: String?
    /// Where the 3-D Secure challenge sends the customer back to.
    public var returnURL: String?
    /// The secret part of the challenge page's URL while the setup is `requires_action`.
    public var authenticationToken: String?
    /// When the attempt waiting for the customer fails if not completed (the sweeper's due time).
    public var attemptExpiresAt: Int64?
    /// When the card was set up.
    public var succeededAt: Int64?
    public var canceledAt: Int64?
    public var cancellationReason: SetupIntentCancellationReason?

    /// Creates a setup intent in the status its payment method implies: `requires_confirmation` with one,
    /// `requires_payment_method` without.
    public init(
        id: String,
        created: Int64,
        usage: SetupFutureUsage = .offSession,
        clientSecret: String,
        customer: String? = nil,
        paymentMethod: String? = nil,
        description: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.id = id
        self.created = created
        self.status = paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation
        self.usage = usage
        self.clientSecret = clientSecret
        self.customer = customer
        self.paymentMethod = paymentMethod
        self.description = description
        self.metadata = metadata
        self.lastSetupError = nil
        self.latestAttempt = nil
        self.returnURL = nil
        self.authenticationToken = nil
        self.attemptExpiresAt = nil
        self.succeededAt = nil
        self.canceledAt = nil
        self.cancellationReason = nil
    }
}
