/// How a test card takes part in 3-D Secure (§6.4 of the reference). Only the cards Stripe documents as enrolled
/// challenge; every other card is `.supportedNotRequired` (supported but not enrolled) and never asks.
///
/// `ThreeDSecurePolicy` turns this into a decision for one confirm.
public enum ThreeDSecureBehavior: Sendable, Hashable {
    /// 3-D Secure cannot be invoked; payments proceed without it (`378282246310005`).
    case notSupported
    /// Supported but not required: payments proceed without a challenge (`4242…`, `…3055`, `…3097`).
    case supportedNotRequired
    /// On-session payments always challenge; off-session ones proceed if the card was set up for off-session use
    /// after authenticating, and otherwise fail with `authentication_required` (`4000002500003155`).
    case requiredUnlessSetUp
    /// Every on-session payment challenges; every off-session one fails with `authentication_required`
    /// (`4000002760003184`, `…3220`, `…3063`, `4000008400001629`, `4000008400000027`).
    case alwaysRequired
    /// On-session payments challenge; off-session ones proceed as if already set up (`4000003800000446`, and
    /// `4000008260003178`, whose payments then decline with `insufficient_funds`).
    case requiredSetUpForOffSession
    /// The 3-D Secure lookup fails: the payment declines with `card_declined` before any challenge
    /// (`4000008400001280`).
    case lookupFails

    /// Stripe's `card.three_d_secure_usage.supported`: false only for cards that cannot do 3-D Secure.
    public var isSupported: Bool { self != .notSupported }
}
