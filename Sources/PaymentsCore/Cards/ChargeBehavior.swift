/// What the test network answers an authorization, once any 3-D Secure step has been passed.
public enum ChargeBehavior: Sendable, Hashable {
    /// The issuer approves.
    case approve
    /// The issuer (or Radar) declines with this card error.
    case decline(CardDecline)
}
