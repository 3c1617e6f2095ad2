import Logging

/// What one sweeper pass did, rule by rule, and how many rows it read to do it.
public struct SweepReport: Sendable, Equatable {
    /// Rule a: intents whose confirmation attempt expired, now `requires_payment_method`.
    public var attemptsExpired: Int
    /// Rule a for setups: SetupIntents whose challenge went unanswered, now `requires_payment_method`.
    public var setupAttemptsExpired: Int
    /// Rule b: uncaptured authorizations past 7 days, now canceled with `cancellation_reason = automatic`.
    public var authorizationsCanceled: Int
    /// Rule b: expired authorizations the network had captured (a capture whose outcome a crash kept from the
    /// database), now recorded as captured.
    public var capturesRecorded: Int
    /// Rule c: idempotency keys past their expiry (24 hours), deleted.
    public var idempotencyKeysPruned: Int
    /// Rule d: attempts a crash left pending, settled by asking the network again under the same attempt id.
    public var pendingChargesRecovered: Int
    /// Rule d, for captures and cancels: ones a request asked the network for and did not record (a crash, a store
    /// that refused the write), asked again under the request's reference and recorded. They were counted as
    /// pending charges recovered, beside a log line saying a capture or release was recorded (a probe).
    public var settlementsRecorded: Int
    /// Rule e: refunds a crash left pending, completed at the network under the same refund id.
    public var pendingRefundsSettled: Int
    /// Rule f: refunds whose status the network said would change, asked about again and updated (a pending refund
    /// now succeeded, a succeeded one now failed).
    public var refundsUpdated: Int
    /// Rule g: events older than 30 days, deleted.
    public var eventsPruned: Int
    /// Due rows this pass left for a later one: a network call that failed.
    public var skipped: Int
    /// Rules this pass did not run, or stopped, because another sweeper held their lease (``Sweeper``): another
    /// process's pass was running them. In the order the pass reached them.
    public var rulesSkipped: [SweeperRule]
    /// Rows the pass's queries read. Each query searches a partial index of due rows only, so this follows the
    /// work due (moved + skipped + attempts in flight), not the size of the tables. For rule c it counts the keys
    /// deleted; keys still locked, which the index range also passes over, are not counted.
    public var examined: Int

    /// Creates a report; a pass starts from all zeros.
    public init(
        attemptsExpired: Int = 0,
        authorizationsCanceled: Int = 0,
        capturesRecorded: Int = 0,
        idempotencyKeysPruned: Int = 0,
        pendingChargesRecovered: Int = 0,
        skipped: Int = 0,
        examined: Int = 0,
        pendingRefundsSettled: Int = 0,
        eventsPruned: Int = 0,
        refundsUpdated: Int = 0,
        setupAttemptsExpired: Int = 0,
        settlementsRecorded: Int = 0,
        rulesSkipped: [SweeperRule] = []
    ) {
        self.settlementsRecorded = settlementsRecorded
        self.rulesSkipped = rulesSkipped
        self.eventsPruned = eventsPruned
        self.setupAttemptsExpired = setupAttemptsExpired
        self.pendingRefundsSettled = pendingRefundsSettled
        self.refundsUpdated = refundsUpdated
        self.attemptsExpired = attemptsExpired
        self.authorizationsCanceled = authorizationsCanceled
        self.capturesRecorded = capturesRecorded
        self.idempotencyKeysPruned = idempotencyKeysPruned
        self.pendingChargesRecovered = pendingChargesRecovered
        self.skipped = skipped
        self.examined = examined
    }

    /// How many rows the pass changed, all rules together.
    public var changes: Int {
        attemptsExpired + setupAttemptsExpired + authorizationsCanceled + capturesRecorded + idempotencyKeysPruned
            + pendingChargesRecovered + settlementsRecorded + pendingRefundsSettled + refundsUpdated + eventsPruned
    }

    /// The counts as log metadata, with the rules' names as keys (numbers, so JSON logs show them as numbers).
    public var metadata: Logger.Metadata {
        [
            "attempts_expired": .stringConvertible(attemptsExpired),
            "setup_attempts_expired": .stringConvertible(setupAttemptsExpired),
            "authorizations_canceled": .stringConvertible(authorizationsCanceled),
            "captures_recorded": .stringConvertible(capturesRecorded),
            "idempotency_keys_pruned": .stringConvertible(idempotencyKeysPruned),
            "pending_charges_recovered": .stringConvertible(pendingChargesRecovered),
            "settlements_recorded": .stringConvertible(settlementsRecorded),
            "pending_refunds_settled": .stringConvertible(pendingRefundsSettled),
            "events_pruned": .stringConvertible(eventsPruned),
            "refunds_updated": .stringConvertible(refundsUpdated),
            "skipped": .stringConvertible(skipped),
            "examined": .stringConvertible(examined),
            // The rules leased elsewhere, as a list (an empty string read as one rule with no name)
            "rules_skipped": .array(rulesSkipped.map { .string($0.rawValue) }),
        ]
    }
}
