/// A change that happens to a SetupIntent; ``SetupIntent/apply(_:now:)`` turns it into a new setup intent.
public enum SetupIntentEvent: Sendable, Equatable {
    /// The card needs 3-D Secure: the customer must complete the challenge behind `token` before `expiresAt`.
    case actionRequired(paymentMethod: String, attempt: String, token: String, returnURL: String?, expiresAt: Int64)
    /// The issuer verified the card (at once, or after the customer authenticated): it is set up.
    case setUp(paymentMethod: String, attempt: String)
    /// The attempt failed: the issuer declined the card, or 3-D Secure failed before any challenge.
    case attemptFailed(LastPaymentError, attempt: String)
    /// The customer failed or abandoned the 3-D Secure challenge.
    case authenticationFailed
    /// The confirmation window passed before the customer answered the challenge.
    case attemptExpired
    /// The setup intent was canceled.
    case canceled(SetupIntentCancellationReason?)
}

extension SetupIntentEvent {
    /// The state-machine operation this event belongs to.
    public var operation: SetupIntentStateMachine.Operation {
        switch self {
        // A setup completed after authentication comes from `requires_action`, which confirm allows too.
        case .actionRequired, .setUp, .attemptFailed: .confirm
        case .authenticationFailed: .authenticate
        case .attemptExpired: .expireAttempt
        case .canceled: .cancel
        }
    }
}

extension SetupIntent {
    /// Applies `event` at time `now` and returns the new setup intent.
    ///
    /// - Throws: `setup_intent_unexpected_state` when the status does not allow the event.
    public func apply(_ event: SetupIntentEvent, now: Int64) throws(PaymentError) -> SetupIntent {
        try SetupIntentStateMachine.check(event.operation, on: self)
        var next = self
        switch event {
        case .actionRequired(let paymentMethod, let attempt, let token, let returnURL, let expiresAt):
            next.status = .requiresAction
            next.paymentMethod = paymentMethod
            next.latestAttempt = attempt
            next.authenticationToken = token
            next.returnURL = returnURL ?? self.returnURL
            next.attemptExpiresAt = expiresAt
            next.lastSetupError = nil
        case .setUp(let paymentMethod, let attempt):
            next.status = .succeeded
            next.paymentMethod = paymentMethod
            next.latestAttempt = attempt
            next.lastSetupError = nil
            next.authenticationToken = nil
            next.attemptExpiresAt = nil
            next.succeededAt = now
        case .attemptFailed(let error, let attempt):
            next.latestAttempt = attempt
            next.fail(with: error)
        case .authenticationFailed:
            next.fail(with: .setupAuthenticationFailure(paymentMethod: paymentMethod))
        case .attemptExpired:
            next.fail(with: .setupAttemptExpired(paymentMethod: paymentMethod))
        case .canceled(let reason):
            next.status = .canceled
            next.canceledAt = now
            next.cancellationReason = reason
            next.authenticationToken = nil
            next.attemptExpiresAt = nil
        }
        return next
    }

    /// Moves the setup intent back to `requires_payment_method` with the attempt's error, as Stripe does: the
    /// payment method is cleared and lives on only in `last_setup_error`.
    private mutating func fail(with error: LastPaymentError) {
        status = .requiresPaymentMethod
        lastSetupError = error
        paymentMethod = nil
        authenticationToken = nil
        attemptExpiresAt = nil
    }

    /// Whether the attempt waiting for the customer's challenge answer outlived its confirmation window at `now`.
    public func attemptIsDue(now: Int64) -> Bool {
        guard status == .requiresAction, let attemptExpiresAt else { return false }
        return attemptExpiresAt <= now
    }
}
