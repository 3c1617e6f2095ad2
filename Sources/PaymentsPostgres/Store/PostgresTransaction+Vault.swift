import Foundation
import PaymentsCore

// MARK: - The vault's rows and secrets

extension PostgresTransaction {
    func sealedCards(notUnder keyID: String, after paymentMethodID: String?, limit: Int) throws -> [VaultEntry] {
        try fetchAll(
            """
            SELECT payment_method, key_id, sealed FROM card_vault
            WHERE payment_method > $1 AND key_id <> $2 ORDER BY payment_method LIMIT $3
            """,
            [.text(paymentMethodID ?? ""), .text(keyID), .integer(Int64(limit))]
        ) { row in
            VaultEntry(
                paymentMethod: try row.string("payment_method"),
                card: SealedCard(keyID: try row.string("key_id"), sealed: try row.data("sealed"))
            )
        }
    }

    @discardableResult
    func replaceSealedCard(of paymentMethodID: String, expecting expected: String, with card: SealedCard) throws
        -> Bool
    {
        try execute(
            "UPDATE card_vault SET key_id = $1, sealed = $2 WHERE payment_method = $3 AND key_id = $4",
            [.text(card.keyID), .bytes(card.sealed), .text(paymentMethodID), .text(expected)]
        ) > 0
    }

    func sealedCardCounts() throws -> [String: Int] {
        let rows = try fetchAll("SELECT key_id, count(*) AS n FROM card_vault GROUP BY key_id", []) { row in
            (try row.string("key_id"), try row.int("n"))
        }
        return Dictionary(uniqueKeysWithValues: rows)
    }

    func vaultSecret(_ name: String) throws -> SealedCard? {
        try fetchOne("SELECT key_id, sealed FROM vault_secrets WHERE name = $1" + lockRow, [.text(name)]) { row in
            SealedCard(keyID: try row.string("key_id"), sealed: try row.data("sealed"))
        }
    }

    @discardableResult
    func insertVaultSecret(_ name: String, _ sealed: SealedCard) throws -> Bool {
        try execute(
            "INSERT INTO vault_secrets (name, key_id, sealed) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            [.text(name), .text(sealed.keyID), .bytes(sealed.sealed)]
        ) > 0
    }

    @discardableResult
    func replaceVaultSecret(_ name: String, expecting expected: String, with sealed: SealedCard) throws -> Bool {
        try execute(
            "UPDATE vault_secrets SET key_id = $1, sealed = $2 WHERE name = $3 AND key_id = $4",
            [.text(sealed.keyID), .bytes(sealed.sealed), .text(name), .text(expected)]
        ) > 0
    }
}
