import Logging
import PaymentsCore

// MARK: - Confirm: the atomic phases

extension PaymentIntents {
    /// The parameters of `POST /v1/payment_intents/:id/confirm`.
    public struct ConfirmInput: Sendable {
        public var paymentMethod: String?
        public var offSession: Bool?
        public var returnURL: String?
        public var errorOnRequiresAction: Bool
        public var setupFutureUsage: SetupFutureUsage??
        public var captureMethod: CaptureMethod?
        public var receiptEmail: String?
        /// The shipping this attempt's charge copies, replacing the intent's whole; `.some(nil)` unsets it.
        public var shipping: Shipping??
        /// This confirm carries on the attempt a customer has just authenticated (an automatic-confirmation
        /// intent's challenge completed): it goes on only from the state that completion left, never from one
        /// another request made meanwhile (see ``PaymentIntents/authenticate(_:token:outcome:)``).
        var continuesAuthentication = false

        /// Creates input.
        public init(
            paymentMethod: String? = nil,
            offSession: Bool? = nil,
            returnURL: String? = nil,
            errorOnRequiresAction: Bool = false,
            setupFutureUsage: SetupFutureUsage?? = nil,
            captureMethod: CaptureMethod? = nil,
            receiptEmail: String? = nil,
            shipping: Shipping?? = nil
        ) {
            self.paymentMethod = paymentMethod
            self.offSession = offSession
            self.returnURL = returnURL
            self.errorOnRequiresAction = errorOnRequiresAction
            self.setupFutureUsage = setupFutureUsage
            self.captureMethod = captureMethod
            self.receiptEmail = receiptEmail
            self.shipping = shipping
        }
    }

    /// What the first phase decided.
    enum Plan: Sendable {
        /// Nothing to ask the network: the intent is in its new state (`requires_action`, or already settled).
        case done(PaymentIntent)
        /// The attempt failed without reaching the network (authentication required off-session, ...).
        case failed(PaymentIntent, PaymentError)
        /// A pending charge was recorded; ask the network. `recorded` is what phase one wrote, when it was this
        /// phase one (not a crash's leftover that a retry picks up).
        case authorize(AuthorizationRequest, recorded: RecordedAttempt? = nil)
        /// The intent's attempt had outlived its confirmation window: it was expired (and committed) as the sweeper
        /// would have, and the confirm must be decided again on the intent's new state.
        case expired
    }

    /// The intent and the pending charge as phase one wrote them: phase three expects to find them so.
    struct RecordedAttempt: Sendable {
        let intent: PaymentIntent
        let charge: Charge
    }

    /// Confirms an intent: decides on 3-D Secure, and when money may move, authorizes in three phases.
    ///
    /// 1. One transaction checks the status, records a `pending` charge (the attempt id) and moves the intent to
    ///    `processing` with a compare-and-set, so of two racing confirms only one passes.
    /// 2. The card network is asked outside any transaction, with the charge id as its idempotency reference.
    /// 3. One transaction records the network's answer on the charge and the intent together.
    ///
    /// A crash between 1 and 3 leaves a pending charge; ``recover(charge:)`` settles it by asking the network
    /// again with the same id, which never charges twice.
    ///
    /// - Returns: the intent in its new state (`succeeded`, `requires_capture` or `requires_action`).
    /// - Throws: a 402 card error carrying the intent when the attempt failed; 400 when the status forbids it.
    public func confirm(_ id: String, _ input: ConfirmInput, scope: IdempotencyScope? = nil) async throws
        -> PaymentIntent
    {
        if let charge = scope?.resumeCharge {
            // A previous try of this very request recorded an attempt and died: settle that attempt.
            let (intent, error) = try await recover(charge: charge, scope: scope)
            if let error { throw error }
            return intent
        }
        var paymentMethod: PaymentMethods.Resolved?
        if let pmID = input.paymentMethod {
            paymentMethod = try await paymentMethods.resolveForPayment(pmID, param: "payment_method")
        }
        var plan: Plan
        do {
            plan = try await begin(id, input: input, newPaymentMethod: paymentMethod, scope: scope)
            if case .expired = plan {
                plan = try await begin(id, input: input, newPaymentMethod: paymentMethod, scope: scope)
            }
        } catch let other as OthersAttempt {
            // Another request's attempt in flight, not this one's: it is settled as that request asked (its outcome
            // is that request's to answer), and this confirm is refused as the race's loser is in one process.
            _ = try? await recover(charge: other.charge)
            // Not "a status of processing": the intent the error carries is read after the settling, and shows the
            // other request's outcome
            throw PaymentError.unexpectedState(
                "This PaymentIntent was being confirmed by another request at the same time, with another payment "
                    + "method or other parameters than this request's, so this request changed nothing. Retrieve the "
                    + "PaymentIntent to see that request's outcome.",
                paymentIntent: other.seen.id
            )
        }
        return try await carryOut(plan, scope: scope)
    }

    /// A confirm found an attempt in flight that another request began, with other parameters than its own
    /// (``attemptAnswers(_:newPaymentMethod:charge:intent:tx:)``).
    struct OthersAttempt: Error {
        /// The attempt's charge.
        let charge: String
        /// The intent as the confirm found it (`processing`).
        let seen: PaymentIntent
    }

    /// Whether the attempt `charge` in flight is what `input` asks for, so that the confirm may answer its outcome:
    /// the same card (the payment method named, or a test id's card of the same number; no card named only when the
    /// attempt's own request named none) and no field the attempt did not set. A crash's leftover retried as it was
    /// sent is settled and answered; a confirm that raced it from another process with another card (or another
    /// receipt email, capture method, ...) answered the other card's outcome as its own, a 200 for a card it never
    /// sent or a decline of a card it never sent.
    static func attemptAnswers(
        _ input: ConfirmInput,
        newPaymentMethod: PaymentMethods.Resolved?,
        charge: String,
        intent: PaymentIntent,
        tx: any StoreTransaction
    ) throws -> Bool {
        guard let attempt = try tx.charge(charge) else { return false }
        if newPaymentMethod == nil, attempt.namedPaymentMethod == true {
            // The attempt's request named its card, and this one names none: not its retry (which names the card
            // again) but another request, which must not answer a card it never sent. Phase one gave the intent the
            // attempt's card, so the intent's card cannot tell them apart. An attempt stored before this was kept
            // (nil) is answered as before.
            return false
        }
        if let asked = newPaymentMethod?.paymentMethod {
            guard let attempted = attempt.paymentMethod else { return false }
            if newPaymentMethod?.unsaved != nil {
                // A test id's card is made anew for each request that names it: compared by its number's fingerprint
                guard try tx.paymentMethod(attempted)?.fingerprint == asked.fingerprint else { return false }
            } else if asked.id != attempted {
                return false
            }
        }
        if let email = input.receiptEmail, email != intent.receiptEmail { return false }
        if let method = input.captureMethod, method != intent.captureMethod { return false }
        if let usage = input.setupFutureUsage, usage != intent.setupFutureUsage { return false }
        if let shipping = input.shipping, shipping != intent.shipping { return false }
        if let url = input.returnURL, url != intent.returnURL { return false }
        return true
    }

    /// Runs what phase one decided, and throws the attempt's card error when it failed.
    func carryOut(_ plan: Plan, scope: IdempotencyScope?) async throws -> PaymentIntent {
        switch plan {
        case .done(let intent):
            return intent
        case .failed(_, let error):
            throw error
        case .authorize(let request, let recorded):
            let (intent, error) = try await authorize(request, recorded: recorded, scope: scope)
            if let error { throw error }
            return intent
        case .expired:
            throw PaymentError.apiError("The attempt expired while it was being confirmed; retry the request.")
        }
    }

    /// Phase one: one write transaction that decides what the attempt does and records it.
    ///
    /// An attempt it claims in the process's ``AttemptRegistry`` is claimed inside the transaction (so a racing
    /// confirm of this process sees it taken the moment it can see the `processing` status) and released again if
    /// the transaction rolls back.
    func begin(
        _ id: String,
        input: ConfirmInput,
        newPaymentMethod: PaymentMethods.Resolved?,
        scope: IdempotencyScope?,
        creating: PaymentIntent? = nil
    ) async throws -> Plan {
        let now = context.clock.now()
        let window = context.settings.confirmationWindow
        let ids = context.ids
        let attempts = context.attempts
        let (network, vault) = (context.network, context.vault)
        let plan = try await context.writeNaming(paymentIntent: id, keyed: scope != nil) { tx -> Plan in
            // A payment method made for a magic test id is stored with the attempt that first uses it. An intent
            // created with confirm=true commits with its first attempt (one commit fewer; no `intentCreated` mark:
            // this transaction ends the key's part either way, with the attempt's mark or the saved response, each
            // naming the intent). Both are inserted once the attempt is decided, in their state after it: one
            // insert each instead of an insert and an update (see `saveMethod` and `saveIntent` below). A new
            // payment method cannot be stored yet, so nothing reads whether it is: its id was made for this
            // request, and the only phase one that runs again is one that answered `.expired`, storing nothing.
            let newMethod = newPaymentMethod?.unsaved != nil ? newPaymentMethod : nil
            // The intent before this attempt, as stored or as created: the state its events are recorded from.
            let stored: PaymentIntent
            if let creating {
                stored = creating
            } else if let found = try tx.paymentIntent(id) {
                stored = found
            } else {
                throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
            }
            // The intent's row as this transaction last wrote or read it; nil while a new intent is not inserted.
            var row: PaymentIntent? = creating == nil ? stored : nil
            /// Writes the intent as `next`: inserts a new one (with its `created` events), else saves over `row`.
            func saveIntent(_ next: PaymentIntent) throws {
                if let row {
                    try Self.save(next, from: row, tx: tx)
                } else {
                    try tx.insert(next, createdAs: stored)
                }
                row = next
            }
            var intent = stored
            // The automatic confirm right after the customer's answer, which was accepted inside the window in its own
            // transaction: the window closing in between does not undo it. An answer a few milliseconds before the
            // window's end was told "Authentication complete" and the payment then expired, nothing charged.
            let continuing = input.continuesAuthentication && Self.awaitsAuthenticatedConfirm(intent)
            if creating == nil, !continuing, Self.attemptIsDue(intent, now: now) {
                // Past its confirmation window: the attempt failed, whether or not the sweeper got there first.
                guard try Self.expireAttempt(intent, now: now, ids: ids, tx: tx) else {
                    throw PaymentIntentStateMachine.unexpectedState(.confirm, intent: intent)
                }
                return .expired
            }
            if input.continuesAuthentication, !continuing {
                // Another request came between the customer's answer and this confirm: an update that swapped the
                // card or the amount (its 200 said `requires_confirmation`), a cancel, the server's own confirm.
                // What the customer authenticated is not what the intent holds now, so nothing is charged here;
                // the intent stays as that request left it.
                return .done(intent)
            }
            if creating == nil, intent.status == .processing, let pending = intent.latestCharge {
                // Claim the attempt atomically: if a task of this process holds it, this confirm lost the race.
                guard attempts.begin(pending) else {
                    throw PaymentIntentStateMachine.unexpectedState(.confirm, intent: intent)
                }
                tx.onRollback { attempts.end(pending) }
                // Left by a crash or another process: settle it rather than start a second attempt, and answer its
                // outcome only when it is what this confirm asks for (rolled back, the claim is released for that)
                guard
                    try Self.attemptAnswers(
                        input,
                        newPaymentMethod: newPaymentMethod,
                        charge: pending,
                        intent: intent,
                        tx: tx
                    )
                else { throw OthersAttempt(charge: pending, seen: intent) }
                let plan = try Self.recoveryPlan(charge: pending, tx: tx, vault: vault)
                try scope?.mark(tx, .attemptRecorded, intent: intent.id, charge: pending)
                return plan
            }
            try PaymentIntentStateMachine.check(.confirm, on: intent)
            if creating == nil { try Self.requireLiveCustomer(intent.customer, tx: tx) }
            if let usage = input.setupFutureUsage { intent.setupFutureUsage = usage }
            if input.offSession == true, intent.setupFutureUsage != nil {
                // Stripe's refusal: saving a card for later needs the customer there for what saving may ask. It was
                // taken, and an off-session charge saved a new card to the customer without them.
                throw PaymentError.invalidRequest(
                    "You cannot confirm with the `off_session` parameter when `setup_future_usage` is also set on the "
                        + "PaymentIntent because you cannot set up future usages when processing payments off-session.",
                    code: "parameters_exclusive",
                    param: "off_session"
                )
            }
            if let method = input.captureMethod { intent.captureMethod = method }
            if let email = input.receiptEmail { intent.receiptEmail = email }
            if let shipping = input.shipping { intent.shipping = shipping }
            if let url = input.returnURL { intent.returnURL = url }
            // A payment method this transaction stores is the one in hand; any other is read.
            guard let pmID = newPaymentMethod?.paymentMethod.id ?? intent.paymentMethod,
                let storedMethod = try newMethod?.paymentMethod ?? tx.paymentMethod(pmID)
            else {
                if intent.lastPaymentError?.code == "payment_intent_payment_attempt_expired" {
                    // The confirm the seed's client sends after the challenge, come too late (this very request
                    // expired the attempt, or the sweeper did)
                    throw PaymentError.attemptExpired(paymentIntent: intent.id)
                }
                var missing = PaymentError.invalidRequest(
                    "You cannot confirm this PaymentIntent because it's missing a payment method. To confirm the "
                        + "PaymentIntent\(creating == nil ? " with \(id)" : ""), specify a payment method attached to "
                        + "this PaymentIntent's customer or provide a payment method in the `payment_method` parameter.",
                    code: "payment_intent_unexpected_state",
                    param: "payment_method"
                )
                // The stored intent rides along, as with every other refusal of its state (none was made on create)
                if creating == nil { missing.paymentIntent = intent.id }
                throw missing
            }
            var paymentMethod = storedMethod
            /// Writes the payment method as `method`, before the intent and the charge that refer to it: inserts a
            /// new one, else saves it if the attempt changed it.
            func saveMethod(_ method: PaymentMethod) throws {
                if let newMethod, let sealed = newMethod.unsaved {
                    try tx.insert(method, card: sealed, createdAs: newMethod.paymentMethod)
                } else if method != storedMethod {
                    try tx.update(method, from: storedMethod)
                }
            }
            try Self.checkUsable(paymentMethod, customer: intent.customer)
            guard let card = try newMethod?.number ?? tx.cardNumber(of: paymentMethod.id, vault: vault) else {
                throw PaymentError.apiError("The card of \(paymentMethod.id) is missing from the vault.")
            }
            let offSession = input.offSession ?? false
            let profile: CardProfile? = if case .known(let profile) = network.lookUp(card) { profile } else { nil }
            let authenticated = intent.authenticatedPaymentMethod == paymentMethod.id
            let decision = ThreeDSecurePolicy.decide(
                profile?.threeDSecure ?? .supportedNotRequired,
                offSession: offSession,
                offSessionReady: paymentMethod.offSessionReady,
                authenticated: authenticated
            )
            /// A new attempt of this confirm, as its charge.
            func newAttempt(threeDSecure: String? = nil) -> Charge {
                var charge = Charge.attempt(
                    id: ids.charge(),
                    for: intent,
                    paymentMethod: paymentMethod.id,
                    at: now,
                    offSession: offSession,
                    threeDSecure: threeDSecure
                )
                // What a confirm that finds this attempt in flight reads to tell this request's retry from another
                charge.namedPaymentMethod = newPaymentMethod != nil
                return charge
            }
            /// Records an attempt that failed before the network (`charge`, failed with `failure`) and the intent's
            /// failure, and answers the 402. The failed charge refers to the intent, and its event comes before the
            /// intent's failure (Stripe's order): a new intent is inserted as created first.
            func recordFailed(_ charge: Charge, _ failure: LastPaymentError) throws -> Plan {
                try saveMethod(paymentMethod)
                if row == nil { try saveIntent(stored) }
                try tx.insert(charge)
                var next = try intent.apply(.attemptFailed(failure), now: now)
                next.latestCharge = charge.id
                try saveIntent(next)
                let error = Self.cardError(failure, intent: next)
                try scope?.finish(tx, intent: next, error: error)
                return .failed(next, error)
            }
            switch decision {
            case .challenge where input.errorOnRequiresAction:
                // The attempt fails before the network, as a failed 3-D Secure one does, and is recorded as a failed
                // charge as that one is: `report_declines` counts it under its code
                var charge = newAttempt()
                let failure = LastPaymentError(
                    type: .card,
                    code: "payment_intent_action_required",
                    message: "This payment required an action that could not be performed because "
                        + "error_on_requires_action was set.",
                    paymentMethod: paymentMethod.id,
                    charge: charge.id
                )
                charge.fail(with: failure, at: now)
                tx.afterCommit { PaymentMetrics.attempt(.failed, declineCode: failure.code) }
                return try recordFailed(charge, failure)
            case .challenge:
                let next = try intent.apply(
                    .actionRequired(
                        paymentMethod: paymentMethod.id,
                        token: ids.token(32),
                        returnURL: input.returnURL,
                        expiresAt: now + window
                    ),
                    now: now
                )
                try saveMethod(paymentMethod)
                try saveIntent(next)
                try scope?.finish(tx, intent: next, error: nil)
                tx.afterCommit { PaymentMetrics.challenge(.requested) }
                return .done(next)
            case .decline(let decline):
                var charge = newAttempt()
                if let profile {
                    charge.assess(profile, paymentMethod: paymentMethod)
                    paymentMethod.recordChecks(profile.checks, cvcSent: charge.cvcSent(with: paymentMethod))
                }
                charge.fail(with: decline, at: now)
                tx.afterCommit { PaymentMetrics.attempt(.declined, declineCode: decline.declineCode ?? decline.code) }
                return try recordFailed(
                    charge,
                    Self.lastError(decline, paymentMethod: paymentMethod.id, charge: charge.id)
                )
            case .proceed:
                var charge = newAttempt(threeDSecure: authenticated ? "authenticated" : nil)
                if let profile {
                    // The issuer's answers to the card's data, on the charge and, the first time, on the card
                    charge.assess(profile, paymentMethod: paymentMethod)
                    paymentMethod.recordChecks(profile.checks, cvcSent: charge.cvcSent(with: paymentMethod))
                }
                let next = try intent.apply(
                    .authorizationStarted(charge: charge.id, paymentMethod: paymentMethod.id, offSession: offSession),
                    now: now
                )
                if paymentMethod.customer == nil && intent.setupFutureUsage == nil && paymentMethod.reusable {
                    // A payment method without a customer is single-use from its first attempt, as Stripe.
                    paymentMethod.reusable = false
                }
                try saveMethod(paymentMethod)
                try saveIntent(next)
                try tx.insert(charge)
                // Registered before the commit, so a confirm racing this one sees the attempt as taken the moment
                // it can see the `processing` status at all.
                let attemptID = charge.id
                _ = attempts.begin(attemptID)
                tx.onRollback { attempts.end(attemptID) }
                try scope?.mark(tx, .attemptRecorded, intent: intent.id, charge: charge.id)
                return .authorize(
                    try Self.request(for: charge, paymentMethod: paymentMethod, card: card),
                    recorded: RecordedAttempt(intent: next, charge: charge)
                )
            }
        }
        return plan
    }

    /// Phases two and three: asks the network under the pending charge's id, then records the answer.
    /// - Parameter recorded: what phase one wrote, when this request's own phase one ran just before.
    func authorize(_ request: AuthorizationRequest, recorded: RecordedAttempt? = nil, scope: IdempotencyScope?)
        async throws -> (PaymentIntent, PaymentError?)
    {
        // The planner registered the attempt in `context.attempts`; it is released however this ends.
        defer { context.attempts.end(request.attemptID) }
        try await context.faults.reach(.afterAttemptCommit)
        let charge: Logger.MetadataValue = .string(request.attemptID)
        let result: AuthorizationResult
        do {
            result = try await context.network.authorize(request)
        } catch {
            context.logger.warning(
                "card network did not answer; the attempt stays pending until a retry or the sweeper settles it",
                metadata: ["charge": charge, "error": .string(String(describing: error))]
            )
            guard var failure = error as? PaymentError, failure.isTransient else { throw error }
            // The answer names the intent whose attempt is pending (a create's caller has no other way to learn
            // its id), a keyed retry's too (its first try's phase one recorded the intent, named by the key: a
            // client library's own retries answered only the last try's error, which named none, and its caller
            // never learnt the intent its generated key had made: a probe); a request without a key cannot be
            // resumed by a retry, so it is told to read the intent
            failure.paymentIntent = failure.paymentIntent ?? recorded?.intent.id ?? scope?.resumeIntent
            if scope == nil { failure = failure.withoutIdempotencyKey() }
            throw failure
        }
        switch result {
        case .approved:
            context.logger.debug("card network approved the attempt", metadata: ["charge": charge])
        case .declined(let decline):
            context.logger.debug(
                "card network declined the attempt",
                metadata: ["charge": charge, "decline_code": .string(decline.declineCode ?? decline.code)]
            )
        }
        try await context.faults.reach(.afterNetwork)
        do {
            return try await finish(attemptID: request.attemptID, result: result, recorded: recorded, scope: scope)
        } catch  where !(error is PaymentError) && !(error is CancellationError) {
            // The network may have charged the card, and its answer is not recorded: a generic 500 told a client
            // without a key to retry, a second payment. The answer names the intent and, without a key, says to read
            // it first; with one, the retry resumes (the key keeps its recovery point)
            context.logger.error(
                "recording the card network's answer failed; the attempt stays pending until a retry or the sweeper settles it",
                metadata: ["charge": charge, "error": .string(String(describing: error))]
            )
            let failure = PaymentError.answerNotRecorded(
                error,
                paymentIntent: recorded?.intent.id ?? scope?.resumeIntent
            )
            throw scope == nil ? failure.withoutIdempotencyKey() : failure
        }
    }

    /// Phase three: one transaction records the network's answer on the charge, the intent and the payment
    /// method. A charge that is no longer pending was settled by someone else; its outcome is returned as is.
    ///
    /// The JSON it writes for an approval (the events' snapshots and the key's saved response) is made before the
    /// transaction, from what phase one `recorded`, so the single writer does not spend its time on it (see
    /// ``prepareApproval(_:code:now:scope:)``).
    func finish(
        attemptID: String,
        result: AuthorizationResult,
        recorded: RecordedAttempt? = nil,
        scope: IdempotencyScope?
    ) async throws -> (PaymentIntent, PaymentError?) {
        let now = context.clock.now()
        let prepared: PreparedSnapshots? =
            if let recorded, case .approved(let code) = result {
                Self.prepareApproval(recorded, code: code, now: now, scope: scope)
            } else { nil }
        return try await PreparedSnapshots.$current.withValue(prepared) {
            try await recordAnswer(
                attemptID: attemptID,
                intentID: recorded?.intent.id,
                result: result,
                scope: scope,
                now: now
            )
        }
    }

    /// Phase three's transaction (see ``finish(attemptID:result:recorded:scope:)``).
    ///
    /// It locks the intent, then the charge (on PostgreSQL): the order phase one, capture and cancel take them. It
    /// took the charge first, and a confirm of the same intent on another instance, holding the intent and asking
    /// for the charge to settle it, deadlocked with it: PostgreSQL refused one after `deadlock_timeout` (1 s), and
    /// once a request waited out the lock timeout (a probe's ten racing confirms on two instances).
    /// - Parameter intentID: the attempt's intent when phase one just recorded it; read from the charge otherwise.
    private func recordAnswer(
        attemptID: String,
        intentID: String?,
        result: AuthorizationResult,
        scope: IdempotencyScope?,
        now: Int64
    ) async throws -> (PaymentIntent, PaymentError?) {
        try await context.database.write { tx in
            guard let intentID = try intentID ?? tx.paymentIntent(ofCharge: attemptID),
                let intent = try tx.paymentIntent(intentID), let pending = try tx.charge(attemptID),
                pending.paymentIntent == intent.id
            else {
                throw PaymentError.apiError("The attempt \(attemptID) is missing.")
            }
            var charge = pending
            guard charge.status == .pending else {
                let error = Self.outcomeError(of: charge, intent: intent)
                try scope?.finish(tx, intent: intent, error: error)
                return (intent, error)
            }
            switch result {
            case .approved(let code):
                charge.approve(authorizationCode: code, at: now)
                try tx.update(charge, from: pending)
                tx.afterCommit { PaymentMetrics.attempt(.approved) }
                let next = try intent.apply(.authorizationApproved, now: now)
                try Self.save(next, from: intent, expecting: .processing, tx: tx)
                try Self.savePaymentMethodAfterSuccess(intent: next, charge: charge, tx: tx)
                try scope?.finish(tx, intent: next, error: nil)
                return (next, nil)
            case .declined(let decline):
                charge.fail(with: decline, at: now)
                try tx.update(charge, from: pending)
                tx.afterCommit { PaymentMetrics.attempt(.declined, declineCode: decline.declineCode ?? decline.code) }
                let failure = Self.lastError(decline, paymentMethod: charge.paymentMethod, charge: charge.id)
                let next = try intent.apply(.attemptFailed(failure), now: now)
                try Self.save(next, from: intent, expecting: .processing, tx: tx)
                let error = Self.cardError(failure, intent: next)
                try scope?.finish(tx, intent: next, error: error)
                return (next, error)
            }
        }
    }

    /// The JSON an approval of `recorded`'s attempt writes in phase three, made ahead of it: the snapshots of the
    /// charge and the intent after the approval, and (through `scope`) the response the key saves. The transaction
    /// uses each only for a value equal to the one it was made from, so its bytes are the ones it would have made;
    /// when someone changed the rows in between, it makes its own.
    static func prepareApproval(_ recorded: RecordedAttempt, code: String, now: Int64, scope: IdempotencyScope?)
        -> PreparedSnapshots?
    {
        var charge = recorded.charge
        charge.approve(authorizationCode: code, at: now)
        guard let intent = try? recorded.intent.apply(.authorizationApproved, now: now) else { return nil }
        scope?.prepare(intent)
        return PreparedSnapshots(intent: intent, charge: charge)
    }

    // MARK: - Helpers

    /// Whether `intent` is as a completed challenge leaves an automatic-confirmation intent: `requires_action`, its
    /// challenge spent, and the card it holds the one the customer authenticated.
    static func awaitsAuthenticatedConfirm(_ intent: PaymentIntent) -> Bool {
        intent.status == .requiresAction && intent.authenticationToken == nil
            && intent.authenticatedPaymentMethod != nil && intent.authenticatedPaymentMethod == intent.paymentMethod
    }

    /// Whether the intent's attempt (a 3-D Secure challenge, or a second confirm awaited) outlived its window.
    static func attemptIsDue(_ intent: PaymentIntent, now: Int64) -> Bool {
        guard intent.status == .requiresAction || intent.status == .requiresConfirmation,
            let expiresAt = intent.attemptExpiresAt
        else { return false }
        return expiresAt <= now
    }

    /// Expires an intent's attempt inside `tx`: the intent gets `payment_intent_payment_attempt_expired`, and the
    /// attempt is recorded as a failed charge (its latest). The sweeper's rule a, and a confirm that comes too late.
    /// - Precondition: `intent` was read in `tx`.
    /// - Returns: false when the intent's status changed since it was read (compare-and-set).
    static func expireAttempt(_ intent: PaymentIntent, now: Int64, ids: IDGenerator, tx: any StoreTransaction) throws
        -> Bool
    {
        let (next, charge) = try expired(intent, now: now, ids: ids)
        // `intent` was read in this transaction (by the sweeper's batch, or by the confirm that found it late).
        // The failed attempt's `charge.failed` before the intent's `payment_intent.payment_failed`, as a decline
        guard try tx.update(next, from: intent, first: { try tx.insert(charge) }) else { return false }
        tx.afterCommit { PaymentMetrics.attempt(.failed, declineCode: charge.failureCode) }
        return true
    }

    /// What expiring `intent`'s attempt makes: the intent with `payment_intent_payment_attempt_expired`, and the
    /// attempt as a failed charge, its latest (``expireAttempt(_:now:ids:tx:)``, ``expireAttempts(_:now:ids:tx:)``).
    static func expired(_ intent: PaymentIntent, now: Int64, ids: IDGenerator) throws -> (PaymentIntent, Charge) {
        var next = try intent.apply(.attemptExpired, now: now)
        // The failed attempt is dated when its window closed, not when a sweep found it: after a server's downtime
        // that was hours or days later, and `report_declines` counted the attempt on the wrong day
        let expiredAt = min(now, intent.attemptExpiresAt ?? now)
        var charge = Charge.attempt(
            id: ids.charge(),
            for: intent,
            paymentMethod: intent.paymentMethod,
            at: expiredAt,
            threeDSecure: "expired"
        )
        charge.fail(with: .attemptExpired(paymentMethod: intent.paymentMethod), at: expiredAt)
        next.latestCharge = charge.id
        return (next, charge)
    }

    /// The network request for a charge. Built from the charge row alone (its time included), so a retry after a
    /// crash sends exactly what the first try sent.
    static func request(for charge: Charge, paymentMethod: PaymentMethod, card: CardNumber) throws
        -> AuthorizationRequest
    {
        AuthorizationRequest(
            attemptID: charge.id,
            card: card,
            expiry: CardExpiry(unvalidatedMonth: paymentMethod.expMonth, year: paymentMethod.expYear),
            cvcProvided: charge.cvcSent(with: paymentMethod),
            amount: charge.amount,
            currency: charge.currency,
            capture: charge.capture,
            offSession: charge.offSession,
            authenticated: charge.threeDSecure == "authenticated",
            offSessionReady: paymentMethod.offSessionReady,
            now: charge.created
        )
    }

    /// After a successful payment: a card saved with `setup_future_usage` is attached to the intent's customer
    /// (and marked ready for off-session use); one used without a customer may not be used again.
    ///
    /// Without `setup_future_usage` nothing is read or written: a card used without a customer was made single-use
    /// by its attempt (phase one), and `setup_future_usage` is a payment detail, which no update changes while the
    /// attempt runs. (Reading the payment method anyway was one of the eight statements of W1's phase three.)
    static func savePaymentMethodAfterSuccess(intent: PaymentIntent, charge: Charge, tx: any StoreTransaction) throws {
        guard let usage = intent.setupFutureUsage, let pmID = charge.paymentMethod,
            let stored = try tx.paymentMethod(pmID)
        else { return }
        var paymentMethod = stored
        if let customer = intent.customer {
            if try tx.customer(customer)?.deleted == false {
                paymentMethod.keep(for: customer, usage: usage)
            } else if paymentMethod.customer == nil {
                paymentMethod.reusable = false
            }
        } else {
            // Without a customer the card stays usable: Stripe's `setup_future_usage` says it "can still be attached
            // to a Customer after the transaction completes" (and, with `off_session`, charged while they are away).
            paymentMethod.keep(for: nil, usage: usage)
        }
        guard paymentMethod != stored else { return }
        try tx.update(paymentMethod, from: stored)
    }

    /// Saves `intent` over `before`, the state read (or inserted) earlier in this transaction, which spares
    /// the read ``save(_:expecting:tx:)`` makes to record the events.
    /// - Parameter status: the status `before` must have (default: whatever it has, a compare-and-set on it).
    /// - Throws: 400 `payment_intent_unexpected_state` when `before` does not have `status`, or another writer
    ///   changed the status first.
    static func save(
        _ intent: PaymentIntent,
        from before: PaymentIntent,
        expecting status: PaymentIntentStatus? = nil,
        tx: any StoreTransaction
    ) throws {
        guard status == nil || before.status == status, try tx.update(intent, from: before) else {
            throw PaymentError.unexpectedState(
                "This PaymentIntent was changed by another request at the same time; retrieve it and try again.",
                paymentIntent: intent.id
            )
        }
    }

    static func save(_ intent: PaymentIntent, expecting status: PaymentIntentStatus, tx: any StoreTransaction) throws {
        guard try tx.update(intent, expecting: status) else {
            throw PaymentError.unexpectedState(
                "This PaymentIntent was changed by another request at the same time; retrieve it and try again.",
                paymentIntent: intent.id
            )
        }
    }

    static func lastError(_ decline: CardDecline, paymentMethod: String?, charge: String?) -> LastPaymentError {
        LastPaymentError(
            type: .card,
            code: decline.code,
            declineCode: decline.declineCode,
            message: decline.message,
            param: decline.param,
            paymentMethod: paymentMethod,
            charge: charge
        )
    }

    /// The 402 that reports a failed attempt, carrying the intent in its new state.
    static func cardError(_ failure: LastPaymentError, intent: PaymentIntent) -> PaymentError {
        PaymentError(
            kind: .card,
            code: failure.code,
            declineCode: failure.declineCode,
            message: failure.message,
            param: failure.param,
            status: 402,
            paymentIntent: intent.id,
            paymentMethod: failure.paymentMethod,
            charge: failure.charge
        )
    }

    /// The card error of a settled, failed charge (nil when it succeeded).
    static func outcomeError(of charge: Charge, intent: PaymentIntent) -> PaymentError? {
        guard charge.status == .failed else { return nil }
        return PaymentError(
            kind: .card,
            code: charge.failureCode ?? "card_declined",
            declineCode: charge.declineCode,
            message: charge.failureMessage ?? "Your card was declined.",
            param: charge.failureCode.flatMap(CardDecline.param(forCode:)),
            status: 402,
            paymentIntent: intent.id,
            paymentMethod: charge.paymentMethod,
            charge: charge.id
        )
    }
}
