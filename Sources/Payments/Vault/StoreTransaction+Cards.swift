import PaymentsCore

extension StoreTransaction {
    /// Opens the sealed card number of a payment method with `vault`, under the key its row names (the current or
    /// an old one). The result must stay in memory.
    /// - Throws: ``CardVault/VaultError/unknownKey(_:)`` when that key is not configured, and
    ///   ``CardVault/VaultError/unreadableCard(paymentMethod:keyID:)`` when the card does not open under it.
    public func cardNumber(of paymentMethodID: String, vault: CardVault) throws -> CardNumber? {
        guard let sealed = try sealedCard(of: paymentMethodID) else { return nil }
        do {
            return try vault.open(sealed)
        } catch CardVault.VaultError.unreadable {
            throw CardVault.VaultError.unreadableCard(paymentMethod: paymentMethodID, keyID: sealed.keyID)
        }
    }
}
