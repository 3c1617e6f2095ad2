import Logging
import PaymentsCore
import ServiceLifecycle

/// Settles, before a server takes requests, the charge attempts and the refunds a crash left pending, by asking the
/// network again under the same attempt and refund ids (which never charges or refunds twice).
///
/// One that another process has in flight (a second server, a recharge) is settled the same way: its own answer,
/// when it comes, finds it settled. One that cannot be settled now (the network does not answer) is logged and left
/// to the sweeper, which tries again every pass: it never keeps the server from starting.
public struct StartupRecovery: Sendable {
    let context: PaymentsContext

    /// What a start-up recovery did.
    public struct Outcome: Sendable, Equatable {
        /// Attempts settled.
        public var settled = 0
        /// Attempts left for the sweeper.
        public var left = 0
        /// Refunds settled: each pending refund the network had not answered, asked again.
        public var refundsSettled = 0
        /// Refunds left for the sweeper.
        public var refundsLeft = 0

        /// Creates an outcome.
        public init(settled: Int = 0, left: Int = 0, refundsSettled: Int = 0, refundsLeft: Int = 0) {
            self.settled = settled
            self.left = left
            self.refundsSettled = refundsSettled
            self.refundsLeft = refundsLeft
        }
    }

    /// Rows read per batch: a crash leaves at most as many pending attempts as requests were in flight.
    static let batchSize = 1000
    /// Attempts asked of the network at once. One at a time, 38 attempts a SIGTERM abandoned kept a restarted server
    /// from listening for 20 s with a network answering in 500 ms, and for 6 minutes with one that did not answer
    /// (each waiting for the network's time limit).
    public static let width = 16

    /// Creates the recovery over `context`.
    public init(context: PaymentsContext) { self.context = context }

    /// Settles every pending attempt no task of this process is waiting on, `width` at a time.
    ///
    /// It stops asking once the network did not answer one (the rest would each wait for the same time limit), or
    /// once the server is asked to stop: what it did not settle is left to the sweeper, as a failure is.
    public func run() async throws -> Outcome {
        var outcome = Outcome()
        var networkDown = false
        // Keyset-paged on the charges' (created, rowid), so an attempt left unsettled is not read again.
        var position = SweepPosition.start
        while !networkDown && !Task.isShuttingDownGracefully {
            let after = position
            let due = try await context.database.read { tx in
                try tx.pendingChargesDue(createdAtOrBefore: Int64.max, after: after, limit: Self.batchSize)
            }
            let charges = due.map(\.charge).filter { !context.attempts.contains($0) }
            networkDown = await settle(charges, into: &outcome)
            guard let last = due.last, due.count == Self.batchSize else { break }
            position = last.position
        }
        if networkDown {
            context.logger.warning(
                "the card network did not answer at start: the pending attempts and refunds left are the sweeper's"
            )
            outcome.refundsLeft += try await context.database.read { tx in
                try tx.pendingRefunds(createdBefore: Int64.max, limit: Self.batchSize).count
            }
        } else if !Task.isShuttingDownGracefully {
            try await settleRefunds(&outcome)
        }
        return outcome
    }

    /// Settles `charges`, ``width`` at a time, counting each in `outcome`.
    /// - Returns: whether the network did not answer one (the rest are then not asked, and counted as left).
    private func settle(_ charges: [String], into outcome: inout Outcome) async -> Bool {
        let intents = PaymentIntents(context: context)
        let logger = context.logger
        var networkDown = false
        await withTaskGroup(of: (charge: String, result: Result<PaymentIntent, any Error>).self) { group in
            var waiting = charges.makeIterator()
            func startNext() -> Bool {
                guard !networkDown, !Task.isShuttingDownGracefully, let charge = waiting.next() else { return false }
                group.addTask {
                    do {
                        return (charge, .success(try await intents.recover(charge: charge).0))
                    } catch {
                        return (charge, .failure(error))
                    }
                }
                return true
            }
            for _ in 0..<Self.width {
                guard startNext() else { break }
            }
            for await (charge, result) in group {
                switch result {
                case .success(let intent):
                    outcome.settled += 1
                    logger.notice(
                        "recovered a pending attempt",
                        metadata: [
                            "charge": .string(charge), "payment_intent": .string(intent.id),
                            "status": .string(intent.status.rawValue),
                        ]
                    )
                case .failure(is AttemptInFlight):
                    // The sweeper's first pass, or the attempt's own request, began it after it was read: theirs
                    break
                case .failure(let error):
                    outcome.left += 1
                    if (error as? PaymentError)?.isTransient == true { networkDown = true }
                    logger.warning(
                        "could not settle a pending attempt at start; the sweeper tries again",
                        metadata: ["charge": .string(charge), "error": .string(String(describing: error))]
                    )
                }
                _ = startNext()
            }
            // Not asked: the network is down, or the server stopping
            while waiting.next() != nil { outcome.left += 1 }
        }
        return networkDown
    }

    /// Settles the refunds left pending without the network's answer (the sweeper's rule e without its grace: no
    /// refund of this process is in flight yet). A crash left them reserving their amount, so a refund of the rest
    /// of the charge was refused until the sweeper's next pass past the grace, a minute or more later.
    private func settleRefunds(_ outcome: inout Outcome) async throws {
        let refunds = Refunds(context: context)
        let pending = try await context.database.read { tx in
            try tx.pendingRefunds(createdBefore: Int64.max, limit: Self.batchSize)
        }
        for id in pending {
            do {
                let after = try await refunds.settle(try await refunds.retrieve(id), now: context.clock.now())
                outcome.refundsSettled += 1
                context.logger.notice(
                    "recovered a pending refund",
                    metadata: ["refund": .string(id), "status": .string(after.status.rawValue)]
                )
            } catch {
                outcome.refundsLeft += 1
                context.logger.warning(
                    "could not settle a pending refund at start; the sweeper tries again",
                    metadata: ["refund": .string(id), "error": .string(String(describing: error))]
                )
            }
        }
    }
}
