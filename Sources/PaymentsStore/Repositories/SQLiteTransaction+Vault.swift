import Foundation
import GRDB
import PaymentsCore

// MARK: - The vault's rows and secrets

extension SQLiteTransaction {
    /// Sealed cards not sealed under `keyID`, in payment method id order after `paymentMethodID`, at most `limit`
    /// (walks the primary key, so a rotation's batches cost what they read).
    public func sealedCards(notUnder keyID: String, after paymentMethodID: String?, limit: Int) throws -> [VaultEntry] {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT payment_method, key_id, sealed FROM card_vault
                    WHERE payment_method > ? AND key_id <> ? ORDER BY payment_method LIMIT ?
                    """
            ),
            arguments: [paymentMethodID ?? "", keyID, limit]
        )
        return rows.map { row in
            VaultEntry(
                paymentMethod: row["payment_method"],
                card: SealedCard(keyID: row["key_id"], sealed: row["sealed"])
            )
        }
    }

    /// Replaces a card's sealed number if it is still sealed under `expected`.
    @discardableResult
    public func replaceSealedCard(of paymentMethodID: String, expecting expected: String, with card: SealedCard)
        throws -> Bool
    {
        try execute(
            "UPDATE card_vault SET key_id = ?, sealed = ? WHERE payment_method = ? AND key_id = ?",
            [card.keyID, card.sealed, paymentMethodID, expected]
        )
        return db.changesCount > 0
    }

    /// How many sealed cards each vault key sealed.
    public func sealedCardCounts() throws -> [String: Int] {
        let rows = try Row.fetchAll(db, sql: "SELECT key_id, count(*) AS n FROM card_vault GROUP BY key_id")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0["key_id"] as String, $0["n"] as Int) })
    }

    /// The vault's secret `name`, if stored.
    public func vaultSecret(_ name: String) throws -> SealedCard? {
        try Row.fetchOne(db, sql: "SELECT key_id, sealed FROM vault_secrets WHERE name = ?", arguments: [name])
            .map { SealedCard(keyID: $0["key_id"], sealed: $0["sealed"]) }
    }

    /// Stores the vault's secret `name` unless another process stored it first.
    @discardableResult
    public func insertVaultSecret(_ name: String, _ sealed: SealedCard) throws -> Bool {
        try execute(
            "INSERT INTO vault_secrets (name, key_id, sealed) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
            [name, sealed.keyID, sealed.sealed]
        )
        return db.changesCount > 0
    }

    /// Replaces the vault's secret `name` if it is still sealed under `expected`.
    @discardableResult
    public func replaceVaultSecret(_ name: String, expecting expected: String, with sealed: SealedCard) throws -> Bool {
        try execute(
            "UPDATE vault_secrets SET key_id = ?, sealed = ? WHERE name = ? AND key_id = ?",
            [sealed.keyID, sealed.sealed, name, expected]
        )
        return db.changesCount > 0
    }
}
