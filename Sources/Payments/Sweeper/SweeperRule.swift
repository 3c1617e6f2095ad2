/// The sweeper's rules (``Sweeper``), by the names their leases (`sweeper_leases.rule`), the pass's report and the
/// metrics use. A pass runs them in this order.
public enum SweeperRule: String, Sendable, CaseIterable {
    /// Rule a: attempts left past the confirmation window fail.
    case expireAttempts = "expire_attempts"
    /// Rule a for setups: challenges left past the confirmation window fail.
    case expireSetupAttempts = "expire_setup_attempts"
    /// Rule b: authorizations left uncaptured for 7 days are released and canceled.
    case cancelAuthorizations = "cancel_authorizations"
    /// Rule c: expired idempotency keys are deleted.
    case pruneIdempotencyKeys = "prune_idempotency_keys"
    /// Rule d: attempts a crash left pending are settled.
    case recoverPendingCharges = "recover_pending_charges"
    /// Rule e: refunds a crash left pending are completed.
    case settlePendingRefunds = "settle_pending_refunds"
    /// Rule f: refunds whose network status was due to change are asked about again.
    case updateSettlingRefunds = "update_settling_refunds"
    /// Rule g: events past their retention are deleted.
    case pruneEvents = "prune_events"

}
