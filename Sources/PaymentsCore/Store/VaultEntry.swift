/// A row of the vault: the payment method a card belongs to and its sealed number.
public struct VaultEntry: Sendable, Equatable {
    /// The payment method (`pm_...`) the card belongs to.
    public var paymentMethod: String
    /// The sealed card number.
    public var card: SealedCard

    /// Creates an entry.
    public init(paymentMethod: String, card: SealedCard) {
        self.paymentMethod = paymentMethod
        self.card = card
    }
}
