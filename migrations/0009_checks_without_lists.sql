-- CHECK constraints without `IN (...)` lists, for the cost of every INSERT and UPDATE.
--
-- SQLite evaluates `column IN ('a', 'b', 'c')` of three or more constants by building a temporary b-tree of the
-- list, and for a CHECK constraint it builds it again on every row written: a W1 payment (create and confirm)
-- built sixteen of them on the single writer thread, in its INSERTs of the intent, its charge, its payment
-- method, its idempotency key and its three events. The same constraint written as `column = 'a' OR column = 'b'
-- OR ...` is a few comparisons. (A list of two or fewer is already compared in place, so `IN (0, 1)` stays.)
--
-- The constraints allow exactly what they allowed before, NULL included (a NULL column passes both forms), so
-- every stored row passes them. SQLite cannot change a constraint in place, so each table is rebuilt as SQLite's
-- documentation describes (https://www.sqlite.org/lang_altertable.html#otheralter): a new table, the rows copied
-- with their rowids (which keyset paging and the reports order by), the old table dropped, the new one renamed,
-- its indexes made again. The report views name these tables, so they are dropped first and made again, unchanged,
-- at the end. The migration runs with foreign keys off and checks them before it commits (GRDB's migrator).
-- PostgreSQL evaluates such lists in place: its 0009 changes nothing.

DROP VIEW report_daily_volume;
DROP VIEW report_declines;
DROP VIEW report_open_intents;
DROP VIEW report_refunds_daily;
DROP VIEW report_expiring_authorizations;
DROP VIEW report_payments;
DROP VIEW report_events_by_day;

-- payment_methods

CREATE TABLE payment_methods_v9 (
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
    funding TEXT NOT NULL
        CHECK (funding = 'credit' OR funding = 'debit' OR funding = 'prepaid' OR funding = 'unknown'),
    country TEXT,
    cvc_check TEXT
        CHECK (cvc_check = 'pass' OR cvc_check = 'fail' OR cvc_check = 'unavailable' OR cvc_check = 'unchecked'),
    billing_details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(billing_details)),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    -- 0 once used without a customer, or detached: Stripe refuses to use such a payment method again.
    reusable INTEGER NOT NULL DEFAULT 1 CHECK (reusable IN (0, 1)),
    -- Set up for off-session use (saved with setup_future_usage=off_session after any authentication).
    off_session_ready INTEGER NOT NULL DEFAULT 0 CHECK (off_session_ready IN (0, 1))
) STRICT;

INSERT INTO payment_methods_v9 (rowid, id, created, type, customer, brand, last4, exp_month, exp_year, fingerprint,
    funding, country, cvc_check, billing_details, metadata, reusable, off_session_ready)
SELECT rowid, id, created, type, customer, brand, last4, exp_month, exp_year, fingerprint,
    funding, country, cvc_check, billing_details, metadata, reusable, off_session_ready
FROM payment_methods;

DROP TABLE payment_methods;
ALTER TABLE payment_methods_v9 RENAME TO payment_methods;

CREATE INDEX payment_methods_by_customer ON payment_methods (customer, created)
    WHERE customer IS NOT NULL;

-- payment_intents

CREATE TABLE payment_intents_v9 (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'pi\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL CHECK (length(currency) = 3),
    status TEXT NOT NULL CHECK (status = 'requires_payment_method' OR status = 'requires_confirmation'
        OR status = 'requires_action' OR status = 'processing' OR status = 'requires_capture'
        OR status = 'succeeded' OR status = 'canceled'),
    capture_method TEXT NOT NULL
        CHECK (capture_method = 'automatic' OR capture_method = 'automatic_async' OR capture_method = 'manual'),
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
    cancellation_reason TEXT CHECK (cancellation_reason = 'duplicate' OR cancellation_reason = 'fraudulent'
        OR cancellation_reason = 'requested_by_customer' OR cancellation_reason = 'abandoned'
        OR cancellation_reason = 'automatic' OR cancellation_reason = 'failed_invoice'
        OR cancellation_reason = 'void_invoice'),
    return_url TEXT,
    off_session INTEGER NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    authenticated_payment_method TEXT,
    authentication_token TEXT,
    attempt_expires_at INTEGER,
    succeeded_at INTEGER,
    authorized_at INTEGER,
    origin TEXT NOT NULL DEFAULT 'api' CHECK (origin = 'api' OR origin = 'pay' OR origin = 'recharge'),
    CHECK (amount_received <= amount AND amount_capturable <= amount)
) STRICT;

INSERT INTO payment_intents_v9 (rowid, id, created, amount, currency, status, capture_method, confirmation_method,
    client_secret, customer, payment_method, description, receipt_email, statement_descriptor,
    statement_descriptor_suffix, metadata, setup_future_usage, amount_capturable, amount_received, latest_charge,
    last_payment_error, canceled_at, cancellation_reason, return_url, off_session, authenticated_payment_method,
    authentication_token, attempt_expires_at, succeeded_at, authorized_at, origin)
SELECT rowid, id, created, amount, currency, status, capture_method, confirmation_method,
    client_secret, customer, payment_method, description, receipt_email, statement_descriptor,
    statement_descriptor_suffix, metadata, setup_future_usage, amount_capturable, amount_received, latest_charge,
    last_payment_error, canceled_at, cancellation_reason, return_url, off_session, authenticated_payment_method,
    authentication_token, attempt_expires_at, succeeded_at, authorized_at, origin
FROM payment_intents;

DROP TABLE payment_intents;
ALTER TABLE payment_intents_v9 RENAME TO payment_intents;

CREATE INDEX payment_intents_by_created ON payment_intents (created);
CREATE INDEX payment_intents_by_customer ON payment_intents (customer, created)
    WHERE customer IS NOT NULL;
CREATE INDEX payment_intents_attempts_due ON payment_intents (attempt_expires_at)
    WHERE status IN ('requires_action', 'requires_confirmation') AND attempt_expires_at IS NOT NULL;
CREATE INDEX payment_intents_authorizations_due ON payment_intents (authorized_at)
    WHERE status = 'requires_capture';
CREATE INDEX payment_intents_by_status ON payment_intents (status, currency)
    WHERE status NOT IN ('succeeded', 'canceled');

-- charges

CREATE TABLE charges_v9 (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'ch\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    payment_method TEXT REFERENCES payment_methods (id),
    customer TEXT REFERENCES customers (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status = 'pending' OR status = 'succeeded' OR status = 'failed'),
    capture INTEGER NOT NULL CHECK (capture IN (0, 1)),
    captured INTEGER NOT NULL DEFAULT 0 CHECK (captured IN (0, 1)),
    amount_captured INTEGER NOT NULL DEFAULT 0,
    amount_refunded INTEGER NOT NULL DEFAULT 0,
    failure_code TEXT,
    failure_message TEXT,
    decline_code TEXT,
    off_session INTEGER NOT NULL DEFAULT 0 CHECK (off_session IN (0, 1)),
    three_d_secure TEXT
        CHECK (three_d_secure = 'authenticated' OR three_d_secure = 'failed' OR three_d_secure = 'expired'),
    authorization_code TEXT,
    resolved_at INTEGER,
    description TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    risk_level TEXT CHECK (risk_level = 'normal' OR risk_level = 'elevated' OR risk_level = 'highest'),
    cvc_check TEXT
        CHECK (cvc_check = 'pass' OR cvc_check = 'fail' OR cvc_check = 'unavailable' OR cvc_check = 'unchecked'),
    address_line1_check TEXT CHECK (address_line1_check = 'pass' OR address_line1_check = 'fail'
        OR address_line1_check = 'unavailable' OR address_line1_check = 'unchecked'),
    address_postal_code_check TEXT CHECK (address_postal_code_check = 'pass' OR address_postal_code_check = 'fail'
        OR address_postal_code_check = 'unavailable' OR address_postal_code_check = 'unchecked'),
    -- A captured charge refunds at most what was captured; a released authorization shows its whole amount.
    CHECK (amount_captured <= amount AND amount_refunded <= amount AND (captured = 0 OR amount_refunded <= amount_captured))
) STRICT;

INSERT INTO charges_v9 (rowid, id, created, payment_intent, payment_method, customer, amount, currency, status,
    capture, captured, amount_captured, amount_refunded, failure_code, failure_message, decline_code, off_session,
    three_d_secure, authorization_code, resolved_at, description, metadata, risk_level, cvc_check,
    address_line1_check, address_postal_code_check)
SELECT rowid, id, created, payment_intent, payment_method, customer, amount, currency, status,
    capture, captured, amount_captured, amount_refunded, failure_code, failure_message, decline_code, off_session,
    three_d_secure, authorization_code, resolved_at, description, metadata, risk_level, cvc_check,
    address_line1_check, address_postal_code_check
FROM charges;

DROP TABLE charges;
ALTER TABLE charges_v9 RENAME TO charges;

CREATE INDEX charges_by_payment_intent ON charges (payment_intent, created);
CREATE INDEX charges_pending ON charges (created) WHERE status = 'pending';
CREATE INDEX charges_failed_by_day ON charges (created) WHERE status = 'failed';
CREATE UNIQUE INDEX charges_one_success_per_intent ON charges (payment_intent) WHERE status = 'succeeded';
CREATE INDEX charges_by_created ON charges (created);
CREATE INDEX charges_by_customer ON charges (customer, created) WHERE customer IS NOT NULL;

-- refunds

CREATE TABLE refunds_v9 (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 're\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    charge TEXT NOT NULL REFERENCES charges (id),
    payment_intent TEXT NOT NULL REFERENCES payment_intents (id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    status TEXT NOT NULL
        CHECK (status = 'pending' OR status = 'succeeded' OR status = 'failed' OR status = 'canceled'),
    reason TEXT CHECK (reason = 'duplicate' OR reason = 'fraudulent' OR reason = 'requested_by_customer'
        OR reason = 'expired_uncaptured_charge'),
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    failure_reason TEXT,
    settles_at INTEGER
) STRICT;

INSERT INTO refunds_v9 (rowid, id, created, charge, payment_intent, amount, currency, status, reason, metadata,
    failure_reason, settles_at)
SELECT rowid, id, created, charge, payment_intent, amount, currency, status, reason, metadata,
    failure_reason, settles_at
FROM refunds;

DROP TABLE refunds;
ALTER TABLE refunds_v9 RENAME TO refunds;

CREATE INDEX refunds_by_created ON refunds (created);
CREATE INDEX refunds_by_payment_intent ON refunds (payment_intent, created);
CREATE INDEX refunds_by_charge ON refunds (charge);
CREATE INDEX refunds_settling ON refunds (settles_at) WHERE settles_at IS NOT NULL;
CREATE INDEX refunds_unanswered ON refunds (created) WHERE status = 'pending' AND settles_at IS NULL;

-- idempotency_keys

CREATE TABLE idempotency_keys_v9 (
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
) STRICT, WITHOUT ROWID;

INSERT INTO idempotency_keys_v9 (api_key, key, created, expires_at, method, path, fingerprint, locked_by,
    locked_until, recovery_point, payment_intent, charge, refund, request_id, response_status, response_body)
SELECT api_key, key, created, expires_at, method, path, fingerprint, locked_by,
    locked_until, recovery_point, payment_intent, charge, refund, request_id, response_status, response_body
FROM idempotency_keys;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_v9 RENAME TO idempotency_keys;

-- The sweeper's rule c reads only keys that expire, soonest first.
CREATE INDEX idempotency_keys_expiring ON idempotency_keys (expires_at) WHERE expires_at IS NOT NULL;

-- events

CREATE TABLE events_v9 (
    id TEXT PRIMARY KEY NOT NULL,
    created INTEGER NOT NULL,
    type TEXT NOT NULL,
    object_type TEXT NOT NULL CHECK (object_type = 'payment_intent' OR object_type = 'charge'
        OR object_type = 'refund' OR object_type = 'customer' OR object_type = 'payment_method'
        OR object_type = 'setup_intent'),
    object_id TEXT NOT NULL,
    snapshot TEXT NOT NULL
) STRICT;

INSERT INTO events_v9 (rowid, id, created, type, object_type, object_id, snapshot)
SELECT rowid, id, created, type, object_type, object_id, snapshot
FROM events;

DROP TABLE events;
ALTER TABLE events_v9 RENAME TO events;

CREATE INDEX events_created ON events (created);
CREATE INDEX events_type_created ON events (type, created);

-- setup_intents

CREATE TABLE setup_intents_v9 (
    id TEXT PRIMARY KEY NOT NULL CHECK (id LIKE 'seti\_%' ESCAPE '\'),
    created INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status = 'requires_payment_method' OR status = 'requires_confirmation'
        OR status = 'requires_action' OR status = 'processing' OR status = 'succeeded' OR status = 'canceled'),
    usage TEXT NOT NULL CHECK (usage IN ('on_session', 'off_session')),
    client_secret TEXT NOT NULL,
    customer TEXT REFERENCES customers (id),
    payment_method TEXT REFERENCES payment_methods (id),
    description TEXT,
    metadata TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
    last_setup_error TEXT CHECK (last_setup_error IS NULL OR json_valid(last_setup_error)),
    latest_attempt TEXT,
    return_url TEXT,
    -- The secret part of the 3-D Secure challenge page's URL while the setup waits for the customer.
    authentication_token TEXT,
    -- When the attempt waiting for the customer fails (the confirmation window after the attempt).
    attempt_expires_at INTEGER,
    succeeded_at INTEGER,
    canceled_at INTEGER,
    cancellation_reason TEXT CHECK (cancellation_reason = 'abandoned' OR cancellation_reason = 'duplicate'
        OR cancellation_reason = 'requested_by_customer')
) STRICT;

INSERT INTO setup_intents_v9 (rowid, id, created, status, usage, client_secret, customer, payment_method,
    description, metadata, last_setup_error, latest_attempt, return_url, authentication_token, attempt_expires_at,
    succeeded_at, canceled_at, cancellation_reason)
SELECT rowid, id, created, status, usage, client_secret, customer, payment_method,
    description, metadata, last_setup_error, latest_attempt, return_url, authentication_token, attempt_expires_at,
    succeeded_at, canceled_at, cancellation_reason
FROM setup_intents;

DROP TABLE setup_intents;
ALTER TABLE setup_intents_v9 RENAME TO setup_intents;

CREATE INDEX setup_intents_by_created ON setup_intents (created);
CREATE INDEX setup_intents_by_customer ON setup_intents (customer, created) WHERE customer IS NOT NULL;
CREATE INDEX setup_intents_by_payment_method ON setup_intents (payment_method, created)
    WHERE payment_method IS NOT NULL;
CREATE INDEX setup_intents_attempts_due ON setup_intents (attempt_expires_at)
    WHERE status = 'requires_action' AND attempt_expires_at IS NOT NULL;

-- The report views, as they were.

CREATE VIEW report_daily_volume AS
SELECT
    day,
    currency,
    count(*) AS payments,
    sum(amount_received) AS gross_amount,
    sum(refunded) AS refunded_amount,
    sum(amount_received - refunded) AS net_amount
FROM (
    SELECT
        strftime('%Y-%m-%d', pi.succeeded_at, 'unixepoch') AS day,
        pi.currency AS currency,
        pi.amount_received AS amount_received,
        (SELECT coalesce(sum(r.amount), 0) FROM refunds AS r
            WHERE r.payment_intent = pi.id AND r.status = 'succeeded') AS refunded
    FROM payment_intents AS pi
    WHERE pi.status = 'succeeded'
)
GROUP BY day, currency
ORDER BY day, currency;
CREATE VIEW report_declines AS
SELECT
    strftime('%Y-%m-%d', created, 'unixepoch') AS day,
    coalesce(decline_code, failure_code, 'unknown') AS decline_code,
    count(*) AS attempts
FROM charges
WHERE status = 'failed'
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2;
CREATE VIEW report_open_intents AS
SELECT status, currency, count(*) AS intents, sum(amount) AS amount
FROM payment_intents
WHERE status NOT IN ('succeeded', 'canceled')
GROUP BY status, currency
ORDER BY status, currency;
CREATE VIEW report_refunds_daily AS
SELECT
    strftime('%Y-%m-%d', created, 'unixepoch') AS day,
    currency,
    count(*) AS refunds,
    sum(amount) AS amount
FROM refunds
WHERE status = 'succeeded'
GROUP BY 1, 2
ORDER BY 1, 2;
CREATE VIEW report_expiring_authorizations AS
SELECT
    id AS payment_intent,
    customer,
    currency,
    amount_capturable AS amount,
    strftime('%Y-%m-%dT%H:%M:%SZ', authorized_at, 'unixepoch') AS authorized_at,
    strftime('%Y-%m-%dT%H:%M:%SZ', authorized_at + 604800, 'unixepoch') AS expires_at
FROM payment_intents
WHERE status = 'requires_capture'
ORDER BY payment_intents.authorized_at, payment_intents.rowid;
CREATE VIEW report_payments AS
SELECT
    pi.id AS id,
    strftime('%Y-%m-%d', pi.created, 'unixepoch') AS created_day,
    pi.status AS status,
    pi.currency AS currency,
    pi.amount AS amount,
    pi.amount_received AS amount_received,
    (SELECT coalesce(sum(r.amount), 0) FROM refunds AS r
        WHERE r.payment_intent = pi.id AND r.status = 'succeeded') AS refunded,
    pi.customer AS customer,
    pi.description AS description,
    pm.brand AS brand,
    pm.last4 AS last4,
    (SELECT coalesce(c.decline_code, c.failure_code) FROM charges AS c
        WHERE c.payment_intent = pi.id AND c.status = 'failed'
        ORDER BY c.created DESC, c.rowid DESC LIMIT 1) AS decline_code
FROM payment_intents AS pi
LEFT JOIN charges AS latest ON latest.id = pi.latest_charge
LEFT JOIN payment_methods AS pm ON pm.id = coalesce(pi.payment_method, latest.payment_method)
ORDER BY pi.created DESC, pi.rowid DESC;
CREATE VIEW report_events_by_day AS
SELECT
    strftime('%Y-%m-%d', created, 'unixepoch') AS day,
    type,
    count(*) AS events
FROM events
GROUP BY day, type
ORDER BY day, type;
