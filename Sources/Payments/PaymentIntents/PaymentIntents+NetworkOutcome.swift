import Logging
import PaymentsCore

// MARK: - Recording what the card network has already done

extension PaymentIntents {
    /// Runs `write`, the transaction that records what the card network has already done for this request (a
    /// capture, or the release of a cancel), until the store takes it.
    ///
    /// The network's side is final by then, and nothing else records it: without an `Idempotency-Key` no retry can
    /// resume the request, and a capture or release leaves no pending row for the sweeper to settle. So a store that
    /// refuses the write for a passing reason (its write lock held past the lock timeout by another process, such as
    /// an admin's `BEGIN EXCLUSIVE`; the database unreachable for a moment) does not end it. The request tries again
    /// for ``PaymentsContext/Settings/outcomePatience``; after that it is answered with the store's error (its message
    /// saying what the network did), and `later` (the same record, without the request's key) goes on in the
    /// background, every second, until the store takes it. Before, the request answered a 429 after the first 5 s,
    /// and the intent went on showing `requires_capture` after its capture or release, until another capture or
    /// cancel, or the sweeper's 7-day rule, found out.
    ///
    /// - Parameters:
    ///   - done: what the network did, for the error and the log ("captured 3000", "released the authorization").
    ///   - later: the same record without the request's idempotency key (whose lease ends with the request), run in
    ///     the background if the request gives up.
    func recordingNetworkOutcome<T>(
        of id: String,
        done: String,
        _ write: () async throws -> T,
        later: @escaping @Sendable () async throws -> PaymentIntent
    ) async throws -> T {
        let patience = context.settings.outcomePatience
        let start = ContinuousClock.now
        while true {
            do {
                return try await write()
            } catch let error where Self.storeMayTakeLater(error) {
                if ContinuousClock.now - start < patience, !Task.isCancelled {
                    try? await Task.sleep(for: Self.outcomeRetryPause)
                    continue
                }
                context.logger.warning(
                    "the card network \(done), but the database refused to record it; recording in the background",
                    metadata: ["payment_intent": "\(id)", "error": "\(error)"]
                )
                Self.recordInBackground(id, done: done, later, logger: context.logger)
                throw PaymentError.outcomeNotRecorded(error, done: done, paymentIntent: id)
            }
        }
    }

    /// The pause between two tries of a record that the store refused.
    static let outcomeRetryPause: Duration = .seconds(1)

    /// How many times the background tries a record before it gives up (an hour at one try a second); the intent is
    /// then corrected by the next capture or cancel of it, or by the sweeper's 7-day rule, as after a crash.
    static let backgroundTries = 3600

    /// Whether the store may take the write later: anything but a refusal of the request itself (a ``PaymentError``)
    /// and a row the schema refuses (trying again changes nothing).
    static func storeMayTakeLater(_ error: any Error) -> Bool {
        if error is PaymentError || error is CancellationError { return false }
        if let store = error as? StoreError, case .constraintViolated = store { return false }
        return true
    }

    /// Runs `record` in the background until the store takes it (or refuses it for good).
    static func recordInBackground(
        _ id: String,
        done: String,
        _ record: @escaping @Sendable () async throws -> PaymentIntent,
        logger: Logger
    ) {
        Task.detached {
            for attempt in 1...backgroundTries {
                try? await Task.sleep(for: outcomeRetryPause)
                do {
                    let intent = try await record()
                    logger.notice(
                        "recorded what the card network did after the request gave up",
                        metadata: [
                            "payment_intent": "\(id)", "status": "\(intent.status.rawValue)", "tries": "\(attempt)",
                        ]
                    )
                    return
                } catch let error where storeMayTakeLater(error) {
                    if attempt.isMultiple(of: 60) {
                        logger.warning(
                            "still cannot record what the card network did",
                            metadata: ["payment_intent": "\(id)", "error": "\(error)", "tries": "\(attempt)"]
                        )
                    }
                } catch {
                    logger.error(
                        "could not record what the card network did",
                        metadata: ["payment_intent": "\(id)", "error": "\(error)"]
                    )
                    return
                }
            }
            logger.error(
                "gave up recording what the card network did; the intent's next capture or cancel, or the sweeper's 7-day rule, records it",
                metadata: ["payment_intent": "\(id)", "done": "\(done)"]
            )
        }
    }
}
