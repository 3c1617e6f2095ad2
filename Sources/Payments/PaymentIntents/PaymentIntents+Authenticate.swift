import PaymentsCore

// MARK: - 3-D Secure: the customer's answer to the challenge

extension PaymentIntents {
    /// The customer's answer on the challenge page.
    public enum AuthenticationOutcome: String, Sendable, CaseIterable {
        case complete
        case fail
    }

    /// The intent a challenge page belongs to, if `token` is its current challenge and its window is still open.
    /// A page opened after the window expires the attempt first (``expiringDueAttempt(_:)``): the intent then says
    /// what the page does, that the link is no longer valid.
    public func challenge(_ id: String, token: String) async throws -> PaymentIntent {
        let intent = try await context.database.read { tx in try tx.paymentIntent(id) }
        guard let intent, Self.isChallenge(token, of: intent), intent.status == .requiresAction else {
            throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
        }
        guard !Self.attemptIsDue(intent, now: context.clock.now()) else {
            _ = await expiringDueAttempt(intent)
            throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
        }
        return intent
    }

    /// Whether `token` is the intent's current challenge token.
    static func isChallenge(_ token: String, of intent: PaymentIntent) -> Bool {
        isChallenge(token, current: intent.authenticationToken)
    }

    /// Whether `token` is `current`, the challenge token of an intent or a setup, compared in constant time (the
    /// token is the page's only credential).
    static func isChallenge(_ token: String, current: String?) -> Bool {
        guard let current, !token.isEmpty else { return false }
        return ConstantTime.equals(current, token)
    }

    /// Records the customer's answer to the 3-D Secure challenge.
    ///
    /// After `complete`, a manual-confirmation intent waits in `requires_confirmation` for the server's second
    /// confirm (the seed's flow); an automatic one is authorized at once. After `fail`, the intent is
    /// `requires_payment_method` with `payment_intent_authentication_failure`, and the failed attempt is recorded.
    /// - Returns: the intent in its new state; a decline after authentication is not thrown but shown on it.
    public func authenticate(_ id: String, token: String, outcome: AuthenticationOutcome) async throws -> PaymentIntent
    {
        let now = context.clock.now()
        let ids = context.ids
        let plan = try await context.database.write { tx -> Plan in
            guard let intent = try tx.paymentIntent(id), Self.isChallenge(token, of: intent) else {
                throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
            }
            if Self.attemptIsDue(intent, now: now) {
                // Answered after the confirmation window: the attempt has failed, as the sweeper would record it.
                _ = try Self.expireAttempt(intent, now: now, ids: ids, tx: tx)
                return .expired
            }
            switch outcome {
            case .fail:
                var next = try intent.apply(.authenticationFailed, now: now)
                var charge = Charge.attempt(
                    id: ids.charge(),
                    for: intent,
                    paymentMethod: intent.paymentMethod,
                    at: now,
                    threeDSecure: "failed"
                )
                charge.fail(with: .authenticationFailure(paymentMethod: intent.paymentMethod), at: now)
                try tx.insert(charge)
                next.latestCharge = charge.id
                try Self.save(next, from: intent, tx: tx)
                tx.afterCommit { [code = charge.failureCode] in
                    PaymentMetrics.challenge(.failed)
                    PaymentMetrics.attempt(.failed, declineCode: code)
                }
                return .done(next)
            case .complete:
                let next = try intent.apply(.authenticationSucceeded, now: now)
                try Self.save(next, from: intent, tx: tx)
                tx.afterCommit { PaymentMetrics.challenge(.completed) }
                return .done(next)
            }
        }
        if case .expired = plan {
            throw PaymentError.resourceMissing("authentication challenge", id: id, param: nil, inURL: true)
        }
        guard case .done(let intent) = plan else { return try await carryOut(plan, scope: nil) }
        guard outcome == .complete, intent.confirmationMethod == .automatic, intent.status == .requiresAction else {
            return intent
        }
        // Automatic confirmation: Stripe authorizes as soon as the customer has authenticated.
        try await context.faults.reach(.afterAuthentication)
        var input = ConfirmInput(returnURL: intent.returnURL)
        input.continuesAuthentication = true
        do {
            return try await confirm(id, input)
        } catch let error as PaymentError where error.status == 402 {
            return try await retrieve(id)
        } catch let error as PaymentError where error.code == "payment_intent_unexpected_state" {
            // The server's own confirm (or a cancel) came between the answer's commit and this confirm: the
            // authentication stands, and the intent is wherever that request took it. The customer is told the
            // answer was recorded, not shown the confirm's refusal.
            return try await retrieve(id)
        } catch let error as PaymentError where Self.endsAuthenticatedAttempt(error) {
            return try await failAuthenticatedAttempt(id, error: error, now: now)
        }
    }

    /// The confirm refusals that end an attempt the customer authenticated, because its card or its customer changed
    /// while the challenge was open: the card detached (it may never be used again) or attached to another customer,
    /// or the customer deleted.
    static func endsAuthenticatedAttempt(_ error: PaymentError) -> Bool {
        guard error.status == 400, let code = error.code else { return false }
        return ["payment_method_unexpected_state", "payment_method_customer_mismatch", "resource_missing"]
            .contains(code)
    }

    /// Fails the attempt the customer authenticated with `error`, the confirm's refusal: the intent goes back to
    /// `requires_payment_method` with that error, as a setup in the same case does, and the challenge page shows
    /// the outcome. Before, the page answered the refusal as raw JSON, and the intent stayed in `requires_action`
    /// with no `next_action` and a spent link, until a cancel or the sweeper.
    /// - Returns: the intent as it is after: failed, or as another request left it (the failure is a
    ///   compare-and-set on the authenticated, unconfirmed intent).
    func failAuthenticatedAttempt(_ id: String, error: PaymentError, now: Int64) async throws -> PaymentIntent {
        try await context.database.write { tx in
            guard let intent = try tx.paymentIntent(id) else {
                throw PaymentError.resourceMissing("PaymentIntent", id: id, param: nil, inURL: true)
            }
            guard Self.awaitsAuthenticatedConfirm(intent) else { return intent }
            let failure = LastPaymentError(
                type: error.kind,
                code: error.code ?? "payment_method_unexpected_state",
                message: error.message,
                param: error.param,
                paymentMethod: intent.paymentMethod
            )
            let next = try intent.apply(.attemptFailed(failure), now: now)
            try Self.save(next, from: intent, tx: tx)
            return next
        }
    }
}
