/// What the card network knows of a card number before any payment: the card's metadata, how it takes part in
/// 3-D Secure, and how its payments are assessed (Radar's risk level, the issuer's verification checks). The
/// test-mode network reads it from Stripe's test-card table; a real acquirer from its BIN table and risk engine.
public struct CardProfile: Sendable, Equatable {
    public var brand: CardBrand
    public var funding: CardFunding
    /// The issuing country, ISO 3166-1 alpha-2, when known.
    public var country: String?
    /// Whether and when payments with the card must be authenticated.
    public var threeDSecure: ThreeDSecureBehavior
    /// Radar's risk level for the card's payments (a charge's `outcome.risk_level`).
    public var riskLevel: RiskLevel
    /// How the issuer answers the card's verification data (a charge's `payment_method_details.card.checks`).
    public var checks: CardChecks

    /// Creates a profile; the assessment defaults to that of an ordinary card (normal risk, every check passing).
    public init(
        brand: CardBrand,
        funding: CardFunding,
        country: String?,
        threeDSecure: ThreeDSecureBehavior,
        riskLevel: RiskLevel = .normal,
        checks: CardChecks = .passing
    ) {
        self.brand = brand
        self.funding = funding
        self.country = country
        self.threeDSecure = threeDSecure
        self.riskLevel = riskLevel
        self.checks = checks
    }
}

/// The network's answer about a card being collected.
public enum CardLookup: Sendable, Equatable {
    /// The network takes the card.
    case known(CardProfile)
    /// The network refuses the card outright (in test mode: a real, non-test number).
    case refused(CardDecline)
}
