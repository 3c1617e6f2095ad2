import PaymentsCore

extension StoreTransaction {
    /// Opens the sealed card number of a payment method with `vault`, under the key its row names (the current or
    /// an old one). The result must stay in memory.
    public func cardNumber(of paymentMethodID: String, vault: CardVault) throws -> CardNumber? {
        try sealedCard(of: paymentMethodID).map { try vault.open($0) }
    }
}
