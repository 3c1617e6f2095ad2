-- The service's tables. Column names are Stripe's field names, amounts are integers in the currency's minor
-- unit beside their currency, times are unix seconds (UTC), ids keep Stripe's prefixes, enums are TEXT with a
-- CHECK. Lists page by (created, rowid): every index on created also holds the rowid. Admins read these
-- tables directly with SQL; see the README's "Reporting with SQL".

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'cus\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    email TEXT,
    name TEXT,
    phone TEXT,
    description TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    default_payment_method TEXT,
    deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1))
) STRICT;

CREATE INDEX customers_by_created ON customers (created) WHERE deleted = 0;
CREATE INDEX customers_by_email ON customers (email) WHERE deleted = 0;

CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'pm\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    type TEXT NOT NULL DEFAULT 'card' CHECK (type = 'card'),
    customer TEXT REFERENCES customers (id),
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL CHECK (length(last4) = 4),
    exp_month INTEGER NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year INTEGER NOT NULL,
    -- A keyed hash of the card number: the same card gives the same fingerprint, the number cannot be recovered.
    fingerprint TEXT NOT NULL,
    funding TEXT NOT NULL CHECK (funding IN ('credit', 'debit', 'prepaid', 'unknown')),
    country TEXT,
    cvc_check TEXT CHECK (cvc_check IN ('pass', 'fail', 'unavailable', 'unchecked')),
    billing_details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(billing_details)),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    -- 0 once used without a customer, or detached: Stripe refuses to use such a payment method again.
    reusable INTEGER NOT NULL DEFAULT 1 CHECK (reusable IN (0, 1)),
    -- Set up for off-session use (saved with setup_future_usage=off_session after any authentication).
    off_session_ready INTEGER NOT NULL DEFAULT 0 CHECK (off_session_ready IN (0, 1))
) STRICT;

CREATE INDEX payment_methods_by_customer ON payment_methods (customer, created)
    WHERE customer IS NOT NULL;

-- Full card numbers, sealed with AES-GCM under the vault key; the only place a number exists at rest.
-- CVCs are never stored at all.
CREATE TABLE card_vault (
    payment_method TEXT PRIMARY KEY NOT NULL REFERENCES payment_methods (id),
    key_id TEXT NOT NULL,
    sealed BLOB NOT NULL
) STRICT;

CREATE TABLE payment_intents (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'pi\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
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
    amount_capturable INTEGER NOT NULL DEFAULT 0 CHECK (amount_capturable >= 0),
    amount_received INTEGER NOT NULL DEFAULT 0 CHECK (amount_received >= 0),
    latest_charge TEXT,
    last_payment_error TEXT CHECK (last_payment_error IS NULL OR json_valid(last_payment_error)),
    canceled_at INTEGER,
    cancellation_reason TEXT CHECK (cancellation_reason IN ('duplicate', 'fraudulent', 'requested_by_customer',
        'abandoned', 'automatic', 'failed_invoice', 'void_invoice')),
    return_url TEXT,
    off_session INTEGER NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    authenticated_payment_method TEXT,
    authentication_token TEXT,
    attempt_expires_at INTEGER,
    succeeded_at INTEGER,
    authorized_at INTEGER,
    CHECK (amount_received <= amount AND amount_capturable <= amount)
) STRICT;

CREATE INDEX payment_intents_by_created ON payment_intents (created);
CREATE INDEX payment_intents_by_customer ON payment_intents (customer, created)
    WHERE customer IS NOT NULL;
-- The sweeper's work lists: each is small however large the table grows.
CREATE INDEX payment_intents_attempts_due ON payment_intents (attempt_expires_at)
    WHERE status IN ('requires_action', 'requires_confirmation') AND attempt_expires_at IS NOT NULL;
CREATE INDEX payment_intents_authorizations_due ON payment_intents (authorized_at)
    WHERE status = 'requires_capture';
CREATE INDEX payment_intents_by_status ON payment_intents (status, currency)
    WHERE status NOT IN ('succeeded', 'canceled');

-- One row per attempt to move money: its id is the attempt id sent to the card network, inserted as
-- 'pending' before the network is asked (the recovery point) and resolved after.
CREATE TABLE charges (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'ch\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    payment_method TEXT REFERENCES payment_methods (id),
    customer TEXT REFERENCES customers (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    capture INTEGER NOT NULL CHECK (capture IN (0, 1)),
    captured INTEGER NOT NULL DEFAULT 0 CHECK (captured IN (0, 1)),
    amount_captured INTEGER NOT NULL DEFAULT 0,
    amount_refunded INTEGER NOT NULL DEFAULT 0,
    failure_code TEXT,
    failure_message TEXT,
    decline_code TEXT,
    off_session INTEGER NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    three_d_secure TEXT CHECK (three_d_secure IN ('authenticated', 'failed', 'expired')),
    authorization_code TEXT,
    resolved_at INTEGER,
    -- A captured charge refunds at most what was captured; a released authorization shows its whole amount.
    CHECK (amount_captured <= amount AND amount_refunded <= amount AND (captured = 0 OR amount_refunded <= amount_captured))
) STRICT;

CREATE INDEX charges_by_payment_intent ON charges (payment_intent, created);
CREATE INDEX charges_pending ON charges (created) WHERE status = 'pending';
CREATE INDEX charges_failed_by_day ON charges (created) WHERE status = 'failed';
-- At most one successful charge per intent, whatever the timing: the database itself refuses a second.
CREATE UNIQUE INDEX charges_one_success_per_intent ON charges (payment_intent) WHERE status = 'succeeded';

CREATE TABLE refunds (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 're\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    charge TEXT NOT NULL REFERENCES charges (id),
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    reason TEXT CHECK (reason IN ('duplicate', 'fraudulent', 'requested_by_customer', 'expired_uncaptured_charge')),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata))
) STRICT;

CREATE INDEX refunds_by_created ON refunds (created);
CREATE INDEX refunds_by_payment_intent ON refunds (payment_intent, created);
CREATE INDEX refunds_by_charge ON refunds (charge);
CREATE INDEX refunds_pending ON refunds (created) WHERE status = 'pending';

-- Idempotency keys: one row per (API key, Idempotency-Key). `api_key` holds a hash of the API key, never
-- the key itself. A row is locked while its first request runs, records how far that request got
-- (`recovery_point`, `payment_intent`, `charge`), and finally the exact response that was sent.
CREATE TABLE idempotency_keys (
    api_key TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    created INTEGER NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    locked_at INTEGER,
    locked_by TEXT,
    recovery_point TEXT NOT NULL DEFAULT 'started'
        CHECK (recovery_point IN ('started', 'intent_created', 'attempt_recorded', 'finished')),
    payment_intent TEXT,
    charge TEXT,
    request_id TEXT NOT NULL,
    response_status INTEGER,
    response_body BLOB,
    PRIMARY KEY (api_key, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created);
