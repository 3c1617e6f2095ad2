/// Radar's risk assessment of a payment (`outcome.risk_level` on a charge), with Stripe's spelling as raw value.
public enum RiskLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case normal
    case elevated
    case highest
}
