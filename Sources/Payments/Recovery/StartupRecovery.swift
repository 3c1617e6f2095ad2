import Logging
import PaymentsCore

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

    /// Creates the recovery over `context`.
    public init(context: PaymentsContext) { self.context = context }

    /// Settles every pending attempt no task of this process is waiting on.
    public func run() async throws -> Outcome {
        let intents = PaymentIntents(context: context)
        let logger = context.logger
        var outcome = Outcome()
        // Keyset-paged on the charges' (created, rowid), so an attempt left unsettled is not read again.
        var position = SweepPosition.start
        while true {
            let after = position
            let due = try await context.database.read { tx in
                try tx.pendingChargesDue(createdAtOrBefore: Int64.max, after: after, limit: Self.batchSize)
            }
            for (_, charge) in due where !context.attempts.contains(charge) {
                do {
                    let (intent, _) = try await intents.recover(charge: charge)
                    outcome.settled += 1
                    logger.notice(
                        "recovered a pending attempt",
                        metadata: [
                            "charge": .string(charge), "payment_intent": .string(intent.id),
                            "status": .string(intent.status.rawValue),
                        ]
                    )
                } catch {
                    outcome.left += 1
                    logger.warning(
                        "could not settle a pending attempt at start; the sweeper tries again",
                        metadata: ["charge": .string(charge), "error": .string(String(describing: error))]
                    )
                }
            }
            guard let last = due.last, due.count == Self.batchSize else { break }
            position = last.position
        }
        try await settleRefunds(&outcome)
        return outcome
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
