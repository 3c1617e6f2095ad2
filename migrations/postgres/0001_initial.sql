-- PostgreSQL translation of migrations/0001_initial.sql: the same tables, columns, constraints and indexes.
--
-- The service's tables. Column names are Stripe's field names, amounts are integers in the currency's minor
-- unit beside their currency, times are unix seconds (UTC), ids keep Stripe's prefixes, enums are TEXT with a
-- CHECK. Admins read these tables directly with SQL; see the README's "Reporting with SQL".
--
-- How SQLite's shapes are kept here:
-- - Every integer is BIGINT (SQLite's INTEGER is 64 bits): money, unix seconds, and the 0/1 flags, which keep
--   their CHECK (x IN (0, 1)) so an admin sees 0 and 1 on both databases.
-- - JSON columns stay TEXT, byte for byte what the service wrote (jsonb would reorder keys and drop whitespace),
--   checked by json_valid() below, as SQLite's CHECK (json_valid(...)) does.
-- - BLOB is BYTEA.
-- - The id CHECKs use ILIKE: SQLite's LIKE ignores ASCII case, so both databases refuse the same ids.
-- - SQLite gives every table (but WITHOUT ROWID ones) a hidden `rowid` in insertion order, and lists, the
--   sweeper and the report views page and break ties by (created, rowid). PostgreSQL has no such column, so
--   the tables that page carry an explicit `rowid`, an identity column (the only column SQLite does not show
--   in SELECT *). Every index on created also holds the rowid, as SQLite's indexes do implicitly.

-- SQLite's json_valid(): true when the text parses as JSON. PostgreSQL 15 has no IS JSON; a failed cast
-- raises, so the exception becomes false and a bad value is refused by the CHECK (a check_violation) as in
-- SQLite. NULL gives NULL, which a CHECK lets through, as SQLite's does.
CREATE FUNCTION json_valid(value TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM value::json;
    RETURN TRUE;
EXCEPTION WHEN others THEN
    RETURN FALSE;
END;
$$;

CREATE TABLE customers (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 'cus\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    email TEXT,
    name TEXT,
    phone TEXT,
    description TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    default_payment_method TEXT,
    deleted BIGINT NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
);

CREATE INDEX customers_by_created ON customers (created, rowid) WHERE deleted = 0;
CREATE INDEX customers_by_email ON customers (email, rowid) WHERE deleted = 0;

CREATE TABLE payment_methods (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 'pm\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    type TEXT NOT NULL DEFAULT 'card' CHECK (type = 'card'),
    customer TEXT REFERENCES customers (id),
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL CHECK (length(last4) = 4),
    exp_month BIGINT NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year BIGINT NOT NULL,
    -- A keyed hash of the card number: the same card gives the same fingerprint, the number cannot be recovered.
    fingerprint TEXT NOT NULL,
    funding TEXT NOT NULL CHECK (funding IN ('credit', 'debit', 'prepaid', 'unknown')),
    country TEXT,
    cvc_check TEXT CHECK (cvc_check IN ('pass', 'fail', 'unavailable', 'unchecked')),
    billing_details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(billing_details)),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    -- 0 once used without a customer, or detached: Stripe refuses to use such a payment method again.
    reusable BIGINT NOT NULL DEFAULT 1 CHECK (reusable IN (0, 1)),
    -- Set up for off-session use (saved with setup_future_usage=off_session after any authentication).
    off_session_ready BIGINT NOT NULL DEFAULT 0 CHECK (off_session_ready IN (0, 1))
);

CREATE INDEX payment_methods_by_customer ON payment_methods (customer, created, rowid)
    WHERE customer IS NOT NULL;

-- Full card numbers, sealed with AES-GCM under the vault key; the only place a number exists at rest.
-- CVCs are never stored at all.
CREATE TABLE card_vault (
    payment_method TEXT PRIMARY KEY NOT NULL REFERENCES payment_methods (id),
    key_id TEXT NOT NULL,
    sealed BYTEA NOT NULL
);

CREATE TABLE payment_intents (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 'pi\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3),
    status TEXT NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action',
        'processing', 'requires_capture', 'succeeded', 'canceled')),
    capture_method TEXT NOT NULL CHECK (capture_method IN ('automatic', 'automatic_async', 'manual')),
    confirmation_method TEXT NOT NULL CHECK (confirmation_method IN ('automatic', 'manual')),
    client_secret TEXT NOT NULL,
    customer TEXT REFERENCES customers (id),
    payment_method TEXT REFERENCES payment_methods (id),
    description TEXT,
    receipt_email TEXT,
    statement_descriptor TEXT,
    statement_descriptor_suffix TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    setup_future_usage TEXT CHECK (setup_future_usage IN ('on_session', 'off_session')),
    amount_capturable BIGINT NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
    amount_received BIGINT NOT NULL DEFAULT 0 CHECK (amount_received >= 0),
    latest_charge TEXT,
    last_payment_error TEXT CHECK (last_payment_error IS NULL OR json_valid(last_payment_error)),
    canceled_at BIGINT,
    cancellation_reason TEXT CHECK (cancellation_reason IN ('duplicate', 'fraudulent', 'requested_by_customer',
        'abandoned', 'automatic', 'failed_invoice', 'void_invoice')),
    return_url TEXT,
    off_session BIGINT NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    authenticated_payment_method TEXT,
    authentication_token TEXT,
    attempt_expires_at BIGINT,
    succeeded_at BIGINT,
    authorized_at BIGINT,
    CHECK (amount_received <= amount AND amount_capturable <= amount)
);

CREATE INDEX payment_intents_by_created ON payment_intents (created, rowid);
CREATE INDEX payment_intents_by_customer ON payment_intents (customer, created, rowid)
    WHERE customer IS NOT NULL;
-- The sweeper's work lists: each is small however large the table grows.
CREATE INDEX payment_intents_attempts_due ON payment_intents (attempt_expires_at, rowid)
    WHERE status IN ('requires_action', 'requires_confirmation') AND attempt_expires_at IS NOT NULL;
CREATE INDEX payment_intents_authorizations_due ON payment_intents (authorized_at, rowid)
    WHERE status = 'requires_capture';
CREATE INDEX payment_intents_by_status ON payment_intents (status, currency)
    WHERE status NOT IN ('succeeded', 'canceled');

-- One row per attempt to move money: its id is the attempt id sent to the card network, inserted as
-- 'pending' before the network is asked (the recovery point) and resolved after.
CREATE TABLE charges (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 'ch\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    payment_method TEXT REFERENCES payment_methods (id),
    customer TEXT REFERENCES customers (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    capture BIGINT NOT NULL CHECK (capture IN (0, 1)),
    captured BIGINT NOT NULL DEFAULT 0 CHECK (captured IN (0, 1)),
    amount_captured BIGINT NOT NULL DEFAULT 0,
    amount_refunded BIGINT NOT NULL DEFAULT 0,
    failure_code TEXT,
    failure_message TEXT,
    decline_code TEXT,
    off_session BIGINT NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    three_d_secure TEXT CHECK (three_d_secure IN ('authenticated', 'failed', 'expired')),
    authorization_code TEXT,
    resolved_at BIGINT,
    -- A captured charge refunds at most what was captured; a released authorization shows its whole amount.
    CHECK (amount_captured <= amount AND amount_refunded <= amount AND (captured = 0 OR amount_refunded <= amount_captured))
);

CREATE INDEX charges_by_payment_intent ON charges (payment_intent, created, rowid);
CREATE INDEX charges_pending ON charges (created, rowid) WHERE status = 'pending';
CREATE INDEX charges_failed_by_day ON charges (created, rowid) WHERE status = 'failed';
-- At most one successful charge per intent, whatever the timing: the database itself refuses a second.
CREATE UNIQUE INDEX charges_one_success_per_intent ON charges (payment_intent) WHERE status = 'succeeded';

CREATE TABLE refunds (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 're\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    charge TEXT NOT NULL REFERENCES charges (id),
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    reason TEXT CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer', 'expired_uncaptured_charge')),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
);

CREATE INDEX refunds_by_created ON refunds (created, rowid);
CREATE INDEX refunds_by_payment_intent ON refunds (payment_intent, created, rowid);
CREATE INDEX refunds_by_charge ON refunds (charge);
CREATE INDEX refunds_pending ON refunds (created, rowid) WHERE status = 'pending';

-- Idempotency keys: one row per (API key, Idempotency-Key). `api_key` holds a hash of the API key, never
-- the key itself. A row is locked while its first request runs, records how far that request got
-- (`recovery_point`, `payment_intent`, `charge`), and finally the exact response that was sent.
-- (WITHOUT ROWID in SQLite: no rowid here either.)
CREATE TABLE idempotency_keys (
    api_key TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    created BIGINT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    locked_at BIGINT,
    locked_by TEXT,
    recovery_point TEXT NOT NULL DEFAULT 'started'
        CHECK (recovery_point IN ('started', 'intent_created', 'attempt_recorded', 'finished')),
    payment_intent TEXT,
    charge TEXT,
    request_id TEXT NOT NULL,
    response_status BIGINT,
    response_body BYTEA,
    PRIMARY KEY (api_key, key)
);

CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created);
