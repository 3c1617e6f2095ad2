-- PostgreSQL translation of migrations/0002_reports.sql: the same report_* views, with the same columns and rows.
--
-- The admin reports: one view per report, named report_*, so that `psql` users and `payments report NAME` (NAME
-- is the view's name without report_) see the same rows. Amounts are integers in the currency's minor unit beside
-- their currency; days are 'YYYY-MM-DD' in UTC and times 'YYYY-MM-DDTHH:MM:SSZ', computed from the tables' unix
-- seconds. Each view lists its rows in a stable order. See the README's "Reporting with SQL".
--
-- What differs from SQLite's text, so that the rows do not:
-- - strftime('%Y-%m-%d', x, 'unixepoch') is to_char(to_timestamp(x) AT TIME ZONE 'UTC', 'YYYY-MM-DD').
-- - sum() of BIGINT is NUMERIC in PostgreSQL: cast back to BIGINT, SQLite's integer.
-- - Text sorts by bytes (COLLATE "C", SQLite's BINARY) whatever the database's locale, and NULLs sort first
--   ascending and last descending, as in SQLite.
-- - Ties break on the tables' explicit rowid (see 0001_initial.sql).

-- Payments by the UTC day they succeeded: `gross_amount` is what was received (captured), `refunded_amount` what
-- succeeded refunds have given back of those same payments (whenever refunded), `net_amount` the difference.
CREATE VIEW report_daily_volume AS
SELECT
    day,
    currency,
    count(*) AS payments,
    sum(amount_received)::BIGINT AS gross_amount,
    sum(refunded)::BIGINT AS refunded_amount,
    sum(amount_received - refunded)::BIGINT AS net_amount
FROM (
    SELECT
        to_char(to_timestamp(pi.succeeded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE "C" AS day,
        pi.currency COLLATE "C" AS currency,
        pi.amount_received AS amount_received,
        (SELECT coalesce(sum(r.amount), 0) FROM refunds AS r
            WHERE r.payment_intent = pi.id AND r.status = 'succeeded')::BIGINT AS refunded
    FROM payment_intents AS pi
    WHERE pi.status = 'succeeded'
) AS succeeded
GROUP BY day, currency
ORDER BY day NULLS FIRST, currency;

-- Failed payment attempts (failed charges) by the UTC day of the attempt and decline code. An attempt that failed
-- without a decline code counts under its error code: payment_intent_authentication_failure (3-D Secure failed),
-- payment_intent_payment_attempt_expired (the confirmation window passed), authentication_required, ...
CREATE VIEW report_declines AS
SELECT
    to_char(to_timestamp(created) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE "C" AS day,
    coalesce(decline_code, failure_code, 'unknown') COLLATE "C" AS decline_code,
    count(*) AS attempts
FROM charges
WHERE status = 'failed'
GROUP BY 1, 2
ORDER BY 1, 3 DESC, 2;

-- Intents not in a final state (neither succeeded nor canceled), by status and currency, with their total amount.
CREATE VIEW report_open_intents AS
SELECT status COLLATE "C" AS status, currency COLLATE "C" AS currency, count(*) AS intents,
    sum(amount)::BIGINT AS amount
FROM payment_intents
WHERE status NOT IN ('succeeded', 'canceled')
GROUP BY 1, 2
ORDER BY 1, 2;

-- Succeeded refunds by the UTC day they were made.
CREATE VIEW report_refunds_daily AS
SELECT
    to_char(to_timestamp(created) AT TIME ZONE 'UTC', 'YYYY-MM-DD') COLLATE "C" AS day,
    currency COLLATE "C" AS currency,
    count(*) AS refunds,
    sum(amount)::BIGINT AS amount
FROM refunds
WHERE status = 'succeeded'
GROUP BY 1, 2
ORDER BY 1, 2;

-- Uncaptured authorizations, the soonest to expire first. Card authorizations are valid 7 days (604800 seconds,
-- PaymentIntents.authorizationLifetime); after that the sweeper cancels the intent with cancellation_reason
-- automatic and the amount can no longer be captured.
CREATE VIEW report_expiring_authorizations AS
SELECT
    id AS payment_intent,
    customer,
    currency,
    amount_capturable AS amount,
    to_char(to_timestamp(authorized_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS authorized_at,
    to_char(to_timestamp(authorized_at + 604800) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS expires_at
FROM payment_intents
WHERE status = 'requires_capture'
ORDER BY payment_intents.authorized_at NULLS FIRST, payment_intents.rowid;

-- One row per intent, newest first: what was asked and received, what succeeded refunds gave back, the card (the
-- intent's payment method, or its latest attempt's once a failure cleared it, as Stripe clears it) and the decline
-- code (or error code) of its latest failed attempt.
CREATE VIEW report_payments AS
SELECT
    pi.id AS id,
    to_char(to_timestamp(pi.created) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS created_day,
    pi.status AS status,
    pi.currency AS currency,
    pi.amount AS amount,
    pi.amount_received AS amount_received,
    (SELECT coalesce(sum(r.amount), 0) FROM refunds AS r
        WHERE r.payment_intent = pi.id AND r.status = 'succeeded')::BIGINT AS refunded,
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
