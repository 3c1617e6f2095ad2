/// How a card's issuer answers the verification data a payment carries: the CVC, the billing address's first line
/// and its postal code (a charge's `payment_method_details.card.checks`).
public struct CardChecks: Sendable, Hashable {
    public var cvc: CheckResult
    public var addressLine1: CheckResult
    public var addressPostalCode: CheckResult

    /// Creates the answers.
    public init(cvc: CheckResult, addressLine1: CheckResult, addressPostalCode: CheckResult) {
        self.cvc = cvc
        self.addressLine1 = addressLine1
        self.addressPostalCode = addressPostalCode
    }

    /// Every datum matches (most cards).
    public static let passing = CardChecks(cvc: .pass, addressLine1: .pass, addressPostalCode: .pass)
}
