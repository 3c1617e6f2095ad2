import Foundation

/// A card number sealed by the card vault: what a store keeps of a card, never the number itself.
public struct SealedCard: Sendable, Equatable {
    /// Names the vault key that sealed it, so a key rotation knows which cards to re-seal.
    public var keyID: String
    /// The ciphertext (nonce, ciphertext and tag together).
    public var sealed: Data

    /// Creates a sealed card.
    public init(keyID: String, sealed: Data) {
        self.keyID = keyID
        self.sealed = sealed
    }
}
