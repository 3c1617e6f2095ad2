import PaymentsCore

// MARK: - Recovery: settling attempts a crash left pending

extension PaymentIntents {
    /// Settles a pending charge left by a crash: asks the network again with the same attempt id.
    /// - Returns: the intent in its settled state, and the card error when the attempt was declined.
    /// - Throws: ``AttemptInFlight`` without a `scope` (the sweeper, start-up recovery) when another task of this
    ///   process is settling the attempt already; a request's retry (with its `scope`) waits for that task instead,
    ///   then answers with the outcome it recorded.
    public func recover(charge chargeID: String, scope: IdempotencyScope? = nil) async throws -> (
        PaymentIntent, PaymentError?
    ) {
        let vault = context.vault
        let plan = try await context.database.read { tx in try Self.recoveryPlan(charge: chargeID, tx: tx, vault: vault)
        }
        switch plan {
        case .authorize(let request, _):
            guard context.attempts.begin(chargeID) else {
                // The sweeper and start-up recovery each read the pending attempts, then settle them: one of them (or
                // the request itself) began this one in between. It is that task's; no failure to log.
                guard scope != nil else { throw AttemptInFlight(charge: chargeID) }
                // A keyed retry that found its attempt being settled: by start-up recovery or the sweeper after a
                // restart, or by the request whose key it took over. That task answers soon (its network call is
                // limited in time); then this retry answers with the outcome it recorded, or settles the attempt
                // itself if it could not. It answered a 400 `payment_intent_unexpected_state` before, which the
                // libraries do not retry, for a payment that went on to succeed.
                await context.attempts.waitUntilEnded(chargeID)
                return try await recover(charge: chargeID, scope: scope)
            }
            return try await authorize(request, scope: scope)
        case .expired:
            throw PaymentError.apiError("The attempt \(chargeID) cannot be settled.")
        case .done(let intent), .failed(let intent, _):
            // Already settled (by start-up recovery, say): answer with that outcome, and save it for the key.
            let error: PaymentError? = if case .failed(_, let error) = plan { error } else { nil }
            if let scope {
                try await context.database.write { tx in
                    let current = try tx.paymentIntent(intent.id) ?? intent
                    try scope.finish(tx, intent: current, error: error)
                }
            }
            return (intent, error)
        }
    }

    /// The pending charges no task of this process is waiting on: what a crash left behind.
    /// - Parameter limit: at most this many, oldest first.
    public func orphanedAttempts(limit: Int = 1000) async throws -> [String] {
        let pending = try await context.database.read { tx in
            try tx.pendingChargesDue(createdAtOrBefore: .max, after: .start, limit: limit).map(\.charge)
        }
        return pending.filter { !context.attempts.contains($0) }
    }

    /// What to do about a charge that may have been left pending: ask the network again (the same attempt id, so
    /// never a second charge), or answer with the outcome it already has.
    static func recoveryPlan(charge chargeID: String, tx: any StoreTransaction, vault: CardVault) throws -> Plan {
        guard let charge = try tx.charge(chargeID), let intent = try tx.paymentIntent(charge.paymentIntent) else {
            throw PaymentError.apiError("The attempt \(chargeID) is missing.")
        }
        guard charge.status == .pending else {
            if let error = outcomeError(of: charge, intent: intent) { return .failed(intent, error) }
            return .done(intent)
        }
        guard let pmID = charge.paymentMethod, let paymentMethod = try tx.paymentMethod(pmID),
            let card = try tx.cardNumber(of: pmID, vault: vault)
        else {
            throw PaymentError.apiError("The card of attempt \(chargeID) is missing from the vault.")
        }
        return .authorize(try request(for: charge, paymentMethod: paymentMethod, card: card))
    }
}

/// A pending attempt another task of this process began settling (start-up recovery, the sweeper, or its own
/// request) after the caller read it as pending: the caller leaves it to that task.
public struct AttemptInFlight: Error, Sendable, Equatable {
    /// The attempt's charge id.
    public let charge: String

    /// Names the attempt left to the task settling it.
    public init(charge: String) { self.charge = charge }
}
