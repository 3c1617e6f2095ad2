-- PostgreSQL translation of migrations/0005_setup_intents.sql.
-- Like 0001_initial.sql, the table carries an explicit rowid (SQLite's hidden one), held by its indexes on times.
--
-- SetupIntents: saving a card for later payments without charging it (Stripe's /v1/setup_intents). No money moves,
-- so a setup has no charge rows: its confirmation attempt is named by `latest_attempt` alone, and a failed attempt
-- leaves its error in `last_setup_error` (JSON, the shape of a payment's `last_payment_error`).

CREATE TABLE setup_intents (
    rowid BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id TEXT PRIMARY KEY NOT NULL CHECK (id ILIKE 'seti\_%' ESCAPE '\'),
    created BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('requires_payment_method', 'requires_confirmation', 'requires_action',
        'processing', 'succeeded', 'canceled')),
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
    attempt_expires_at BIGINT,
    succeeded_at BIGINT,
    canceled_at BIGINT,
    cancellation_reason TEXT CHECK (cancellation_reason IN ('abandoned', 'duplicate', 'requested_by_customer'))
);

-- Lists page by (created, rowid), filtered by customer or payment method.
CREATE INDEX setup_intents_by_created ON setup_intents (created, rowid);
CREATE INDEX setup_intents_by_customer ON setup_intents (customer, created, rowid) WHERE customer IS NOT NULL;
CREATE INDEX setup_intents_by_payment_method ON setup_intents (payment_method, created, rowid)
    WHERE payment_method IS NOT NULL;
-- The sweeper's work list: setups waiting for a challenge answer, by when their attempt expires.
CREATE INDEX setup_intents_attempts_due ON setup_intents (attempt_expires_at, rowid)
    WHERE status = 'requires_action' AND attempt_expires_at IS NOT NULL;
