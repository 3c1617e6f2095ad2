import PaymentsCore

// MARK: - 3-D Secure: the customer's answer to the challenge

extension SetupIntents {
    /// Whether `id` names a setup intent (rather than a PaymentIntent), as the challenge page's URL does.
    public static func isSetupIntentID(_ id: String) -> Bool { id.hasPrefix("seti_") }

    /// The setup intent a challenge page belongs to, if `token` is its current challenge and its window is still
    /// open.
    public func challenge(_ id: String, token: String) async throws -> SetupIntent {
        let setup = try await context.database.read { tx in try tx.setupIntent(id) }
        guard let setup, PaymentIntents.isChallenge(token, current: setup.authenticationToken),
            setup.status == .requiresAction, !setup.attemptIsDue(now: context.clock.now())
        else {
            throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
        }
        return setup
    }

    /// Records the customer's answer to the 3-D Secure challenge of a setup.
    ///
    /// After `complete` the issuer verifies the card and the setup succeeds (the card saved) or fails with the
    /// issuer's decline; after `fail` it is `requires_payment_method` with `setup_intent_authentication_failure`.
    /// - Returns: the setup intent in its new state; a decline is not thrown but shown on it, as for payments.
    public func authenticate(_ id: String, token: String, outcome: PaymentIntents.AuthenticationOutcome)
        async throws -> SetupIntent
    {
        let now = context.clock.now()
        let (ids, network, vault) = (context.ids, context.network, context.vault)
        let answered = try await context.database.write { tx -> SetupIntent? in
            guard let setup = try tx.setupIntent(id),
                PaymentIntents.isChallenge(token, current: setup.authenticationToken)
            else {
                throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
            }
            try SetupIntentStateMachine.check(.authenticate, on: setup)
            if setup.attemptIsDue(now: now) {
                // Answered after the confirmation window: the attempt has failed, as the sweeper would record it.
                _ = try Self.expireAttempt(setup, now: now, tx: tx)
                return nil
            }
            let next: SetupIntent
            switch outcome {
            case .fail:
                next = try setup.apply(.authenticationFailed, now: now)
                tx.afterCommit { PaymentMetrics.challenge(.failed) }
            case .complete:
                tx.afterCommit { PaymentMetrics.challenge(.completed) }
                guard let pmID = setup.paymentMethod, let paymentMethod = try tx.paymentMethod(pmID),
                    let card = try tx.cardNumber(of: pmID, vault: vault)
                else {
                    throw PaymentError.apiError("The card of setup intent \(id) is missing.")
                }
                next = try Self.verify(
                    setup,
                    paymentMethod: paymentMethod,
                    card: card,
                    attempt: setup.latestAttempt ?? ids.setupAttempt(),
                    now: now,
                    network: network,
                    tx: tx
                )
            }
            try Self.save(next, expecting: setup.status, tx: tx)
            return next
        }
        guard let answered else {
            throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
        }
        return answered
    }
}
