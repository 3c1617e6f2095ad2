/// A card payment method. Also the `payment_methods` table's row: it holds only what may be shown (brand, last
/// four digits, expiry, fingerprint); the full number lives sealed in the card vault, and the CVC nowhere.
public struct PaymentMethod: Codable, Sendable, Equatable {
    public var id: String
    public var created: Int64
    public var customer: String?
    public var brand: String
    public var last4: String
    public var expMonth: Int
    public var expYear: Int
    /// A keyed hash of the card number: equal for the same card, irreversible.
    public var fingerprint: String
    public var funding: String
    public var country: String?
    /// `pass`/`fail`/`unavailable`/`unchecked` when a CVC was given at creation, nil otherwise.
    public var cvcCheck: String?
    public var billingDetails: BillingDetails
    public var metadata: [String: String]
    /// False once used without a customer or detached: Stripe refuses to use it again.
    public var reusable: Bool
    /// Saved with `setup_future_usage=off_session` after any authentication, so off-session charges may skip it.
    public var offSessionReady: Bool

    /// Creates a payment method.
    public init(
        id: String,
        created: Int64,
        customer: String? = nil,
        brand: String,
        last4: String,
        expMonth: Int,
        expYear: Int,
        fingerprint: String,
        funding: String,
        country: String?,
        cvcCheck: String?,
        billingDetails: BillingDetails = BillingDetails(),
        metadata: [String: String] = [:],
        reusable: Bool = true,
        offSessionReady: Bool = false
    ) {
        self.id = id
        self.created = created
        self.customer = customer
        self.brand = brand
        self.last4 = last4
        self.expMonth = expMonth
        self.expYear = expYear
        self.fingerprint = fingerprint
        self.funding = funding
        self.country = country
        self.cvcCheck = cvcCheck
        self.billingDetails = billingDetails
        self.metadata = metadata
        self.reusable = reusable
        self.offSessionReady = offSessionReady
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, customer, brand, last4, fingerprint, funding, country, metadata, reusable
        case expMonth = "exp_month"
        case expYear = "exp_year"
        case cvcCheck = "cvc_check"
        case billingDetails = "billing_details"
        case offSessionReady = "off_session_ready"
    }
}

extension PaymentMethod {
    /// Keeps the card for later payments once a payment or a setup with it succeeded: attached to `customer` (when
    /// there is one) and usable again; and with `off_session` usage, ready for charges while the customer is away,
    /// the authentication the card asked for being done.
    ///
    /// A card detached meanwhile (no longer ``reusable``) or attached to another customer is left as it is: a
    /// detached card is never used again, and a card is never moved from one customer to another.
    public mutating func keep(for customer: String?, usage: SetupFutureUsage) {
        guard reusable, self.customer == nil || self.customer == customer else { return }
        if let customer {
            self.customer = customer
            reusable = true
        }
        if usage == .offSession { offSessionReady = true }
    }
}
