import PaymentsCore

// MARK: - Expiry: the sweeper's rule a, a batch at a time

extension PaymentIntents {
    /// Expires the attempts of `intents` inside `tx`, as ``expireAttempt(_:now:ids:tx:)`` does one by one: each intent
    /// gets `payment_intent_payment_attempt_expired`, and its attempt is recorded as a failed charge (its latest),
    /// with the same events in the same order; the intents are saved together (``StoreTransaction/update(intents:)``).
    /// - Precondition: every intent was read in `tx`, and not written since.
    /// - Returns: how many moved (an intent whose status changed since it was read is left alone: compare-and-set).
    static func expireAttempts(_ intents: [PaymentIntent], now: Int64, ids: IDGenerator, tx: any StoreTransaction)
        throws -> Int
    {
        var changes: [(intent: PaymentIntent, before: PaymentIntent)] = []
        var charges: [String: Charge] = [:]
        changes.reserveCapacity(intents.count)
        for intent in intents {
            let (next, charge) = try expired(intent, now: now, ids: ids)
            changes.append((next, intent))
            charges[intent.id] = charge
        }
        // Each failed attempt's `charge.failed` before its intent's `payment_intent.payment_failed`, as a decline
        let moved = try tx.update(
            changes,
            first: { intent in if let charge = charges[intent.id] { try tx.insert(charge) } },
            then: { _ in }
        )
        let code = LastPaymentError.attemptExpired(paymentMethod: nil).code
        tx.afterCommit { PaymentMetrics.attempt(.failed, declineCode: code, count: moved) }
        return moved
    }
}
