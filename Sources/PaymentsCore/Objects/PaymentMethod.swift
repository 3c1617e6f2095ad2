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
    /// `pass`/`fail`/`unavailable`/`unchecked` when a CVC was given at creation, nil otherwise: `unchecked` until the
    /// first payment, setup or attach that reaches the issuer (``recordChecks(_:cvcSent:)``).
    public var cvcCheck: String?
    /// As `cvcCheck`, for the billing address's line 1: nil while the card has none.
    public var addressLine1Check: String?
    /// As `cvcCheck`, for the billing address's postal code: nil while the card has none.
    public var addressPostalCodeCheck: String?
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
        addressLine1Check: String? = nil,
        addressPostalCodeCheck: String? = nil,
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
        self.addressLine1Check = addressLine1Check
        self.addressPostalCodeCheck = addressPostalCodeCheck
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
        case addressLine1Check = "address_line1_check"
        case addressPostalCodeCheck = "address_postal_code_check"
        case billingDetails = "billing_details"
        case offSessionReady = "off_session_ready"
    }
}

extension PaymentMethod {
    /// Records the issuer's answers to the verification data the card carries (its CVC, its billing address's line 1
    /// and postal code), as the first payment, setup or attach that reaches the issuer learns them, and as Stripe
    /// shows them on the card from then on. A check still `unchecked` takes the answer; one answered before keeps
    /// it, and a datum the card lacks stays nil. The CVC's answer only when the attempt sent it (`cvcSent`): an
    /// off-session charge sends none, and recorded `pass` on a card whose CVC no payment had sent (a probe).
    public mutating func recordChecks(_ checks: CardChecks, cvcSent: Bool = true) {
        let unchecked = CheckResult.unchecked.rawValue
        if cvcCheck == unchecked, cvcSent { cvcCheck = checks.cvc.rawValue }
        if addressLine1Check == unchecked { addressLine1Check = checks.addressLine1.rawValue }
        if addressPostalCodeCheck == unchecked { addressPostalCodeCheck = checks.addressPostalCode.rawValue }
    }

    /// The card as a store reads it: a datum of its billing address with no check was written by a release before
    /// migration 0014 (one still serving beside a newer one, in a rolling deploy), and is `unchecked` until the issuer
    /// answers for it. It stayed null for good.
    public func withUnrecordedChecksUnchecked() -> PaymentMethod {
        var card = self
        let (address, unchecked) = (billingDetails.address, CheckResult.unchecked.rawValue)
        if card.addressLine1Check == nil, address.line1 != nil { card.addressLine1Check = unchecked }
        if card.addressPostalCodeCheck == nil, address.postalCode != nil { card.addressPostalCodeCheck = unchecked }
        return card
    }

    /// Sets the address checks for `billingDetails`, the card's billing details after a create or an update: a
    /// line 1 or postal code that is new (or changed) is `unchecked` until the issuer answers for it, one taken away
    /// has no check, and one left as it was keeps its answer.
    public mutating func uncheckAddress(from before: BillingDetails?) {
        let (old, new) = (before?.address, billingDetails.address)
        if new.line1 == nil {
            addressLine1Check = nil
        } else if new.line1 != old?.line1 || addressLine1Check == nil {
            addressLine1Check = CheckResult.unchecked.rawValue
        }
        if new.postalCode == nil {
            addressPostalCodeCheck = nil
        } else if new.postalCode != old?.postalCode || addressPostalCodeCheck == nil {
            addressPostalCodeCheck = CheckResult.unchecked.rawValue
        }
    }

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
