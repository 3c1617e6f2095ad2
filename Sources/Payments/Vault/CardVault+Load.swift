import PaymentsCore

extension CardVault {
    /// The name of the fingerprint keys' row in `vault_secrets`.
    static let secretsName = "fingerprint_keys"

    /// Opens the vault for a database: the current key seals, the old keys open, and the fingerprint keys are the
    /// database's own, kept in it sealed under a vault key.
    ///
    /// On a database that keeps none yet (made before migration 0007, or new), they are made from the vault key
    /// that sealed the cards already stored (so stored fingerprints stay valid), or from the current key when there
    /// are none, and stored sealed under the current key; two processes starting at once store one and both read
    /// it back.
    /// - Throws: ``VaultError/badKey`` for a key that is not 32 bytes of base64;
    ///   ``VaultError/secretsUnreadable(keyID:)`` when no configured key opens the stored fingerprint keys;
    ///   ``VaultError/cardsUnderUnknownKeys(_:)`` when the stored cards' key is not configured.
    public static func load(currentKey: String, oldKeys: [String], store: any PaymentStore) async throws -> CardVault {
        let keys = try CardVault(base64Key: currentKey, oldKeys: oldKeys)
        if let stored = try await store.read({ tx in try tx.vaultSecret(secretsName) }) {
            return keys.with(try keys.openSecrets(stored))
        }
        let counts = try await store.read { tx in try tx.sealedCardCounts() }
        let origin: String
        if counts.isEmpty {
            origin = keys.keyID
        } else if let known = counts.filter({ keys.hasKey($0.key) }).max(by: { $0.value < $1.value })?.key {
            origin = known
        } else {
            throw VaultError.cardsUnderUnknownKeys(counts.keys.sorted())
        }
        guard let secrets = keys.derivedSecrets(keyID: origin) else { throw VaultError.unknownKey(origin) }
        let sealed = try keys.with(secrets).sealedSecrets()
        let stored = try await store.write { tx in
            try tx.insertVaultSecret(secretsName, sealed) ? sealed : try tx.vaultSecret(secretsName) ?? sealed
        }
        return keys.with(try keys.openSecrets(stored))
    }
}
