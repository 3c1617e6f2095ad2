import PaymentsCore

// MARK: - Confirm: 3-D Secure, then the issuer's verification

extension SetupIntents {
    /// The parameters of `POST /v1/setup_intents/:id/confirm`.
    public struct ConfirmInput: Sendable {
        public var paymentMethod: String?
        public var returnURL: String?

        /// Creates input.
        public init(paymentMethod: String? = nil, returnURL: String? = nil) {
            self.paymentMethod = paymentMethod
            self.returnURL = returnURL
        }
    }

    /// Confirms a setup intent: the card's 3-D Secure first (the customer is present at setup, so a card enrolled
    /// for it is challenged), then the issuer's verification of the card.
    ///
    /// - Returns: the setup intent in its new state: `requires_action` (with the challenge) or `succeeded`, its card
    ///   then attached to its customer and, for `off_session` usage, ready for off-session charges.
    /// - Throws: a 402 card error carrying the setup intent (back in `requires_payment_method`) when the issuer
    ///   declined the card; 400 when the status forbids a confirm or no payment method is known.
    public func confirm(_ id: String, _ input: ConfirmInput) async throws -> SetupIntent {
        try await attempt(id, input, newPaymentMethod: try await resolve(input.paymentMethod))
    }

    /// One attempt, in one write transaction that decides it and saves it with a compare-and-set, so of two racing
    /// confirms only one passes. With `creating`, the new setup intent (and `newCustomer`, its customer) is inserted
    /// in the same transaction.
    func attempt(
        _ id: String,
        _ input: ConfirmInput,
        newPaymentMethod: PaymentMethods.Resolved?,
        creating: SetupIntent? = nil,
        newCustomer: Customer? = nil
    ) async throws -> SetupIntent {
        let now = context.clock.now()
        let window = context.settings.confirmationWindow
        let (ids, network, vault) = (context.ids, context.network, context.vault)
        let (setup, declined, expiredOnly) = try await context.database.write {
            tx -> (SetupIntent, PaymentError?, Bool) in
            var setup: SetupIntent
            if var creating {
                // Create with confirm=true: the setup intent and its first attempt commit together.
                var newCustomer = newCustomer
                if newCustomer != nil, let resolved = newPaymentMethod,
                    try Self.declinesAtOnce(resolved, tx: tx, vault: vault, network: network)
                {
                    // A customer made for the card (the checkout's `/save-card`) is kept only with a card to keep:
                    // each declined try left an empty customer, and a shopper's retries (or a bot, the endpoint
                    // takes no key) filled the customer list with them
                    creating.customer = nil
                    newCustomer = nil
                }
                try Self.insert(creating, newCustomer: newCustomer, paymentMethod: newPaymentMethod, tx: tx)
                setup = creating
            } else if let found = try tx.setupIntent(id) {
                // A payment method made for a magic test id is stored with the attempt that first uses it.
                try newPaymentMethod?.store(in: tx)
                setup = found
            } else {
                throw Self.missing(id)
            }
            if setup.attemptIsDue(now: now), let expired = try Self.expireAttempt(setup, now: now, tx: tx) {
                // Past its confirmation window: that attempt failed, whether or not the sweeper got there first. The
                // expiry commits on its own, and the confirm runs again on the expired setup: in this transaction,
                // a confirm then refused (no payment method named, the attempt's own having gone with it) rolled
                // the expiry back, and the setup kept its dead challenge with no error said.
                return (expired, nil, true)
            }
            try SetupIntentStateMachine.check(.confirm, on: setup)
            if creating == nil { try PaymentIntents.requireLiveCustomer(setup.customer, tx: tx) }
            let original = setup.status
            if let url = input.returnURL { setup.returnURL = url }
            guard let pmID = newPaymentMethod?.paymentMethod.id ?? setup.paymentMethod,
                let paymentMethod = try tx.paymentMethod(pmID)
            else {
                if setup.lastSetupError?.code == "setup_intent_setup_attempt_expired" {
                    // Come after the challenge's window (this very request expired the attempt, or the sweeper did)
                    throw PaymentError.attemptExpired(setupIntent: id)
                }
                throw PaymentError(
                    kind: .invalidRequest,
                    code: "setup_intent_unexpected_state",
                    message: "You cannot confirm this SetupIntent because it's missing a payment method. Update the "
                        + "SetupIntent with a payment method or provide one in the `payment_method` parameter.",
                    param: "payment_method",
                    status: 400,
                    setupIntent: id
                )
            }
            try PaymentIntents.checkUsable(paymentMethod, customer: setup.customer, object: "SetupIntent")
            guard let card = try tx.cardNumber(of: paymentMethod.id, vault: vault) else {
                throw PaymentError.apiError("The card of \(paymentMethod.id) is missing from the vault.")
            }
            let behavior: ThreeDSecureBehavior =
                if case .known(let profile) = network.lookUp(card) { profile.threeDSecure } else {
                    .supportedNotRequired
                }
            let attempt = ids.setupAttempt()
            let next: SetupIntent
            switch ThreeDSecurePolicy.decide(
                behavior,
                offSession: false,
                offSessionReady: paymentMethod.offSessionReady,
                authenticated: false
            ) {
            case .challenge:
                next = try setup.apply(
                    .actionRequired(
                        paymentMethod: paymentMethod.id,
                        attempt: attempt,
                        token: ids.token(32),
                        returnURL: input.returnURL,
                        expiresAt: now + window
                    ),
                    now: now
                )
                tx.afterCommit { PaymentMetrics.challenge(.requested) }
            case .decline(let decline):
                let failure = PaymentIntents.lastError(decline, paymentMethod: paymentMethod.id, charge: nil)
                next = try setup.apply(.attemptFailed(failure, attempt: attempt), now: now)
            case .proceed:
                next = try Self.verify(
                    setup,
                    paymentMethod: paymentMethod,
                    card: card,
                    attempt: attempt,
                    now: now,
                    network: network,
                    tx: tx
                )
            }
            try Self.save(next, expecting: original, tx: tx)
            // A declined card is a 402 carrying the setup intent, once the failed attempt is committed.
            let failure = next.status == .requiresPaymentMethod ? next.lastSetupError : nil
            return (next, failure.map { Self.cardError($0, setup: next) }, false)
        }
        if expiredOnly { return try await attempt(id, input, newPaymentMethod: newPaymentMethod) }
        if let declined { throw declined }
        return setup
    }

    /// Whether an attempt to set up `resolved`'s card is declined before any challenge, by the card's own answer or
    /// by the issuer's verification (``verify(_:paymentMethod:card:attempt:now:network:tx:)``): both depend on the
    /// card alone.
    static func declinesAtOnce(
        _ resolved: PaymentMethods.Resolved,
        tx: any StoreTransaction,
        vault: CardVault,
        network: any CardNetwork
    ) throws -> Bool {
        guard let card = try resolved.number ?? tx.cardNumber(of: resolved.paymentMethod.id, vault: vault) else {
            return false
        }
        // As the attempt decides (below): a card the network does not know is taken as one that needs no challenge
        let behavior: ThreeDSecureBehavior =
            if case .known(let profile) = network.lookUp(card) { profile.threeDSecure } else { .supportedNotRequired }
        switch ThreeDSecurePolicy.decide(
            behavior,
            offSession: false,
            offSessionReady: resolved.paymentMethod.offSessionReady,
            authenticated: false
        ) {
        case .decline: return true
        case .challenge: return false
        case .proceed: return network.attachDecline(card, cvcProvided: resolved.paymentMethod.cvcCheck != nil) != nil
        }
    }

    /// The issuer's verification of a card being set up (its zero-amount check, the same one attaching it to a
    /// customer makes): a decline fails the attempt; otherwise the setup succeeds and the card is kept for later
    /// payments (``PaymentMethod/keep(for:usage:)``), attached to the setup's customer.
    ///
    /// The card and the customer are checked again first, for a setup the customer finishes on the 3-D Secure page:
    /// meanwhile the card may have been detached (it may never be used again), attached to another customer, or the
    /// setup's customer deleted. Any of these fails the attempt, and the card is left as it is. Before, the setup
    /// succeeded: a detached card came back on its customer ready for off-session charges, a card was moved from
    /// another customer, and a deleted customer's card was left ready for off-session charges without one.
    static func verify(
        _ setup: SetupIntent,
        paymentMethod: PaymentMethod,
        card: CardNumber,
        attempt: String,
        now: Int64,
        network: any CardNetwork,
        tx: any StoreTransaction
    ) throws -> SetupIntent {
        if let unusable = try unusable(paymentMethod, for: setup, tx: tx) {
            return try setup.apply(.attemptFailed(unusable, attempt: attempt), now: now)
        }
        if let declined = network.attachDecline(card, cvcProvided: paymentMethod.cvcCheck != nil) {
            let failure = PaymentIntents.lastError(declined, paymentMethod: paymentMethod.id, charge: nil)
            return try setup.apply(.attemptFailed(failure, attempt: attempt), now: now)
        }
        let next = try setup.apply(.setUp(paymentMethod: paymentMethod.id, attempt: attempt), now: now)
        var kept = paymentMethod
        kept.keep(for: setup.customer, usage: setup.usage)
        // The setup's verification at the issuer answers the card's checks, as Stripe's does
        if case .known(let profile) = network.lookUp(card) { kept.recordChecks(profile.checks) }
        if kept != paymentMethod { try tx.update(kept) }
        return next
    }

    /// Why `paymentMethod` can no longer be set up for `setup`'s customer (``PaymentIntents/checkUsable``, or the
    /// customer deleted), as the setup's `last_setup_error`; nil when it can.
    private static func unusable(
        _ paymentMethod: PaymentMethod,
        for setup: SetupIntent,
        tx: any StoreTransaction
    ) throws -> LastPaymentError? {
        if let customer = setup.customer, try tx.customer(customer)?.deleted != false {
            return LastPaymentError(
                type: .invalidRequest,
                code: "resource_missing",
                message: "No such customer: '\(customer)'. It was deleted while this SetupIntent was being "
                    + "confirmed, so the card was not saved.",
                param: "customer",
                paymentMethod: paymentMethod.id
            )
        }
        do {
            try PaymentIntents.checkUsable(paymentMethod, customer: setup.customer, object: "SetupIntent")
            return nil
        } catch {
            return LastPaymentError(
                type: .invalidRequest,
                code: error.code ?? "payment_method_unexpected_state",
                message: error.message,
                param: "payment_method",
                paymentMethod: paymentMethod.id
            )
        }
    }

    /// Expires a setup's attempt inside `tx`: it gets `setup_intent_setup_attempt_expired` and goes back to
    /// `requires_payment_method`. The sweeper's rule for setups, and a confirm or challenge answer that comes too late.
    /// - Returns: the new setup intent, or nil when its status changed since it was read (compare-and-set).
    static func expireAttempt(_ setup: SetupIntent, now: Int64, tx: any StoreTransaction) throws -> SetupIntent? {
        let next = try setup.apply(.attemptExpired, now: now)
        return try tx.update(next, expecting: setup.status) ? next : nil
    }

    /// The 402 that reports a declined setup, carrying the setup intent in its new state.
    static func cardError(_ failure: LastPaymentError, setup: SetupIntent) -> PaymentError {
        PaymentError(
            kind: .card,
            code: failure.code,
            declineCode: failure.declineCode,
            message: failure.message,
            param: failure.param,
            status: 402,
            paymentMethod: failure.paymentMethod,
            setupIntent: setup.id
        )
    }
}
