/// One of Stripe's test cards and how the test-mode card network treats it: pure data, no logic beyond
/// choosing between on- and off-session outcomes.
///
/// A card's journey through the network: `attach` decides attaching it to a Customer; `threeDSecure` (through
/// `ThreeDSecurePolicy`) decides whether a payment must first be authenticated; then
/// `chargeBehavior(offSession:)` is what the authorization answers.
public struct TestCard: Sendable, Hashable {
    /// The full card number, digits only (test numbers are public; real ones never appear in this table).
    public let number: String
    /// The brand; always equal to `CardBrand.detect(fromDigits: number)`.
    public let brand: CardBrand
    /// The funding type (`card.funding`).
    public let funding: CardFunding
    /// The issuing country, ISO 3166-1 alpha-2 (`card.country`), such as `US`.
    public let country: String
    /// How the card takes part in 3-D Secure.
    public let threeDSecure: ThreeDSecureBehavior
    /// What an authorization answers, after any authentication.
    public let charge: ChargeBehavior
    /// What attaching the card to a Customer does.
    public let attach: AttachBehavior
    /// What an off-session authorization answers, when it differs from `charge`; nil otherwise.
    ///
    /// This applies once `ThreeDSecurePolicy` lets an off-session payment proceed; it does not override the
    /// `authentication_required` decline of a card whose 3-D Secure behaviour forbids off-session payments.
    public let offSessionCharge: ChargeBehavior?
    /// The CVC check's result when a CVC was given (`card.checks.cvc_check` after the first charge or attach).
    public let cvcCheck: CheckResult
    /// The address line 1 check's result when a line 1 was given.
    public let addressLine1Check: CheckResult
    /// The postal code check's result when a postal code was given.
    public let addressPostalCodeCheck: CheckResult
    /// Radar's risk level for this card's payments.
    public let riskLevel: RiskLevel
    /// How refunds of this card's payments behave.
    public let refund: RefundBehavior
    /// Stripe's magic PaymentMethod ids for this card (`pm_card_visa`, …), the documented name first and older
    /// aliases after it; empty for cards Stripe gives no id.
    public let paymentMethodIDs: [String]

    /// Creates a table row; every behaviour defaults to that of a plain successful US credit card.
    public init(
        number: String,
        brand: CardBrand,
        funding: CardFunding = .credit,
        country: String = "US",
        threeDSecure: ThreeDSecureBehavior = .supportedNotRequired,
        charge: ChargeBehavior = .approve,
        attach: AttachBehavior = .succeeds,
        offSessionCharge: ChargeBehavior? = nil,
        cvcCheck: CheckResult = .pass,
        addressLine1Check: CheckResult = .pass,
        addressPostalCodeCheck: CheckResult = .pass,
        riskLevel: RiskLevel = .normal,
        refund: RefundBehavior = .succeeds,
        paymentMethodIDs: [String] = []
    ) {
        self.number = number
        self.brand = brand
        self.funding = funding
        self.country = country
        self.threeDSecure = threeDSecure
        self.charge = charge
        self.attach = attach
        self.offSessionCharge = offSessionCharge
        self.cvcCheck = cvcCheck
        self.addressLine1Check = addressLine1Check
        self.addressPostalCodeCheck = addressPostalCodeCheck
        self.riskLevel = riskLevel
        self.refund = refund
        self.paymentMethodIDs = paymentMethodIDs
    }

    /// The last four digits of `number`.
    public var last4: String { String(number.suffix(4)) }

    /// What an authorization answers once `ThreeDSecurePolicy` has let the payment proceed.
    ///
    /// - Parameter offSession: whether the customer is away (`off_session=true`).
    /// - Returns: `offSessionCharge` for off-session payments when the card has one, `charge` otherwise.
    public func chargeBehavior(offSession: Bool) -> ChargeBehavior {
        if offSession, let offSessionCharge { return offSessionCharge }
        return charge
    }
}
