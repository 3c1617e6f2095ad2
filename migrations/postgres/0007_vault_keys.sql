-- PostgreSQL translation of migrations/0007_vault_keys.sql.
--
-- Vault key rotation (`payments vault rotate`).
--
-- The keys that card fingerprints and idempotency request fingerprints are made with were derived from the vault
-- key itself; a rotation to a new vault key would have changed every new card's fingerprint (so saved cards would
-- no longer match new ones) and every retried request's fingerprint. They are now kept here, sealed with AES-GCM
-- under the vault key like a card number: made once from the vault key that sealed the cards (so fingerprints
-- already stored stay valid), re-sealed by a rotation, and never derived again. `key_id` names the vault key that
-- sealed `sealed`, as in `card_vault`.
CREATE TABLE vault_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL,
    sealed BYTEA NOT NULL
);
