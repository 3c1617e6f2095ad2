import Logging
import PaymentsCore

/// Settles, before a server takes requests, the charge attempts a crash left pending, by asking the network again
/// under the same attempt ids (which never charges twice).
///
/// An attempt that cannot be settled now (the network does not answer) is logged and left to the sweeper, which
/// tries again every pass: it never keeps the server from starting.
public struct StartupRecovery: Sendable {
    let context: PaymentsContext

    /// What a start-up recovery did.
    public struct Outcome: Sendable, Equatable {
        /// Attempts settled.
        public var settled = 0
        /// Attempts left for the sweeper.
        public var left = 0

        /// Creates an outcome.
        public init(settled: Int = 0, left: Int = 0) {
            self.settled = settled
            self.left = left
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
            guard let last = due.last, due.count == Self.batchSize else { return outcome }
            position = last.position
        }
    }
}
