-- Idempotency keys in a rowid table, for the size of every key's row.
--
-- A finished key keeps the response it answered (about 1.4 KB of JSON for a payment intent). In a WITHOUT ROWID
-- table a row is stored in the primary key's b-tree, where SQLite keeps at most about a quarter of a page of a row
-- in place (1,002 bytes of a 4,096-byte page) and spills the rest to an overflow page of its own: every finished
-- key took a page and a part of another, 4.7 KB of the file per key, more than half of a database after a run of
-- payments. In a rowid table a row keeps up to a whole page in place: the same keys take 2.1 KB each, a lookup by
-- (api_key, key) reads the primary key's index and one table page instead of a leaf and an overflow page, and a
-- group commit of payments writes about half as many of the table's pages to the write-ahead log.
--
-- The columns, constraints and primary key are those of 0009 (the primary key becomes a UNIQUE index, which the
-- statements' `WHERE api_key = ? AND key = ?` and the rotation's `ORDER BY key` search as before). SQLite cannot
-- turn a WITHOUT ROWID table into a rowid table in place, so the table is rebuilt as SQLite's documentation
-- describes (https://www.sqlite.org/lang_altertable.html#otheralter); nothing references it and no view reads it.
-- PostgreSQL keeps long values out of line by itself (TOAST): its 0010 changes nothing.

CREATE TABLE idempotency_keys_v10 (
    -- A hash of the API key (never the key itself), or a fixed scope: `pay` for /pay, `recharge` for
    -- `payments recharge` references.
    api_key TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    created INTEGER NOT NULL,
    -- When the sweeper deletes the key; NULL: never (recharge references).
    expires_at INTEGER,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    -- HMAC-SHA256 of the method, path and canonical parameters, keyed from the vault key.
    fingerprint TEXT NOT NULL,
    -- The lease: the holding request's token, and until when it holds the key (unix seconds).
    locked_by TEXT,
    locked_until INTEGER,
    recovery_point TEXT NOT NULL DEFAULT 'started' CHECK (recovery_point = 'started'
        OR recovery_point = 'intent_created' OR recovery_point = 'attempt_recorded'
        OR recovery_point = 'refund_recorded' OR recovery_point = 'finished'),
    payment_intent TEXT,
    charge TEXT,
    refund TEXT,
    request_id TEXT NOT NULL,
    response_status INTEGER,
    response_body BLOB,
    PRIMARY KEY (api_key, key),
    CHECK ((locked_by IS NULL) = (locked_until IS NULL))
) STRICT;

INSERT INTO idempotency_keys_v10 (api_key, key, created, expires_at, method, path, fingerprint, locked_by,
    locked_until, recovery_point, payment_intent, charge, refund, request_id, response_status, response_body)
SELECT api_key, key, created, expires_at, method, path, fingerprint, locked_by,
    locked_until, recovery_point, payment_intent, charge, refund, request_id, response_status, response_body
FROM idempotency_keys;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v10 RENAME TO idempotency_keys;

-- The sweeper's rule c reads only keys that expire, soonest first.
CREATE INDEX idempotency_keys_expiring ON idempotency_keys (expires_at) WHERE expires_at IS NOT NULL;
