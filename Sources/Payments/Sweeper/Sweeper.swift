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
/// `payments sweep` runs beside them): a pass takes the rule's lease (`sweeper_leases`, ``SweeperRule``) before
/// working on it, renews it between batches (and, in the rules that ask the card network row by row, whenever a
/// third of it passed), and releases it when the rule is done. A rule whose lease another holder has is skipped this
/// pass and named in ``SweepReport/rulesSkipped``; a renewal that finds the lease taken over stops the rule the same
/// way. A pass that died (SIGKILL) keeps its rule until its lease runs out
/// (``PaymentsContext/Settings/sweeperLease``). The lease saves work, it does not decide: were two passes ever to
/// run one rule at once (a batch slower than the lease), the compare-and-set writes and the network's idempotency
/// keep every row handled once.
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
    /// - Returns: what each rule did, and how many rows the pass read.
    /// - Throws: a database error; a failed network call only leaves its row for the next pass.
    public func sweep(now: Int64) async throws -> SweepReport {
        var report = SweepReport()
        for rule in SweeperRule.allCases {
            guard !Task.isCancelled else { break }
            guard let lease = try await take(rule) else {
                report.rulesSkipped.append(rule)
                continue
            }
            do {
                try await run(rule, now: now, lease: lease, report: &report)
            } catch {
                await release(lease)
                throw error
            }
            await release(lease)
        }
        PaymentMetrics.sweep(report)
        if report.changes > 0 || report.skipped > 0 || !report.rulesSkipped.isEmpty {
            var metadata = report.metadata
            metadata["now"] = "\(now)"
            context.logger.notice("sweeper pass", metadata: metadata)
        }
        return report
    }

    /// Runs `rule` under `lease`.
    func run(_ rule: SweeperRule, now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        switch rule {
        case .expireAttempts: try await expireAttempts(now: now, lease: lease, report: &report)
        case .expireSetupAttempts: try await expireSetupAttempts(now: now, lease: lease, report: &report)
        case .cancelAuthorizations: try await cancelExpiredAuthorizations(now: now, lease: lease, report: &report)
        case .pruneIdempotencyKeys: try await pruneIdempotencyKeys(now: now, lease: lease, report: &report)
        case .recoverPendingCharges: try await recoverPendingCharges(now: now, lease: lease, report: &report)
        case .settlePendingRefunds: try await settlePendingRefunds(now: now, lease: lease, report: &report)
        case .updateSettlingRefunds: try await updateSettlingRefunds(now: now, lease: lease, report: &report)
        case .pruneEvents: try await pruneEvents(now: now, lease: lease, report: &report)
        }
    }

    // MARK: - Leases

    /// Takes `rule`'s lease; nil when another holder's lease on it is still running.
    func take(_ rule: SweeperRule) async throws -> SweeperLeaseHolder.Hold? {
        let (id, now) = (holder.id, holder.clock.now())
        let until = now + holder.seconds
        let taken = try await context.database.write { tx in
            try tx.takeSweeperLease(rule: rule.rawValue, holder: id, now: now, leasedUntil: until)
        }
        guard taken else {
            context.logger.info(
                "another sweeper holds this rule's lease; skipping it this pass",
                metadata: ["rule": "\(rule.rawValue)"]
            )
            return nil
        }
        return SweeperLeaseHolder.Hold(rule: rule, renewedAt: now)
    }

    /// Renews `lease` (between batches, with `every` 0; row by row, with a third of the lease, so that only a slow
    /// batch writes); false when another holder took it over meanwhile, which stops the rule (counted in
    /// ``SweepReport/rulesSkipped``).
    func renew(_ lease: SweeperLeaseHolder.Hold, every interval: Int64 = 0, report: inout SweepReport) async throws
        -> Bool
    {
        let (id, now, rule) = (holder.id, holder.clock.now(), lease.rule)
        guard now - lease.renewedAt >= interval else { return true }
        let until = now + holder.seconds
        let renewed = try await context.database.write { tx in
            try tx.takeSweeperLease(rule: rule.rawValue, holder: id, now: now, leasedUntil: until)
        }
        if renewed {
            lease.renewedAt = now
            return true
        }
        context.logger.warning(
            "another sweeper took this rule's lease over (a batch outlasted the lease); stopping the rule this pass",
            metadata: ["rule": "\(rule.rawValue)"]
        )
        report.rulesSkipped.append(rule)
        return false
    }

    /// A third of the lease: how often the rules that ask the network row by row renew it.
    var renewalInterval: Int64 { max(1, holder.seconds / 3) }

    /// Releases `lease`; a failure only leaves it to run out.
    ///
    /// The release runs in a task of its own, awaited here: a pass cancelled by `serve`'s graceful shutdown still
    /// frees its rule (a store may refuse a write in a cancelled task), so an instance restarted at once finds it free.
    func release(_ lease: SweeperLeaseHolder.Hold) async {
        let (id, rule, database) = (holder.id, lease.rule.rawValue, context.database)
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
    func expireAttempts(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let ids = context.ids
        let limit = batchSize
        while !Task.isCancelled {
            let (read, moved) = try await context.database.write { tx -> (Int, Int) in
                let due = try tx.attemptsDue(at: now, limit: limit)
                var moved = 0
                for intent in due {
                    if try PaymentIntents.expireAttempt(intent, now: now, ids: ids, tx: tx) { moved += 1 }
                }
                return (due.count, moved)
            }
            report.examined += read
            report.attemptsExpired += moved
            if moved > 0 { try await context.faults.reach(.afterSweepBatch) }
            // Every due row read inside the write moves (its status cannot change under the write lock); the
            // `moved == 0` guard only makes sure a pass always ends.
            if read < limit || moved == 0 { break }
            guard try await renew(lease, report: &report) else { break }
        }
    }

    /// Rule a for setups: challenges left unanswered past the confirmation window fall back to
    /// `requires_payment_method`, so a stale challenge link can no longer set the card up.
    func expireSetupAttempts(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let limit = batchSize
        while !Task.isCancelled {
            let (read, moved) = try await context.database.write { tx -> (Int, Int) in
                let due = try tx.setupAttemptsDue(at: now, limit: limit)
                var moved = 0
                for setup in due where try SetupIntents.expireAttempt(setup, now: now, tx: tx) != nil { moved += 1 }
                return (due.count, moved)
            }
            report.examined += read
            report.setupAttemptsExpired += moved
            if read < limit || moved == 0 { break }
            guard try await renew(lease, report: &report) else { break }
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
    func cancelExpiredAuthorizations(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws
    {
        let cutoff = now - PaymentIntents.authorizationLifetime
        let limit = batchSize
        var position = SweepPosition.start
        while !Task.isCancelled {
            let after = position
            let due = try await context.database.read { tx in
                try tx.authorizationsDue(authorizedAtOrBefore: cutoff, after: after, limit: limit)
            }
            report.examined += due.count
            guard let last = due.last else { break }
            position = last.position
            var released: [String] = []
            var captured: [(intent: String, amount: Int64)] = []
            for (intent, outcome) in await releaseAll(due.map(\.intent)) {
                switch outcome {
                case .released: released.append(intent)
                case .captured(let amount): captured.append((intent, amount))
                case .failed: report.skipped += 1
                }
            }
            let (ids, captures) = (released, captured)
            try await context.faults.reach(.afterSweepRelease)
            let (canceled, recorded) = try await context.database.write { tx -> (Int, Int) in
                var canceled = 0
                for id in ids {
                    // Read again under the write lock: a merchant's cancel may have come first.
                    guard let current = try tx.paymentIntent(id), current.status == .requiresCapture else { continue }
                    let next = try current.apply(.canceled(.automatic), now: now)
                    guard try tx.update(next, from: current) else { continue }
                    canceled += 1
                    if let held = current.latestCharge, let charge = try tx.charge(held) {
                        var released = charge
                        released.releaseAuthorization()
                        try tx.update(released, from: charge)
                    }
                }
                var recorded = 0
                for (id, amount) in captures {
                    // The merchant's capture reached the network but its outcome never reached us: record it.
                    guard let current = try tx.paymentIntent(id), current.status == .requiresCapture else { continue }
                    let next = try current.apply(.captured(amount: amount), now: now)
                    guard try tx.update(next, from: current) else { continue }
                    recorded += 1
                    if let held = current.latestCharge, let charge = try tx.charge(held) {
                        var captured = charge
                        captured.recordCapture(amount)
                        try tx.update(captured, from: charge)
                    }
                }
                return (canceled, recorded)
            }
            report.authorizationsCanceled += canceled
            report.capturesRecorded += recorded
            if canceled + recorded > 0 { try await context.faults.reach(.afterSweepBatch) }
            if due.count < limit { break }
            guard try await renew(lease, report: &report) else { break }
        }
    }

    /// What became of an expired authorization at the network.
    enum Release: Equatable {
        /// Released (now or before).
        case released
        /// Captured first, for this amount: a capture whose outcome never reached the database.
        case captured(Int64)
        /// The network could not be asked; the next pass tries again.
        case failed
    }

    /// How many releases a pass has at the network at once. Each is a durable write at the acquirer; asked one by
    /// one, a batch of 200 took 200 round trips (about 370 ms for 300 in `scripts/bench`), while concurrent calls
    /// share the network's commits.
    static let releaseConcurrency = 32

    /// Releases `intents`' authorizations, at most ``releaseConcurrency`` at a time; returns each intent's id with
    /// what became of it.
    func releaseAll(_ intents: [PaymentIntent]) async -> [(String, Release)] {
        await withTaskGroup(of: (String, Release).self) { group in
            var results: [(String, Release)] = []
            results.reserveCapacity(intents.count)
            for (index, intent) in intents.enumerated() {
                if index >= Self.releaseConcurrency, let done = await group.next() { results.append(done) }
                group.addTask { (intent.id, await release(intent)) }
            }
            for await done in group { results.append(done) }
            return results
        }
    }

    /// Releases an expired authorization at the network (idempotent on the attempt id), or finds the amount the
    /// network captured first.
    func release(_ intent: PaymentIntent) async -> Release {
        guard let attempt = intent.latestCharge else { return .released }
        do {
            if try await context.network.void(attemptID: attempt) { return .released }
            // Captured first: asking to capture again returns the amount the first capture took, and takes no more.
            if let amount = try await context.network.capture(attemptID: attempt, amount: intent.amountCapturable) {
                context.logger.notice(
                    "an expired authorization had been captured at the network; recording the capture",
                    metadata: ["payment_intent": "\(intent.id)", "charge": "\(attempt)", "amount": "\(amount)"]
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
    func pruneIdempotencyKeys(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let limit = batchSize
        while !Task.isCancelled {
            let pruned = try await context.database.write { tx in
                try tx.pruneIdempotencyKeys(expiredBefore: now, limit: limit)
            }
            report.examined += pruned
            report.idempotencyKeysPruned += pruned
            if pruned < limit { break }
            guard try await renew(lease, report: &report) else { break }
        }
    }

    // MARK: - g. Events

    /// Rule g: events past their retention are deleted, oldest first, a batch per transaction.
    func pruneEvents(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let (cutoff, limit) = (now - Event.retention, batchSize)
        while !Task.isCancelled {
            let pruned = try await context.database.write { tx in
                try tx.pruneEvents(createdBefore: cutoff, limit: limit)
            }
            report.examined += pruned
            report.eventsPruned += pruned
            if pruned < limit { break }
            guard try await renew(lease, report: &report) else { break }
        }
    }

    // MARK: - d. Pending attempts

    /// Rule d: attempts pending for longer than ``pendingChargeGrace`` that no task of this process is waiting on
    /// are settled through ``PaymentIntents/recover(charge:scope:)``.
    func recoverPendingCharges(now: Int64, lease: SweeperLeaseHolder.Hold, report: inout SweepReport) async throws {
        let cutoff = now - Self.pendingChargeGrace
        let limit = batchSize
        let intents = PaymentIntents(context: context)
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
                guard try await renew(lease, every: renewalInterval, report: &report) else { return }
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
            guard try await renew(lease, report: &report) else { break }
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
            guard try await renew(lease, every: renewalInterval, report: &report) else { return }
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
                guard try await renew(lease, every: renewalInterval, report: &report) else { return }
                guard let (before, after) = await askAboutRefund(id, now: now, report: &report) else { continue }
                if after.status != before.status || after.settlesAt != before.settlesAt { report.refundsUpdated += 1 }
            }
            if due.count < limit { break }
            guard try await renew(lease, report: &report) else { break }
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
