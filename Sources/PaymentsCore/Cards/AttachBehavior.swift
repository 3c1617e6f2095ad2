/// What attaching a test card to a Customer does (`POST /v1/payment_methods/:id/attach`).
public enum AttachBehavior: Sendable, Hashable {
    /// The card is attached.
    case succeeds
    /// Attaching fails with this card error (HTTP 402), as Stripe's issuer-decline test cards do.
    case fails(CardDecline)
}
