/// A change that happens to a PaymentIntent; ``PaymentIntent/apply(_:now:)`` turns it into a new intent.
public enum PaymentIntentEvent: Sendable, Equatable {
    /// An authorization is about to be asked of the card network under `charge` (the recovery point).
    case authorizationStarted(charge: String, paymentMethod: String, offSession: Bool)
    /// The card needs 3-D Secure on-session: the customer must act before `expiresAt`.
    case actionRequired(paymentMethod: String, token: String, returnURL: String?, expiresAt: Int64)
    /// The network approved the in-flight authorization.
    case authorizationApproved
    /// The attempt failed (a decline, or authentication required off-session).
    case attemptFailed(LastPaymentError)
    /// The customer completed the 3-D Secure challenge.
    case authenticationSucceeded
    /// The customer failed or abandoned the 3-D Secure challenge.
    case authenticationFailed
    /// The confirmation window passed.
    case attemptExpired
    /// The merchant captured `amount` of the authorization.
    case captured(amount: Int64)
    /// The intent was canceled.
    case canceled(CancellationReason?)
}

extension PaymentIntentEvent {
    /// The state-machine operation this event belongs to.
    public var operation: PaymentIntentStateMachine.Operation {
        switch self {
        case .authorizationStarted, .actionRequired, .attemptFailed: .confirm
        case .authorizationApproved: .recordAuthorization
        case .authenticationSucceeded, .authenticationFailed: .authenticate
        case .attemptExpired: .expireAttempt
        case .captured: .capture
        case .canceled(.automatic): .expireAuthorization
        case .canceled: .cancel
        }
    }
}

extension PaymentIntent {
    /// Applies `event` at time `now` and returns the new intent.
    ///
    /// - Throws: `payment_intent_unexpected_state` when the intent's status does not allow the event.
    public func apply(_ event: PaymentIntentEvent, now: Int64) throws(PaymentError) -> PaymentIntent {
        var next = self
        switch event {
        case .attemptFailed where status == .processing:
            break  // the network declined the in-flight authorization
        default:
            try PaymentIntentStateMachine.check(event.operation, on: self)
        }
        switch event {
        case .authorizationStarted(let charge, let paymentMethod, let offSession):
            next.status = .processing
            next.paymentMethod = paymentMethod
            next.latestCharge = charge
            next.offSession = offSession
            next.lastPaymentError = nil
            next.authenticationToken = nil
            next.attemptExpiresAt = nil
        case .actionRequired(let paymentMethod, let token, let returnURL, let expiresAt):
            next.status = .requiresAction
            next.paymentMethod = paymentMethod
            next.authenticationToken = token
            next.returnURL = returnURL ?? self.returnURL
            next.attemptExpiresAt = expiresAt
            next.lastPaymentError = nil
            next.offSession = false
        case .authorizationApproved:
            next.authorizedAt = now
            if captureMethod == .manual {
                next.status = .requiresCapture
                next.amountCapturable = amount
            } else {
                next.status = .succeeded
                next.amountReceived = amount
                next.succeededAt = now
            }
        case .attemptFailed(let error):
            next.fail(with: error)
        case .authenticationSucceeded:
            next.authenticatedPaymentMethod = paymentMethod
            next.authenticationToken = nil
            // A manual-confirmation intent waits for the server's second confirm; an automatic one is authorized
            // at once by the caller, which applies `authorizationStarted` from here.
            if confirmationMethod == .manual { next.status = .requiresConfirmation }
        case .authenticationFailed:
            next.fail(with: .authenticationFailure(paymentMethod: paymentMethod))
        case .attemptExpired:
            next.fail(with: .attemptExpired(paymentMethod: paymentMethod))
        case .captured(let captured):
            next.status = .succeeded
            next.amountReceived = captured
            next.amountCapturable = 0
            next.succeededAt = now
        case .canceled(let reason):
            next.status = .canceled
            next.canceledAt = now
            next.cancellationReason = reason
            next.amountCapturable = 0
            next.authenticationToken = nil
            next.attemptExpiresAt = nil
        }
        // Out of `requires_capture`, no capture or release is awaited any more: whichever was asked, the network's
        // answer is what this change records
        if next.status != .requiresCapture { next.settling = nil }
        return next
    }

    /// Moves the intent back to `requires_payment_method` with the attempt's error, as Stripe does: the payment
    /// method is cleared and lives on only in `last_payment_error`.
    private mutating func fail(with error: LastPaymentError) {
        status = .requiresPaymentMethod
        lastPaymentError = error
        paymentMethod = nil
        authenticatedPaymentMethod = nil
        authenticationToken = nil
        attemptExpiresAt = nil
        offSession = false
    }
}
