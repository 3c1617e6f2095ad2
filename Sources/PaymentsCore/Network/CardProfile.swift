/// What the card network knows of a card number before any payment: the card's metadata and how it takes part in
/// 3-D Secure. The test-mode network reads it from Stripe's test-card table; a real acquirer from its BIN table.
public struct CardProfile: Sendable, Equatable {
    public var brand: CardBrand
    public var funding: CardFunding
    /// The issuing country, ISO 3166-1 alpha-2, when known.
    public var country: String?
    /// Whether and when payments with the card must be authenticated.
    public var threeDSecure: ThreeDSecureBehavior

    /// Creates a profile.
    public init(brand: CardBrand, funding: CardFunding, country: String?, threeDSecure: ThreeDSecureBehavior) {
        self.brand = brand
        self.funding = funding
        self.country = country
        self.threeDSecure = threeDSecure
    }
}

/// The network's answer about a card being collected.
public enum CardLookup: Sendable, Equatable {
    /// The network takes the card.
    case known(CardProfile)
    /// The network refuses the card outright (in test mode: a real, non-test number).
    case refused(CardDecline)
}
