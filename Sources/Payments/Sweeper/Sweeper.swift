import Logging
import PaymentsCore

/// The sweeper: one pass moves on everything that time has made due.
///
/// a. An attempt left in `requires_action` or `requires_confirmation` past the confirmation window fails with
///    `payment_intent_payment_attempt_expired`, recorded as a failed charge (3-D Secure `expired`); a SetupIntent
///    left in `requires_action` as long fails likewise, with `setup_intent_setup_attempt_expired`.
/// b. An authorization left uncaptured for 7 days is released at the network, and the intent canceled with
///    `cancellation_reason = automatic`; one the network had captured (a capture a crash kept from the database)
///    is recorded as captured.
/// c. Idempotency keys past their expiry (24 hours after they were made) are deleted; recharge references never
///    expire.
/// d. An attempt a crash left pending (and that no task of this process is waiting on) is settled by asking the
///    network again under the same attempt id, which never charges twice.
/// e. A refund a crash left pending before the network answered is completed at the network under the same refund id.
/// f. A refund whose status the network said would change (a `pending` refund paid out, a `succeeded` one sent back:
///    test cards `4000000000007726` and `4000000000005126`, a minute after the refund) is asked about again at that
///    time and updated; a refund that failed gives its amount back to the charge.
/// g. Events older than 30 days (``Event/retention``) are deleted.
///
/// Each rule reads its due rows through a partial index (``SweeperQuery``) in batches of ``defaultBatchSize``, one
/// short write transaction per batch, until nothing is due: a pass costs what is due, not the size of the tables,
/// and never holds the write lock for long. Status changes are compare-and-set, so a pass may run beside a
/// server (or another pass) at any moment. A cancelled task stops between batches.
///
/// One pass at a time runs each rule, whichever process it is in (every `payments serve` runs its own sweeper, and
/// `payments sweep` runs beside them): a pass takes the rule's lease (`sweeper_leases`, ``SweeperRule``) with the
/// rule's first change, renews it with each batch (and, in the rules that ask the card network row by row, whenever
/// a third of it passed), and releases it when the rule is done. In the rules that work inside the database the lease
/// is taken, renewed and released inside the batches' own transactions, and a rule with nothing due writes nothing
/// (``inBatches(_:counting:fault:report:_:)``), so a pass commits once per batch of work and no more. A rule whose
/// lease another holder has is skipped this pass and named in ``SweepReport/rulesSkipped`` (a rule that works inside
/// the database, before reading its rows; one that asks the network, when it has rows due); a renewal that finds the lease taken over stops the rule the same way. A pass that died (SIGKILL) keeps its rule
/// until its lease runs out (``PaymentsContext/Settings/sweeperLease``). The lease saves work, it does not decide:
/// were two passes ever to run one rule at once (a batch slower than the lease), the compare-and-set writes and the
/// network's idempotency keep every row handled once.
public struct Sweeper: Sendable {
    let context: PaymentsContext
    let batchSize: Int
    let holder: SweeperLeaseHolder

    /// Rows per batch, and so per write transaction. A batch of 200 writes in a few milliseconds, about one API
    /// commit's worth of holding the write lock, so requests queued behind it barely notice; and a backlog of
    /// thousands still clears in a fraction of a second.
    public static let defaultBatchSize = 200

    /// How old a pending attempt must be before the sweeper settles it. A live attempt is pending only while the
    /// network answers (milliseconds); a sixty-second margin keeps a `payments sweep` run beside a server from
    /// settling the server's own in-flight attempts, which it cannot see in its ``AttemptRegistry`` (doing so would
    /// still be safe, the network being idempotent on the attempt id, but would be needless work).
    public static let pendingChargeGrace: Int64 = 60

    /// Creates a sweeper over `context`.
    /// - Parameters:
    ///   - batchSize: rows per batch and write transaction (at least 1).
    ///   - holder: who takes the rules' leases (default: this process, for ``PaymentsContext/Settings/sweeperLease``
    ///     seconds by the context's clock).
    public init(context: PaymentsContext, batchSize: Int = Sweeper.defaultBatchSize, holder: SweeperLeaseHolder? = nil)
    {
        self.context = context
        self.batchSize = max(1, batchSize)
        self.holder = holder ?? SweeperLeaseHolder(seconds: context.settings.sweeperLease, clock: context.clock)
    }

    /// Runs one pass of every rule, as of `now`.
    ///
    /// Logs one notice line with the counts when the pass found anything to do.
    /// - Parameter now: the time the pass treats as now (unix seconds).
    /// - Returns: what each rule did, and how many rows it read.
    /// - Throws: a database error; a failed network call only leaves its row for the next pass.
    public func sweep(now: Int64) async throws -> SweepReport {
        var report = SweepReport()
        for rule in SweeperRule.allCases {
            guard !Task.isCancelled else { break }
            let lease = SweeperLeaseHolder.Hold(rule: rule)
            do {
                try await run(rule, now: now, lease: lease, report: &report)
            } catch {
                if lease.held { await release(lease) }
                throw error
            }
            // A rule that ran to its end released its lease in its last batch; one stopped early (cancelled) or
            // that asks the network row by row releases it here.
            if lease.held { await release(lease) }
        }
        PaymentMetrics.sweep(report)
        if report.changes > 0 || report.skipped > 0 || !report.rulesSkipped.isEmpty {
            var metadata = report.metadata
            metadata["now"] = .stringConvertible(now)
            context.logger.notice("sweeper pass", metadata: metadata)
        }
        return report
    }

    /// Runs `rule` under `lease`.
    ///
    /// The housekeeping rules (idempotency keys and events past their lifetimes) go by the real time, whatever time
    /// the pass treats as now: `payments sweep --now +25h` pruned the key of a payment answered a second before, and
    /// the client's retry with it charged again; `--now +31d` deleted every event, its own cancellations' among them.
    /// The payment rules (attempts, authorizations, refunds) go by `now`, which is what `--now` is for.
    func run(_ rule: SweeperRule, now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let realNow = holder.clock.now()
        switch rule {
        case .expireAttempts: try await expireAttempts(now: now, lease: lease, report: &report)
        case .expireSetupAttempts: try await expireSetupAttempts(now: now, lease: lease, report: &report)
        case .cancelAuthorizations: try await cancelExpiredAuthorizations(now: now, lease: lease, report: &report)
        case .pruneIdempotencyKeys: try await pruneIdempotencyKeys(now: realNow, lease: lease, report: &report)
        case .recoverPendingCharges: try await recoverPendingCharges(now: now, lease: lease, report: &report)
        case .settlePendingRefunds: try await settlePendingRefunds(now: now, lease: lease, report: &report)
        case .updateSettlingRefunds: try await updateSettlingRefunds(now: now, lease: lease, report: &report)
        case .pruneEvents: try await pruneEvents(now: realNow, lease: lease, report: &report)
        }
    }

    // MARK: - Leases

    /// Thrown inside a batch's transaction when another holder's lease on the rule still runs: the batch rolls back
    /// whole, and the rule stops.
    struct LeasedElsewhere: Error {}

    /// What a batch's transaction did with its rule's lease; applied to the pass's ``SweeperLeaseHolder/Hold`` once
    /// the transaction committed.
    enum LeaseChange: Sendable {
        /// Nothing: the batch changed nothing, and the lease was not held.
        case unchanged
        /// Taken or renewed at this time (the holder's clock).
        case held(Int64)
        /// Released: the rule is done.
        case released
        /// Another holder's lease runs: the batch changed nothing.
        case refused
    }

    /// What one batch of a rule that works inside the database did.
    struct BatchCounts: Sendable {
        /// Due rows the batch read and handled.
        var read: Int
        /// Rows it changed (or deleted).
        var changed: Int
        /// Whether more may be due: another batch follows.
        var more: Bool
    }

    /// Applies what a committed transaction did with `lease`; a refusal stops the rule and is reported.
    /// - Returns: false when the lease was refused.
    func apply(_ change: LeaseChange, to lease: SweeperLeaseHolder.Hold, report: inout SweepReport) -> Bool {
        switch change {
        case .unchanged:
            return true
        case .held(let time):
            lease.held = true
            lease.renewedAt = time
            return true
        case .released:
            lease.held = false
            return true
        case .refused:
            refused(lease, report: &report)
            return false
        }
    }

    /// Records that another holder has `lease`'s rule: the rule is skipped (or stopped) this pass.
    func refused(_ lease: SweeperLeaseHolder.Hold, report: inout SweepReport) {
        if lease.held {
            context.logger.warning(
                "another sweeper took this rule's lease over (a batch outlasted the lease); stopping the rule this pass",
                metadata: ["rule": "\(lease.rule.rawValue)"]
            )
        } else {
            context.logger.info(
                "another sweeper holds this rule's lease; skipping it this pass",
                metadata: ["rule": "\(lease.rule.rawValue)"]
            )
        }
        lease.held = false
        report.rulesSkipped.append(lease.rule)
    }

    /// Runs a rule that works inside the database in batches, one write transaction each, until `batch` says nothing
    /// more is due.
    ///
    /// The rule's lease lives in the batches' own transactions, so it costs no commit of its own: `batch` calls the
    /// `hold` it is handed before its first change (after reading what is due, or after a delete that found rows),
    /// which takes the lease in the first such batch and renews it in the next ones, or throws ``LeasedElsewhere``
    /// (rolling the batch back) when another holder has it; the last batch releases it. A batch that finds nothing
    /// due and holds no lease writes nothing at all, so an idle rule costs two indexed reads (its lease, its due
    /// rows). A pass that finds another holder's lease running skips the rule before reading its rows, whether any are
    /// due or not: on PostgreSQL that read would lock the rows it finds, and the holder's next batch would skip them.
    /// - Parameters:
    ///   - changed: the report's count of the rows the rule changes.
    ///   - fault: whether a batch that changed rows reaches the fault point ``FaultInjector/Point/afterSweepBatch``.
    ///   - batch: one batch's work inside its transaction.
    func inBatches(
        _ lease: SweeperLeaseHolder.Hold,
        counting changed: WritableKeyPath<SweepReport, Int>,
        fault: Bool = false,
        report: inout SweepReport,
        _ batch: @escaping @Sendable (any StoreTransaction, _ hold: () throws -> Void) throws -> BatchCounts
    ) async throws {
        let (holder, rule) = (self.holder, lease.rule)
        while !Task.isCancelled {
            let held = lease.held
            let outcome: (counts: BatchCounts, lease: LeaseChange)
            do {
                outcome = try await context.database.write { tx in
                    // A pass that meets another holder's lease leaves the rule before reading its rows. On
                    // PostgreSQL the read locks the due rows it finds (`SKIP LOCKED`); rows locked here, even until
                    // the lease refuses this batch, are rows the holder's batch skips, and a batch that comes up
                    // short ends the rule with rows still due.
                    if !held, try holder.heldElsewhere(rule, in: tx) { throw LeasedElsewhere() }
                    var takenAt: Int64?
                    let counts = try batch(tx) {
                        guard takenAt == nil else { return }
                        guard let time = try holder.take(rule, in: tx) else { throw LeasedElsewhere() }
                        takenAt = time
                    }
                    guard !counts.more, held || takenAt != nil else {
                        return (counts, takenAt.map(LeaseChange.held) ?? .unchanged)
                    }
                    try tx.releaseSweeperLease(rule: rule.rawValue, holder: holder.id)
                    return (counts, .released)
                }
            } catch is LeasedElsewhere {
                _ = apply(.refused, to: lease, report: &report)
                return
            }
            _ = apply(outcome.lease, to: lease, report: &report)
            report.examined += outcome.counts.read
            report[keyPath: changed] += outcome.counts.changed
            if fault, outcome.counts.changed > 0 { try await context.faults.reach(.afterSweepBatch) }
            guard outcome.counts.more else { return }
        }
    }

    /// Takes `lease` before a rule that asks the network row by row changes anything (a write of its own, since the
    /// network is asked between transactions); true at once when held already.
    /// - Returns: false when another holder has it (the rule is reported skipped).
    func hold(_ lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws -> Bool {
        guard !lease.held else { return true }
        let (holder, rule) = (self.holder, lease.rule)
        let taken = try await context.database.write { tx in try holder.take(rule, in: tx) }
        return apply(taken.map(LeaseChange.held) ?? .refused, to: lease, report: &report)
    }

    /// Renews `lease` (between batches, with `every` 0; row by row, with a third of the lease, so that only a slow
    /// batch writes); false when another holder took it over meanwhile, which stops the rule (counted in
    /// ``SweepReport/rulesSkipped``).
    func renew(_ lease: SweeperLeaseHolder.Hold, every interval: Int64 = 0, report: inout SweepReport) async throws
        -> Bool
    {
        let (holder, rule) = (self.holder, lease.rule)
        guard holder.clock.now() - lease.renewedAt >= interval else { return true }
        let renewed = try await context.database.write { tx in try holder.take(rule, in: tx) }
        return apply(renewed.map(LeaseChange.held) ?? .refused, to: lease, report: &report)
    }

    /// A third of the lease: how often the rules that ask the network row by row renew it.
    var renewalInterval: Int64 { max(1, holder.seconds / 3) }

    /// Releases `lease`; a failure only leaves it to run out.
    ///
    /// The release runs in a task of its own, awaited here: a pass cancelled by `serve`'s graceful shutdown still
    /// frees its rule (a store may refuse a write in a cancelled task), so an instance restarted at once finds it free.
    func release(_ lease: SweeperLeaseHolder.Hold) async {
        let (id, rule, database) = (holder.id, lease.rule.rawValue, context.database)
        lease.held = false
        do {
            _ = try await Task {
                try await database.write { tx in try tx.releaseSweeperLease(rule: rule, holder: id) }
            }.value
        } catch {
            context.logger.warning(
                "could not release a sweeper lease; it runs out by itself",
                metadata: ["rule": "\(rule)", "error": "\(error)"]
            )
        }
    }

    // MARK: - a. Expired attempts

    /// Rule a: attempts whose confirmation window passed fall back to `requires_payment_method`.
    ///
    /// Each batch reads one row more than it handles, so the batch that handles the last due rows knows it is the last
    /// and releases the lease in its own transaction.
    func expireAttempts(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let (ids, limit) = (context.ids, batchSize)
        try await inBatches(lease, counting: \.attemptsExpired, fault: true, report: &report) { tx, hold in
            let found = try tx.attemptsDue(at: now, limit: limit + 1)
            let due = found.prefix(limit)
            guard !due.isEmpty else { return BatchCounts(read: 0, changed: 0, more: false) }
            try hold()
            // Every due row read inside the write moves (its status cannot change under the write lock); the
            // `moved > 0` condition only makes sure a pass always ends.
            let moved = try tx.inBatch { tx in
                try PaymentIntents.expireAttempts(Array(due), now: now, ids: ids, tx: tx)
            }
            return BatchCounts(read: due.count, changed: moved, more: found.count > limit && moved > 0)
        }
    }

    /// Rule a for setups: challenges left unanswered past the confirmation window fall back to
    /// `requires_payment_method`, so a stale challenge link can no longer set the card up.
    func expireSetupAttempts(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let limit = batchSize
        try await inBatches(lease, counting: \.setupAttemptsExpired, report: &report) { tx, hold in
            let found = try tx.setupAttemptsDue(at: now, limit: limit + 1)
            let due = found.prefix(limit)
            guard !due.isEmpty else { return BatchCounts(read: 0, changed: 0, more: false) }
            try hold()
            let moved = try tx.inBatch { tx in
                var moved = 0
                for setup in due where try SetupIntents.expireAttempt(setup, now: now, tx: tx) != nil { moved += 1 }
                return moved
            }
            return BatchCounts(read: due.count, changed: moved, more: found.count > limit && moved > 0)
        }
    }

    // MARK: - b. Expired authorizations

    /// Rule b: authorizations left uncaptured for ``PaymentIntents/authorizationLifetime`` are released and their
    /// intents canceled with `cancellation_reason = automatic`.
    ///
    /// Each authorization is released at the network before its intent is canceled here, as a merchant's cancel
    /// does: the network decides between a capture and a release that race, so an authorization captured at the
    /// last moment is never canceled under the capture's feet: the capture is recorded instead (whether its own
    /// request still does it or a crash kept it from the database).
    ///
    /// One write transaction per batch: it records what the network answered about the previous batch, reads the
    /// next one, and takes, renews or (nothing being left) releases the lease; then the network releases the whole
    /// batch in one call. The lease is committed before the network is asked about a row, and each answer is
    /// committed before the next batch is asked about.
    func cancelExpiredAuthorizations(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws
    {
        let cutoff = now - PaymentIntents.authorizationLifetime
        let (limit, holder, rule) = (batchSize, self.holder, lease.rule)
        var position = SweepPosition.start
        var answered: [(intent: String, release: Release)] = []
        while true {
            let (after, answers, held, more) = (position, answered, lease.held, !Task.isCancelled)
            let step = try await context.database.write { tx -> AuthorizationStep in
                var step = AuthorizationStep()
                (step.canceled, step.recorded) = try tx.inBatch { tx in try Self.record(answers, now: now, tx: tx) }
                let due = more ? try tx.authorizationsDue(authorizedAtOrBefore: cutoff, after: after, limit: limit) : []
                if due.isEmpty {
                    if held { try tx.releaseSweeperLease(rule: rule.rawValue, holder: holder.id) }
                    step.lease = held ? .released : .unchanged
                } else if let time = try holder.take(rule, in: tx) {
                    (step.due, step.lease) = (due, .held(time))
                } else {
                    step.lease = .refused
                }
                return step
            }
            report.authorizationsCanceled += step.canceled
            report.capturesRecorded += step.recorded
            let holding = apply(step.lease, to: lease, report: &report)
            if step.canceled + step.recorded > 0 { try await context.faults.reach(.afterSweepBatch) }
            guard holding, let last = step.due.last else { break }
            report.examined += step.due.count
            position = last.position
            answered = []
            for (intent, outcome) in await releaseAll(step.due.map(\.intent)) {
                if outcome == .failed { report.skipped += 1 } else { answered.append((intent, outcome)) }
            }
            try await context.faults.reach(.afterSweepRelease)
        }
    }

    /// What one transaction of rule b did.
    struct AuthorizationStep: Sendable {
        /// Intents of the previous batch canceled, and captures recorded.
        var canceled = 0
        var recorded = 0
        /// The next batch, to release at the network.
        var due: [(position: SweepPosition, intent: PaymentIntent)] = []
        var lease = LeaseChange.unchanged
    }

    /// Records what the network answered about a batch of expired authorizations, inside `tx`: released ones are
    /// canceled, captured ones recorded as captured, the intents saved together (``StoreTransaction/update(_:then:)``).
    /// Each intent is read again under the write lock, since a merchant's cancel or capture may have come first.
    /// - Returns: how many intents were canceled, and how many captures recorded.
    static func record(_ answers: [(intent: String, release: Release)], now: Int64, tx: any StoreTransaction) throws
        -> (canceled: Int, recorded: Int)
    {
        var changes: [(intent: PaymentIntent, before: PaymentIntent)] = []
        var captured: [String: Int64] = [:]
        var named: [(intent: PaymentIntent, before: PaymentIntent)] = []
        for (id, release) in answers {
            guard let current = try tx.paymentIntent(id) else { continue }
            if release == .released, current.status == .canceled, current.cancellationReason == nil {
                // A capture that met this pass's release at the network recorded the cancel first, with no reason
                // (it cannot know whose release it met): the expiry is the reason, as a merchant's cancel names its
                // own reason in the same case. (A merchant's cancel without a reason racing the expiry ends named
                // `automatic` too: both released the hold.)
                var next = current
                next.cancellationReason = .automatic
                named.append((next, current))
                continue
            }
            guard current.status == .requiresCapture else { continue }
            switch release {
            case .released:
                // A merchant's cancel that asked for this release and died before recording it (`settling`) is the
                // cancel recorded, with its reason; the expiry's reason otherwise
                let merchants = current.settling.flatMap { $0.operation == .release ? $0 : nil }
                let reason = merchants.map { $0.reason } ?? .automatic
                changes.append((try current.apply(.canceled(reason), now: now), current))
            case .captured(let amount):
                // The merchant's capture reached the network but its outcome never reached us: record it.
                changes.append((try current.apply(.captured(amount: amount), now: now), current))
                captured[id] = amount
            case .failed:
                continue
            }
        }
        var (canceled, recorded) = (0, 0)
        // Each charge's events (`charge.expired`, `charge.captured`) before its intent's, as on every other path
        _ = try tx.update(
            changes,
            first: { intent in
                let amount = captured[intent.id]
                if amount == nil { canceled += 1 } else { recorded += 1 }
                guard let held = intent.latestCharge, let charge = try tx.charge(held) else { return }
                var next = charge
                if let amount { next.recordCapture(amount) } else { next.releaseAuthorization() }
                // Released by the expiry (`charge.expired`), not by a merchant's cancel that died before its write
                try tx.update(next, from: charge, expired: amount == nil && intent.cancellationReason == .automatic)
            },
            then: { _ in }
        )
        for (intent, before) in named where try tx.update(intent, from: before) { canceled += 1 }
        return (canceled, recorded)
    }

    /// What became of an expired authorization at the network.
    enum Release: Equatable, Sendable {
        /// Released (now or before).
        case released
        /// Captured first, for this amount: a capture whose outcome never reached the database.
        case captured(Int64)
        /// The network could not be asked; the next pass tries again.
        case failed
    }

    /// Releases `intents`' authorizations at the network in one call (``CardNetwork/void(attemptIDs:)``, one durable
    /// write at the test-mode acquirer instead of one per authorization), then asks about the few it had captured
    /// first; returns each intent's id with what became of it.
    func releaseAll(_ intents: [PaymentIntent]) async -> [(String, Release)] {
        let attempts = intents.compactMap(\.latestCharge)
        var answers: [String: Bool] = [:]
        if !attempts.isEmpty {
            do {
                answers = try await context.network.void(attemptIDs: attempts)
            } catch {
                if !Task.isCancelled {
                    context.logger.warning(
                        "could not release a batch of expired authorizations; the next pass tries again",
                        metadata: ["authorizations": .stringConvertible(attempts.count), "error": "\(error)"]
                    )
                }
            }
        }
        var results: [(String, Release)] = []
        results.reserveCapacity(intents.count)
        for intent in intents {
            guard let attempt = intent.latestCharge else {
                results.append((intent.id, .released))
                continue
            }
            switch answers[attempt] {
            case true?: results.append((intent.id, .released))
            case false?: results.append((intent.id, await capturedFirst(intent, attempt: attempt)))
            case nil: results.append((intent.id, .failed))
            }
        }
        return results
    }

    /// An expired authorization the network would not release because it captured it first: finds the amount it
    /// captured (asking to capture again returns the amount the first capture took, and takes no more).
    func capturedFirst(_ intent: PaymentIntent, attempt: String) async -> Release {
        do {
            if let amount = try await context.network.capture(attemptID: attempt, amount: intent.amountCapturable) {
                context.logger.notice(
                    "an expired authorization had been captured at the network; recording the capture",
                    metadata: [
                        "payment_intent": "\(intent.id)", "charge": "\(attempt)", "amount": .stringConvertible(amount),
                    ]
                )
                return .captured(amount)
            }
            return .released
        } catch {
            if !Task.isCancelled {
                context.logger.warning(
                    "could not release an expired authorization; the next pass tries again",
                    metadata: ["payment_intent": "\(intent.id)", "charge": "\(attempt)", "error": "\(error)"]
                )
            }
            return .failed
        }
    }

    // MARK: - c. Idempotency keys

    /// Rule c: idempotency keys past their expiry are deleted (unless a request still holds their lease); keys
    /// without one (recharge references) are never read.
    ///
    /// A lease is held in real time: a request's `locked_until` comes from its process's clock, so each batch asks
    /// the clock again (a pass may outlast a lease).
    func pruneIdempotencyKeys(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let (limit, clock) = (batchSize, holder.clock)
        try await inBatches(lease, counting: \.idempotencyKeysPruned, report: &report) { tx, hold in
            let pruned = try tx.pruneIdempotencyKeys(expiredBefore: now, unheldAt: clock.now(), limit: limit)
            if pruned > 0 { try hold() }
            return BatchCounts(read: pruned, changed: pruned, more: pruned == limit)
        }
    }

    // MARK: - g. Events

    /// Rule g: events past their retention are deleted, oldest first, a batch per transaction.
    func pruneEvents(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let (cutoff, limit) = (now - Event.retention, batchSize)
        try await inBatches(lease, counting: \.eventsPruned, report: &report) { tx, hold in
            let pruned = try tx.pruneEvents(createdBefore: cutoff, limit: limit)
            if pruned > 0 { try hold() }
            return BatchCounts(read: pruned, changed: pruned, more: pruned == limit)
        }
    }

    // MARK: - d. Pending attempts

    /// Rule d: attempts pending for longer than ``pendingChargeGrace`` that no task of this process is waiting on
    /// are settled through ``PaymentIntents/recover(charge:scope:)``.
    func recoverPendingCharges(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let cutoff = now - Self.pendingChargeGrace
        let limit = batchSize
        // The attempt is due as of `now`; the network's answer is recorded when it comes, in real time. A pass with
        // `--now +8d` dated the payments it recovered 8 days ahead: `daily_volume` showed a day yet to come.
        let intents = PaymentIntents(context: context.inRealTime())
        var position = SweepPosition.start
        while !Task.isCancelled {
            let after = position
            let due = try await context.database.read { tx in
                try tx.pendingChargesDue(createdAtOrBefore: cutoff, after: after, limit: limit)
            }
            report.examined += due.count
            guard let last = due.last else { break }
            position = last.position
            for (_, charge) in due where !context.attempts.contains(charge) {
                guard !Task.isCancelled else { return }
                guard try await hold(lease, report: &report),
                    try await renew(lease, every: renewalInterval, report: &report)
                else { return }
                do {
                    let (intent, _) = try await intents.recover(charge: charge)
                    report.pendingChargesRecovered += 1
                    context.logger.info(
                        "recovered a pending attempt",
                        metadata: [
                            "charge": "\(charge)", "payment_intent": "\(intent.id)",
                            "status": "\(intent.status.rawValue)",
                        ]
                    )
                } catch is AttemptInFlight {
                    // Start-up recovery, or the attempt's own request, began it after this batch was read
                    continue
                } catch {
                    report.skipped += 1
                    if !Task.isCancelled {
                        context.logger.warning(
                            "could not settle a pending attempt; the next pass tries again",
                            metadata: ["charge": "\(charge)", "error": "\(error)"]
                        )
                    }
                }
            }
            if due.count < limit { break }
            if lease.held { guard try await renew(lease, report: &report) else { break } }
        }
        try await settleRequestedCaptures(now: now, intents: intents, lease: lease, report: &report)
    }

    /// Rule d, for captures and releases: an intent still awaiting one its request asked the network for
    /// (``PaymentIntent/settling``) longer than ``pendingChargeGrace`` ago was left by a process that died before
    /// recording the answer, or stopped while the store refused it. The network is asked again under the request's
    /// reference and the answer recorded (``PaymentIntents/settle(_:)``); one the network cannot be asked about now
    /// is left for the next pass.
    func settleRequestedCaptures(
        now: Int64,
        intents: PaymentIntents,
        lease: SweeperLeaseHolder.Hold,
        report: inout SweepReport
    ) async throws {
        let cutoff = now - Self.pendingChargeGrace
        let awaiting = try await context.database.read { [batchSize] tx in
            try tx.intentsAwaitingSettlement(limit: batchSize)
        }
        report.examined += awaiting.count
        for intent in awaiting where (intent.settling?.requestedAt ?? .max) <= cutoff {
            guard !Task.isCancelled else { return }
            guard try await hold(lease, report: &report),
                try await renew(lease, every: renewalInterval, report: &report)
            else { return }
            do {
                let settled = try await intents.settle(intent)
                report.settlementsRecorded += 1
                context.logger.info(
                    "recorded a capture or release the network made for a request that did not record it",
                    metadata: ["payment_intent": "\(intent.id)", "status": "\(settled.status.rawValue)"]
                )
            } catch {
                report.skipped += 1
                context.logger.warning(
                    "could not settle a capture or release asked of the network; the next pass tries again",
                    metadata: ["payment_intent": "\(intent.id)", "error": "\(error)"]
                )
            }
        }
    }

    // MARK: - e. Pending refunds

    /// Rule e: refunds pending for longer than ``pendingChargeGrace`` (the same margin: a live refund is pending
    /// only while the network answers) that the network never answered are completed by asking it under the same
    /// refund id (``Refunds/settle(_:now:scope:)``). A refund the network cannot be asked about now is left for the
    /// next pass.
    func settlePendingRefunds(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let (cutoff, limit) = (now - Self.pendingChargeGrace, batchSize)
        let due = try await context.database.read { tx in try tx.pendingRefunds(createdBefore: cutoff, limit: limit) }
        report.examined += due.count
        for id in due {
            guard !Task.isCancelled else { return }
            guard try await hold(lease, report: &report),
                try await renew(lease, every: renewalInterval, report: &report)
            else { return }
            if await askAboutRefund(id, now: now, report: &report) != nil { report.pendingRefundsSettled += 1 }
        }
    }

    // MARK: - f. Refunds the network settles later

    /// Rule f: refunds whose network status was due to change by `now` are asked about again under the same refund
    /// id, and the answer recorded: what a card network would otherwise report in a notification. A refund the
    /// network cannot be asked about now is left for the next pass.
    func updateSettlingRefunds(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let limit = batchSize
        var position = SweepPosition.start
        while !Task.isCancelled {
            let after = position
            let due = try await context.database.read { tx in
                try tx.refundsSettling(at: now, after: after, limit: limit)
            }
            report.examined += due.count
            guard let last = due.last else { break }
            position = last.position
            for (_, id) in due {
                guard !Task.isCancelled else { return }
                guard try await hold(lease, report: &report),
                    try await renew(lease, every: renewalInterval, report: &report)
                else { return }
                guard let (before, after) = await askAboutRefund(id, now: now, report: &report) else { continue }
                if after.status != before.status || after.settlesAt != before.settlesAt { report.refundsUpdated += 1 }
            }
            if due.count < limit { break }
            if lease.held { guard try await renew(lease, report: &report) else { break } }
        }
    }

    /// Asks the network about a refund under its id and records the answer (``Refunds/settle(_:now:scope:)``).
    /// - Returns: the refund before and after, or nil when it could not be asked (counted as skipped and logged).
    func askAboutRefund(_ id: String, now: Int64, report: inout SweepReport) async -> (Refund, Refund)? {
        let refunds = Refunds(context: context)
        do {
            let before = try await refunds.retrieve(id)
            let after = try await refunds.settle(before, now: now)
            context.logger.info(
                "asked the network about a refund",
                metadata: ["refund": "\(id)", "from": "\(before.status)", "to": "\(after.status)"]
            )
            return (before, after)
        } catch {
            report.skipped += 1
            if !Task.isCancelled {
                context.logger.warning(
                    "could not ask the network about a refund; the next pass tries again",
                    metadata: ["refund": "\(id)", "error": "\(error)"]
                )
            }
            return nil
        }
    }
}
