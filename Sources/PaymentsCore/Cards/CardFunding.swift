/// How a card is funded, with Stripe's `card.funding` spelling as the raw value.
public enum CardFunding: String, Sendable, Codable, CaseIterable {
    case credit
    case debit
    case prepaid
    case unknown
}
