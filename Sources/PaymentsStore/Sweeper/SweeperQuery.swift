import GRDB

/// The sweeper's queries, one per rule: the SQL each runs and the partial index that keeps it cheap.
///
/// Each query reads only rows that are due, through an index whose `WHERE` clause the query repeats term for term
/// (SQLite uses a partial index only when it can prove that the query's `WHERE` implies the index's), so a pass
/// costs what is due, not the size of the table. `SweeperQueryPlanTests` checks every plan, and
/// `payments sweep --explain` prints them.
public enum SweeperQuery: String, CaseIterable, Sendable {
    /// Rule a: intents whose confirmation attempt expired (arguments: now, limit).
    case attemptsDue = "attempts_due"
    /// Rule a for setup intents: challenges left unanswered past the confirmation window (arguments: now, limit).
    case setupAttemptsDue = "setup_attempts_due"
    /// Rule b: uncaptured authorizations at or past their lifetime (arguments: cutoff, cursor due, cursor rowid,
    /// limit).
    case authorizationsDue = "authorizations_due"
    /// Rule c: idempotency keys past their expiry, deleted in place (arguments: now, real now, limit).
    case idempotencyKeysDue = "idempotency_keys_due"
    /// Rule d: attempts left pending past the grace period (arguments: cutoff, cursor due, cursor rowid, limit).
    case pendingChargesDue = "pending_charges_due"
    /// Rule e: refunds the network never answered, past the grace period (arguments: cutoff, limit).
    case pendingRefundsDue = "pending_refunds_due"
    /// Rule f: refunds whose network status was due to change (arguments: now, cursor due, cursor rowid, limit).
    case refundsSettling = "refunds_settling"
    /// Rule g: events past their retention, deleted in place, oldest first (arguments: cutoff, limit).
    case eventsDue = "events_due"

    /// The statement the sweeper runs for this rule.
    public var sql: String {
        switch self {
        case .attemptsDue:
            """
            SELECT * FROM payment_intents
            WHERE status IN ('requires_action', 'requires_confirmation') AND attempt_expires_at IS NOT NULL
                AND attempt_expires_at <= ?
            ORDER BY attempt_expires_at LIMIT ?
            """
        case .setupAttemptsDue:
            """
            SELECT * FROM setup_intents
            WHERE status = 'requires_action' AND attempt_expires_at IS NOT NULL AND attempt_expires_at <= ?
            ORDER BY attempt_expires_at LIMIT ?
            """
        case .authorizationsDue:
            // Keyset paging on (authorized_at, rowid): a due row the pass leaves behind (captured at the network
            // first) is not read again in the same pass.
            """
            SELECT rowid AS sweep_rowid, * FROM payment_intents
            WHERE status = 'requires_capture' AND authorized_at <= ? AND (authorized_at, rowid) > (?, ?)
            ORDER BY authorized_at, rowid LIMIT ?
            """
        case .idempotencyKeysDue:
            // Keys that never expire (recharge references) are not in the index at all. A key whose lease still
            // runs belongs to a request in flight: it is kept until that request ends or its lease runs out.
            """
            DELETE FROM idempotency_keys WHERE (api_key, key) IN (
                SELECT api_key, key FROM idempotency_keys
                WHERE expires_at IS NOT NULL AND expires_at < ? AND (locked_until IS NULL OR locked_until <= ?)
                LIMIT ?)
            """
        case .pendingChargesDue:
            """
            SELECT rowid AS sweep_rowid, id, created FROM charges
            WHERE status = 'pending' AND created <= ? AND (created, rowid) > (?, ?)
            ORDER BY created, rowid LIMIT ?
            """
        case .pendingRefundsDue:
            // A refund the network answered `pending` has a `settles_at` and waits for rule f instead.
            """
            SELECT id FROM refunds
            WHERE status = 'pending' AND settles_at IS NULL AND created < ?
            ORDER BY created LIMIT ?
            """
        case .refundsSettling:
            """
            SELECT rowid AS sweep_rowid, id, settles_at FROM refunds
            WHERE settles_at IS NOT NULL AND settles_at <= ? AND (settles_at, rowid) > (?, ?)
            ORDER BY settles_at, rowid LIMIT ?
            """
        case .eventsDue:
            """
            DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created < ? ORDER BY created LIMIT ?)
            """
        }
    }

    /// The index the query must search (defined in `migrations/0001_initial.sql`, `0003_exactly_once.sql`,
    /// `0004_events.sql`, `0005_setup_intents.sql` and `0006_charges.sql`).
    public var index: String {
        switch self {
        case .attemptsDue: "payment_intents_attempts_due"
        case .setupAttemptsDue: "setup_intents_attempts_due"
        case .authorizationsDue: "payment_intents_authorizations_due"
        case .idempotencyKeysDue: "idempotency_keys_expiring"
        case .pendingChargesDue: "charges_pending"
        case .pendingRefundsDue: "refunds_unanswered"
        case .refundsSettling: "refunds_settling"
        case .eventsDue: "events_created"
        }
    }

    /// The table the query reads.
    public var table: String {
        switch self {
        case .attemptsDue, .authorizationsDue: "payment_intents"
        case .setupAttemptsDue: "setup_intents"
        case .idempotencyKeysDue: "idempotency_keys"
        case .pendingChargesDue: "charges"
        case .pendingRefundsDue, .refundsSettling: "refunds"
        case .eventsDue: "events"
        }
    }

    /// Values for the query's parameters when only its plan is wanted.
    var sampleArguments: StatementArguments {
        switch self {
        case .attemptsDue, .setupAttemptsDue, .pendingRefundsDue, .eventsDue: [0, 100]
        case .idempotencyKeysDue: [0, 0, 100]
        case .authorizationsDue, .pendingChargesDue, .refundsSettling: [0, Int64.min, Int64.min, 100]
        }
    }
}
