"""A large payments database for scripts/bench, bulk-inserted with the stdlib sqlite3 module into a database
`payments migrate` made: N payment intents (one charge each) and idempotency keys, D of them due for the sweeper.

The D due rows are split between the sweeper rules that need no card network state: 60% expired confirmation
attempts (rule a), 30% uncaptured authorizations older than 7 days (rule b; the test-mode network releases an
attempt it never saw), 10% idempotency keys older than 24 hours (rule c). Not due, beside them: 1% of the intents
waiting for 3-D Secure with time left, 1% authorized recently, 10% canceled, the rest succeeded; 100,000 young
idempotency keys; 50 pending charges inside the 60-second grace period (rule d). Intents are created in the 30
days before NOW, the time the sweeper's passes are run at. The keys are dated by the real time instead, as the
sweeper prunes them whatever time a pass is run at (`payments sweep --now` pruned keys of payments answered a second
before): with keys dated before NOW, the 10% of due rows that are keys stayed due after every pass.
"""
import sqlite3
import time

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
DAY = 86_400
AUTHORIZATION_LIFETIME = 7 * DAY  # card authorizations are valid 7 days (PaymentIntents.authorizationLifetime)
IDEMPOTENCY_LIFETIME = DAY  # idempotency keys are kept 24 hours
CONFIRMATION_WINDOW = 3_600  # the default PAYMENTS_CONFIRMATION_WINDOW
YOUNG_KEYS = 100_000
# The young keys' ages, spread over the 23 hours before the bulk insert: a key an hour from its expiry cannot fall due
# while the bench runs (keys of up to 24 hours fell due seconds after the insert, between the count before the
# sweeper's passes and the count after).
YOUNG_KEY_AGES = IDEMPOTENCY_LIFETIME - 3_600
PENDING_IN_GRACE = 50


def _intent_rows(intents, expired_attempts, expired_authorizations):
    """(id, created, status, client_secret, amount_received, amount_capturable, latest_charge, succeeded_at,
    authorized_at, attempt_expires_at) for each intent."""
    waiting = intents // 100  # requires_action with time left
    authorized = intents // 100  # requires_capture, recent
    for i in range(intents):
        created = NOW - 30 * DAY + (i * 30 * DAY) // intents
        status, received, capturable = "succeeded", 2000, 0
        succeeded_at = authorized_at = expires = None
        if i < expired_attempts:
            status, received = "requires_action", 0
            expires = min(NOW - CONFIRMATION_WINDOW + i % 3000, NOW)
        elif i < expired_attempts + expired_authorizations:
            status, received, capturable = "requires_capture", 0, 2000
            authorized_at = NOW - AUTHORIZATION_LIFETIME - 1 - i
        elif i < expired_attempts + expired_authorizations + waiting:
            status, received, expires = "requires_action", 0, NOW + 1 + i % CONFIRMATION_WINDOW
        elif i < expired_attempts + expired_authorizations + waiting + authorized:
            status, received, capturable = "requires_capture", 0, 2000
            authorized_at = NOW - i % AUTHORIZATION_LIFETIME
        elif i % 10 == 0:
            status, received = "canceled", 0
        else:
            succeeded_at = authorized_at = created
        yield (f"pi_bench{i:08d}", created, status, f"pi_bench{i:08d}_secret", received, capturable,
               f"ch_bench{i:08d}", succeeded_at, authorized_at, expires)


def populate(db, intents, due):
    """Bulk-inserts the intents, their charges and the idempotency keys into a migrated database."""
    expired_attempts = due * 6 // 10
    expired_authorizations = due * 3 // 10
    old_keys = due - expired_attempts - expired_authorizations
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    with conn:
        conn.execute(
            "INSERT INTO payment_methods (id, created, brand, last4, exp_month, exp_year, fingerprint, funding) "
            "VALUES ('pm_bench', ?, 'visa', '4242', 12, 2030, 'bench', 'credit')", (NOW - 30 * DAY,))
        conn.executemany(
            "INSERT INTO payment_intents (id, created, amount, currency, status, capture_method, confirmation_method, "
            "client_secret, payment_method, amount_received, amount_capturable, latest_charge, succeeded_at, "
            "authorized_at, attempt_expires_at) VALUES (?, ?, 2000, 'usd', ?, 'automatic', 'automatic', ?, "
            "'pm_bench', ?, ?, ?, ?, ?, ?)",
            _intent_rows(intents, expired_attempts, expired_authorizations))
        conn.execute(
            "INSERT INTO charges (id, created, payment_intent, payment_method, amount, currency, status, capture, "
            "captured, amount_captured, resolved_at) "
            "SELECT latest_charge, created, id, 'pm_bench', amount, currency, "
            "CASE WHEN status IN ('succeeded', 'requires_capture') THEN 'succeeded' ELSE 'failed' END, 1, "
            "status = 'succeeded', amount_received, created FROM payment_intents")
        conn.execute(
            "UPDATE charges SET status = 'pending', resolved_at = NULL, created = ? "
            "WHERE rowid IN (SELECT c.rowid FROM charges AS c JOIN payment_intents AS p ON p.id = c.payment_intent "
            "WHERE p.status = 'canceled' LIMIT ?)", (NOW - 10, PENDING_IN_GRACE))
        now = int(time.time())
        keys = ((f"k{i:08d}", now - IDEMPOTENCY_LIFETIME - 1 - i if i < old_keys else now - i % YOUNG_KEY_AGES,
                 IDEMPOTENCY_LIFETIME) for i in range(old_keys + YOUNG_KEYS))
        conn.executemany(
            "INSERT INTO idempotency_keys (api_key, key, created, expires_at, method, path, fingerprint, "
            "recovery_point, request_id, response_status) VALUES ('bench', ?1, ?2, ?2 + ?3, 'POST', "
            "'/v1/payment_intents', 'f', 'finished', 'req', 200)", keys)
    conn.close()


def due(db):
    """How many rows are due at NOW, counted with the sweeper's own conditions."""
    conn = sqlite3.connect(db)
    count = sum(conn.execute(query, (limit,)).fetchone()[0] for query, limit in [
        ("SELECT count(*) FROM payment_intents WHERE status IN ('requires_action', 'requires_confirmation') "
         "AND attempt_expires_at IS NOT NULL AND attempt_expires_at <= ?", NOW),
        ("SELECT count(*) FROM payment_intents WHERE status = 'requires_capture' AND authorized_at <= ?",
         NOW - AUTHORIZATION_LIFETIME),
        # By the real time, as the sweeper prunes keys
        ("SELECT count(*) FROM idempotency_keys WHERE expires_at IS NOT NULL AND expires_at < ?1 "
         "AND (locked_until IS NULL OR locked_until <= ?1)", int(time.time())),
        ("SELECT count(*) FROM charges WHERE status = 'pending' AND created <= ?", NOW - 60),
    ])
    conn.close()
    return count
