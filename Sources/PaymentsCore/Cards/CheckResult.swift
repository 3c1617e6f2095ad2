/// The result of a verification check on a card (`card.checks.cvc_check`, `address_line1_check`,
/// `address_postal_code_check`), with Stripe's spelling as the raw value.
public enum CheckResult: String, Sendable, Hashable, Codable, CaseIterable {
    /// The datum matched the issuer's records.
    case pass
    /// The datum did not match.
    case fail
    /// The issuer could not check it.
    case unavailable
    /// Given but not yet checked (before the first charge or attach).
    case unchecked
}
