import PaymentsCore

// MARK: - Captures and releases asked of the network, recorded even after a crash

extension PaymentIntents {
    /// Records on the intent, before the network is asked, the capture or release `request` of its authorization
    /// `chargeID` (``PaymentIntent/settling``): one more commit per capture or cancel, so that a process that dies
    /// between the network's answer and its record leaves the sweeper what to ask again.
    /// - Throws: `payment_intent_unexpected_state` when the intent no longer holds that authorization.
    func requestSettlement(
        _ id: String,
        charge chargeID: String,
        _ request: SettlementRequest,
        for operation: PaymentIntentStateMachine.Operation
    ) async throws {
        try await context.database.write { tx in
            guard var current = try tx.paymentIntent(id) else {
                throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
            }
            guard current.status == .requiresCapture, current.latestCharge == chargeID else {
                throw PaymentIntentStateMachine.unexpectedState(operation, intent: current)
            }
            current.settling = request
            guard try tx.update(current, expecting: .requiresCapture) else {
                throw PaymentIntentStateMachine.unexpectedState(operation, intent: current)
            }
        }
    }

    /// Completes the capture or release `intent` awaits (``PaymentIntent/settling``), which its request never
    /// recorded: asks the network again under the request's reference (the network answers with what it did, and
    /// does it now if it never heard of it, as the request asked) and records the answer, with the capture's metadata
    /// and descriptors, or the cancel's reason. Another request's capture or release that came first at the network
    /// is recorded as that one.
    /// - Returns: the intent as it now is.
    func settle(_ intent: PaymentIntent) async throws -> PaymentIntent {
        guard let request = intent.settling, intent.status == .requiresCapture, let chargeID = intent.latestCharge
        else { return intent }
        let now = context.clock.now()
        switch request.operation {
        case .capture:
            let amount = request.amount ?? intent.amountCapturable
            guard
                let taken = try await context.network.capture(
                    attemptID: chargeID,
                    amount: amount,
                    reference: request.reference
                )
            else {
                return try await recordAtNetwork(intent.id, charge: chargeID, captured: nil, now: now)
            }
            guard taken.isTaken(by: request.reference, amount: amount) else {
                return try await recordAtNetwork(intent.id, charge: chargeID, captured: taken.amount, now: now)
            }
            let descriptors = StatementDescriptors(
                statementDescriptor: request.statementDescriptor,
                suffix: request.statementDescriptorSuffix
            )
            return try await recordCapture(
                intent.id,
                charge: chargeID,
                captured: taken.amount,
                request.metadata,
                descriptors,
                nil,
                now
            )
        case .release:
            let release = try await context.network.void(attemptID: chargeID, reference: request.reference)
            switch release {
            case _ where release.isReleased(by: request.reference):
                return try await recordAtNetwork(
                    intent.id,
                    charge: chargeID,
                    captured: nil,
                    reason: request.reason,
                    now: now
                )
            case .released:
                return try await recordAtNetwork(intent.id, charge: chargeID, captured: nil, now: now)
            case .capturedFirst:
                // A capture took the authorization first: the amount it holds is what the network answers for it
                let amount = try await context.network.capture(attemptID: chargeID, amount: intent.amountCapturable)
                return try await recordAtNetwork(intent.id, charge: chargeID, captured: amount, now: now)
            }
        }
    }
}
