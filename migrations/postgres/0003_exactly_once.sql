-- PostgreSQL translation of migrations/0003_exactly_once.sql: the same columns, in the same order, and the same
-- data migration.
--
-- Exactly once on every money path (see the README's "How double charges are prevented").
--
-- 1. Idempotency keys are held by leases, not by server instances: `locked_by` is the token of the request
--    holding the key and `locked_until` when its lease runs out. Anyone else, in any process, is refused (409)
--    until then; a holder that died is taken over only after it. Every write of the holder checks its token
--    (fencing), so a holder that outlived its lease can no longer change anything.
-- 2. Keys expire at `expires_at` (created + 24 hours for API keys); NULL never expires. Recharge references
--    (`api_key = 'recharge'`) are permanent: a reference charges at most once, forever.
-- 3. A refund is a recovery point of its own (`refund_recorded`, `refund` names it), so a retried refund
--    resumes the refund it reserved instead of making a second one.
-- 4. Fingerprints are now keyed (HMAC under a key derived from the vault key); the unkeyed hashes of card
--    parameters kept until now are scrubbed.
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt; PostgreSQL could alter it, but the
-- rebuild is kept so that the columns come in SQLite's order (what an admin's SELECT * shows).

CREATE TABLE idempotency_keys_v3 (
    -- A hash of the API key (never the key itself), or a fixed scope: `pay` for /pay, `recharge` for
    -- `payments recharge` references.
    api_key TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    created BIGINT NOT NULL,
    -- When the sweeper deletes the key; NULL: never (recharge references).
    expires_at BIGINT,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    -- HMAC-SHA256 of the method, path and canonical parameters, keyed from the vault key.
    fingerprint TEXT NOT NULL,
    -- The lease: the holding request's token, and until when it holds the key (unix seconds).
    locked_by TEXT,
    locked_until BIGINT,
    recovery_point TEXT NOT NULL DEFAULT 'started'
        CHECK (recovery_point IN ('started', 'intent_created', 'attempt_recorded', 'refund_recorded', 'finished')),
    payment_intent TEXT,
    charge TEXT,
    refund TEXT,
    request_id TEXT NOT NULL,
    response_status BIGINT,
    response_body BYTEA,
    PRIMARY KEY (api_key, key),
    CHECK ((locked_by IS NULL) = (locked_until IS NULL))
);

INSERT INTO idempotency_keys_v3 (api_key, key, created, expires_at, method, path, fingerprint, locked_by,
    locked_until, recovery_point, payment_intent, charge, refund, request_id, response_status, response_body)
SELECT api_key, key, created,
    CASE WHEN api_key = 'recharge' THEN NULL ELSE created + 86400 END,
    method, path,
    CASE WHEN path LIKE '/v1/payment_methods%' THEN 'scrubbed' ELSE fingerprint END,
    -- A lock taken before leases existed expires 30 seconds after it was taken (the default lease).
    locked_by, CASE WHEN locked_by IS NULL THEN NULL ELSE coalesce(locked_at, created) + 30 END,
    recovery_point, payment_intent, charge, NULL, request_id, response_status, response_body
FROM idempotency_keys;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v3 RENAME TO idempotency_keys;
-- PostgreSQL names constraints after the table they were made on: give them the final table's names.
ALTER INDEX idempotency_keys_v3_pkey RENAME TO idempotency_keys_pkey;
ALTER TABLE idempotency_keys RENAME CONSTRAINT idempotency_keys_v3_check TO idempotency_keys_check;
ALTER TABLE idempotency_keys RENAME CONSTRAINT idempotency_keys_v3_key_check TO idempotency_keys_key_check;
ALTER TABLE idempotency_keys RENAME CONSTRAINT idempotency_keys_v3_recovery_point_check
    TO idempotency_keys_recovery_point_check;

-- The sweeper's rule c reads only keys that expire, soonest first.
CREATE INDEX idempotency_keys_expiring ON idempotency_keys (expires_at) WHERE expires_at IS NOT NULL;

-- Where an intent was created: through /v1 (`api`), by the checkout's /pay (`pay`), or by `payments recharge`
-- (`recharge`). /pay confirms only intents it created.
ALTER TABLE payment_intents ADD COLUMN origin TEXT NOT NULL DEFAULT 'api'
    CHECK (origin IN ('api', 'pay', 'recharge'));
-- Intents made before this migration: those a /pay or recharge idempotency key names came from there. (A /pay
-- intent made without a key stays `api`: its customer starts a new checkout.)
UPDATE payment_intents SET origin = 'pay'
WHERE id IN (SELECT payment_intent FROM idempotency_keys WHERE api_key = 'pay' AND payment_intent IS NOT NULL);
UPDATE payment_intents SET origin = 'recharge'
WHERE id IN (SELECT payment_intent FROM idempotency_keys WHERE api_key = 'recharge' AND payment_intent IS NOT NULL);
