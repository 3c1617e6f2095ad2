import Logging
import PaymentsCore

/// Creating, reading, changing, listing and canceling PaymentIntents. Confirmation, the part that moves money,
/// lives in `PaymentIntents+Confirm.swift`.
public struct PaymentIntents: Sendable {
    let context: PaymentsContext
    let paymentMethods: PaymentMethods

    /// Creates the use case.
    public init(context: PaymentsContext) {
        self.context = context
        self.paymentMethods = PaymentMethods(context: context)
    }

    /// The same use case, logging to `logger` (a request's logger, so its lines name the request).
    public func logging(to logger: Logger) -> PaymentIntents {
        PaymentIntents(context: context.logging(to: logger))
    }

    /// The parameters of `POST /v1/payment_intents`.
    public struct CreateInput: Sendable {
        public var amount: Int64
        public var currency: String
        public var customer: String?
        public var paymentMethod: String?
        public var confirm: Bool
        public var captureMethod: CaptureMethod
        public var confirmationMethod: ConfirmationMethod
        public var setupFutureUsage: SetupFutureUsage?
        public var offSession: Bool?
        public var returnURL: String?
        public var errorOnRequiresAction: Bool
        public var description: String?
        public var receiptEmail: String?
        public var statementDescriptor: String?
        public var statementDescriptorSuffix: String?
        public var metadata: [String: String]
        /// Where the order goes; each attempt's charge copies it.
        public var shipping: Shipping?
        /// Who creates the intent: the API, `/pay` or `payments recharge`.
        public var origin: PaymentIntent.Origin

        /// Creates input with Stripe's defaults.
        public init(
            amount: Int64,
            currency: String,
            customer: String? = nil,
            paymentMethod: String? = nil,
            confirm: Bool = false,
            captureMethod: CaptureMethod = .automatic,
            confirmationMethod: ConfirmationMethod = .automatic,
            setupFutureUsage: SetupFutureUsage? = nil,
            offSession: Bool? = nil,
            returnURL: String? = nil,
            errorOnRequiresAction: Bool = false,
            description: String? = nil,
            receiptEmail: String? = nil,
            statementDescriptor: String? = nil,
            statementDescriptorSuffix: String? = nil,
            metadata: [String: String] = [:],
            shipping: Shipping? = nil,
            origin: PaymentIntent.Origin = .api
        ) {
            self.origin = origin
            self.amount = amount
            self.currency = currency
            self.customer = customer
            self.paymentMethod = paymentMethod
            self.confirm = confirm
            self.captureMethod = captureMethod
            self.confirmationMethod = confirmationMethod
            self.setupFutureUsage = setupFutureUsage
            self.offSession = offSession
            self.returnURL = returnURL
            self.errorOnRequiresAction = errorOnRequiresAction
            self.description = description
            self.receiptEmail = receiptEmail
            self.statementDescriptor = statementDescriptor
            self.statementDescriptorSuffix = statementDescriptorSuffix
            self.metadata = metadata
            self.shipping = shipping
        }
    }

    /// Creates an intent, and confirms it at once when `input.confirm` is set.
    /// - Throws: 400 for bad amounts, unknown customers or payment methods; with `confirm`, whatever confirm
    ///   throws (a 402 decline carries the new intent).
    public func create(_ input: CreateInput, scope: IdempotencyScope? = nil) async throws -> PaymentIntent {
        if let resumed = scope?.resumeIntent {
            // A previous try of this request created the intent and died before answering: carry on with it.
            guard input.confirm else {
                let intent = try await retrieve(resumed)
                try await context.database.write { tx in try scope?.finish(tx, intent: intent, error: nil) }
                return intent
            }
            return try await confirm(
                resumed,
                ConfirmInput(
                    offSession: input.offSession,
                    returnURL: input.returnURL,
                    errorOnRequiresAction: input.errorOnRequiresAction
                ),
                scope: scope
            )
        }
        guard let currency = Currency(code: input.currency) else {
            throw PaymentError.invalidValue("currency", "Invalid currency: \(input.currency.lowercased()).")
        }
        do {
            _ = try Money.validateCharge(amount: input.amount, currency: currency)
        } catch {
            throw Self.amountError(error)
        }
        if input.offSession != nil && !input.confirm {
            throw PaymentError.invalidRequest(
                "You can only pass in `off_session` when `confirm` is set to true.",
                code: "parameter_invalid_empty",
                param: "off_session"
            )
        }
        if let customer = input.customer {
            try await requireCustomer(customer)
        }
        var paymentMethod: PaymentMethods.Resolved?
        if let id = input.paymentMethod {
            let resolved = try await paymentMethods.resolveForPayment(id, param: "payment_method")
            try Self.checkUsable(resolved.paymentMethod, customer: input.customer)
            paymentMethod = resolved
        }
        let id = context.ids.paymentIntent()
        let intent = PaymentIntent(
            id: id,
            created: context.clock.now(),
            amount: input.amount,
            currency: currency.code,
            captureMethod: input.captureMethod,
            confirmationMethod: input.confirmationMethod,
            clientSecret: context.ids.clientSecret(for: id),
            customer: input.customer,
            paymentMethod: paymentMethod?.paymentMethod.id,
            description: input.description,
            receiptEmail: input.receiptEmail,
            statementDescriptor: input.statementDescriptor,
            statementDescriptorSuffix: input.statementDescriptorSuffix,
            metadata: input.metadata,
            shipping: input.shipping,
            setupFutureUsage: input.setupFutureUsage,
            origin: input.origin
        )
        let resolvedPaymentMethod = paymentMethod
        // The new intent's `payment_intent.created` snapshot (and, without confirm, the response) made here, off the
        // single writer: the transaction uses them for this very intent (see ``PreparedSnapshots``).
        let created = PreparedSnapshots(intent: intent, charge: nil)
        guard input.confirm else {
            scope?.prepare(intent)
            try await PreparedSnapshots.$current.withValue(created) {
                try await context.database.write { tx in
                    try resolvedPaymentMethod?.store(in: tx)
                    try tx.insert(intent)
                    try scope?.finish(tx, intent: intent, error: nil)
                }
            }
            return intent
        }
        let plan = try await PreparedSnapshots.$current.withValue(created) {
            try await begin(
                id,
                input: ConfirmInput(
                    offSession: input.offSession,
                    returnURL: input.returnURL,
                    errorOnRequiresAction: input.errorOnRequiresAction
                ),
                newPaymentMethod: paymentMethod,
                scope: scope,
                creating: intent
            )
        }
        return try await carryOut(plan, scope: scope)
    }

    /// Retrieves an intent.
    public func retrieve(_ id: String) async throws -> PaymentIntent {
        let found = try await context.database.read { tx in try tx.paymentIntent(id) }
        guard let found else {
            throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
        }
        return found
    }

    /// The intent as `GET` shows it: one whose attempt outlived its confirmation window is expired first, as a
    /// late confirm or a late answer on the challenge page expires it, whether or not the sweeper got there. Between
    /// the window's end and the next sweep (a minute by default, never with the sweeper off) a client polling the
    /// intent was told `requires_action` with a `next_action` link already dead (a probe). A GET takes no
    /// idempotency key, so this write claims none; should it fail (a full disk), the intent is shown as read.
    /// - Parameter found: the intent as ``retrieve(_:)`` read it; returned as it is unless its attempt is due.
    ///
    /// An intent whose customer completed the challenge inside the window, waiting for the automatic confirm that
    /// follows in its own transaction, is not expired here: the confirm goes ahead whenever the window closes in
    /// between (`begin` exempts it), and a poll landing in those milliseconds undid an authentication the page had
    /// accepted (a re-check probe: 2 of 18 races). Should that confirm never come (its process killed), the sweeper
    /// expires the attempt.
    public func expiringDueAttempt(_ found: PaymentIntent) async -> PaymentIntent {
        let now = context.clock.now()
        @Sendable func due(_ intent: PaymentIntent) -> Bool {
            Self.attemptIsDue(intent, now: now) && !Self.awaitsAuthenticatedConfirm(intent)
        }
        guard due(found) else { return found }
        let ids = context.ids
        do {
            return try await context.database.write { tx in
                guard let current = try tx.paymentIntent(found.id), due(current) else {
                    return try tx.paymentIntent(found.id) ?? found
                }
                _ = try Self.expireAttempt(current, now: now, ids: ids, tx: tx)
                return try tx.paymentIntent(found.id) ?? current
            }
        } catch {
            return found
        }
    }

    /// Lists intents, newest first.
    public func list(customer: String?, created: CreatedFilter?, page: PageRequest) async throws -> Page<PaymentIntent>
    {
        try await context.database.read { tx in try tx.paymentIntents(customer: customer, created: created, page: page)
        }
    }

    /// The parameters of `POST /v1/payment_intents/:id`; nil leaves a field as it is, `.some(nil)` clears it.
    public struct UpdateInput: Sendable {
        public var amount: Int64?
        public var currency: String?
        public var customer: String?
        public var paymentMethod: String?
        public var description: String??
        public var receiptEmail: String??
        public var statementDescriptor: String??
        public var statementDescriptorSuffix: String??
        public var setupFutureUsage: SetupFutureUsage??
        public var captureMethod: CaptureMethod?
        /// The new shipping, replacing the old whole; `.some(nil)` unsets it (`shipping=`).
        public var shipping: Shipping??
        /// Keys to set; a nil value deletes the key.
        public var metadata: [String: String?]?
        public var clearMetadata: Bool

        /// Creates input that changes nothing.
        public init() {
            self.clearMetadata = false
        }

        /// Whether the update touches what is charged, which only open intents allow.
        var changesPaymentDetails: Bool {
            amount != nil || currency != nil || customer != nil || paymentMethod != nil || captureMethod != nil
                || setupFutureUsage != nil
        }
    }

    /// Updates an intent. Changing the payment method needs a new confirm, as Stripe.
    public func update(_ id: String, _ input: UpdateInput, scope: IdempotencyScope? = nil) async throws
        -> PaymentIntent
    {
        var currency: Currency?
        if let code = input.currency {
            guard let value = Currency(code: code) else {
                throw PaymentError.invalidValue("currency", "Invalid currency: \(code.lowercased()).")
            }
            currency = value
        }
        if let customer = input.customer { try await requireCustomer(customer) }
        // A magic test id's new payment method is stored by the update's own transaction, so a refused update
        // leaves none behind.
        var paymentMethod: PaymentMethods.Resolved?
        if let pmID = input.paymentMethod {
            paymentMethod = try await paymentMethods.resolveForPayment(pmID, param: "payment_method")
        }
        let (newCurrency, newPaymentMethod) = (currency, paymentMethod)
        return try await context.database.write { tx in
            let currency = newCurrency
            let resolved = newPaymentMethod
            guard let current = try tx.paymentIntent(id) else {
                throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
            }
            try PaymentIntentStateMachine.check(
                input.changesPaymentDetails ? .updatePaymentDetails : .updateBookkeeping,
                on: current
            )
            var next = current
            if let amount = input.amount { next.amount = amount }
            if let currency { next.currency = currency.code }
            if input.amount != nil || currency != nil {
                do {
                    _ = try Money.validateCharge(amount: next.amount, currency: Currency(code: next.currency) ?? .usd)
                } catch let error as AmountError {
                    throw Self.amountError(error)
                }
            }
            if let customer = input.customer { next.customer = customer }
            if let method = input.captureMethod { next.captureMethod = method }
            if let usage = input.setupFutureUsage { next.setupFutureUsage = usage }
            if let resolved {
                try Self.checkUsable(resolved.paymentMethod, customer: next.customer)
                try resolved.store(in: tx)
                next.paymentMethod = resolved.paymentMethod.id
            }
            // The same values sent again (a backend that re-sends its order's amount and currency) change nothing: a
            // challenge in progress stays open. Each voided the customer's open link before.
            let unchanged =
                next.amount == current.amount && next.currency == current.currency
                && next.paymentMethod == current.paymentMethod && next.customer == current.customer
                && next.captureMethod == current.captureMethod && next.setupFutureUsage == current.setupFutureUsage
            if input.changesPaymentDetails, !(unchanged && current.status == .requiresAction) {
                // New payment details need a new confirmation; any challenge in progress is void.
                next.status = next.paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation
                next.authenticationToken = nil
                next.attemptExpiresAt = nil
                // An authentication covers one payment: another card, amount or currency needs its own.
                if next.paymentMethod != current.paymentMethod || next.amount != current.amount
                    || next.currency != current.currency
                {
                    next.authenticatedPaymentMethod = nil
                }
            }
            if let value = input.description { next.description = value }
            if let value = input.receiptEmail { next.receiptEmail = value }
            if let value = input.statementDescriptor { next.statementDescriptor = value }
            if let value = input.statementDescriptorSuffix { next.statementDescriptorSuffix = value }
            if let value = input.shipping { next.shipping = value }
            try next.metadata.applyMetadata(input.metadata, clearingFirst: input.clearMetadata)
            // Stripe: "It will be cleared if the PaymentIntent is later updated for any reason", a canceled intent's
            // too (a model-based probe: a description set on a canceled intent kept its decline)
            next.lastPaymentError = nil
            guard try tx.update(next, expecting: current.status) else {
                throw PaymentIntentStateMachine.unexpectedState(.updatePaymentDetails, intent: current)
            }
            try scope?.finish(tx, intent: next, error: nil)
            return next
        }
    }

    /// Cancels an intent. An uncaptured authorization is released at the network first: the network decides
    /// between a cancel and a capture that race, and a capture that won there makes this cancel fail.
    ///
    /// The cancel is written with a compare-and-set on the status it decided from: if the intent changed meanwhile
    /// (an authorization landed after it was read), it decides again on the new status, so an authorization is
    /// never left live at the network under a canceled intent.
    public func cancel(_ id: String, reason: CancellationReason?, scope: IdempotencyScope? = nil) async throws
        -> PaymentIntent
    {
        /// A confirm racing the cancel can change the status at most a few times (confirmation, authorization);
        /// more rounds than this means something keeps changing it, and the caller is told to retry.
        let maximumRounds = 5
        if let scope, scope.lease.claim == nil {
            // The retry of a keyed cancel whose first try died: if the intent was canceled meanwhile (that try's
            // release, recorded by a capture that found it; or another cancel), the cancel it asked for is done
            let current = try await retrieve(id)
            if current.status == .canceled {
                return try await context.database.write { tx in
                    guard var next = try tx.paymentIntent(id), next.status == .canceled else {
                        throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: current)
                    }
                    if next.cancellationReason == nil, reason != nil {
                        next.cancellationReason = reason
                        guard try tx.update(next, expecting: .canceled) else {
                            throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: current)
                        }
                    }
                    try scope.finish(tx, intent: next, error: nil)
                    return next
                }
            }
        }
        // The network learns which request releases: a retry under the same key (after a crash) gets its first
        // try's release back; another request gets the release that came first, and is refused.
        let reference = scope?.networkReference ?? "req_" + context.ids.token(24)
        for _ in 0..<maximumRounds {
            let now = context.clock.now()
            let before = try await retrieve(id)
            try PaymentIntentStateMachine.check(.cancel, on: before)
            if before.status == .requiresCapture, scope?.lease.claim != nil || scope == nil,
                let authorizedAt = before.authorizedAt, now >= authorizedAt + Self.authorizationLifetime
            {
                // Past its 7 days the authorization was the sweeper's to release, canceled `automatic` with
                // `charge.expired`, as Stripe releases it when they end: released here as the pass would, and the
                // cancel refused on the intent it leaves, so its answer does not depend on when the sweeper last ran.
                // (A keyed retry whose first try died is not: that try may have released it as this cancel.)
                let current = try await releaseExpired(before, now: now)
                if current.status != .requiresCapture {
                    throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: current)
                }
            }
            var released: String?
            if before.status == .requiresCapture, let held = before.latestCharge {
                // Written before the network is asked, so a process that dies before recording its answer leaves the
                // sweeper what to ask again and record, with this cancel's reason (``SettlementRequest``)
                try await requestSettlement(
                    id,
                    charge: held,
                    .release(reference: reference, at: now, reason: reason),
                    for: .cancel
                )
                let release = try await context.network.void(attemptID: held, reference: reference)
                switch release {
                case _ where release.isReleased(by: reference):
                    released = held
                case .released:
                    // Another cancel released the authorization first (one racing this one, or one that died
                    // before its write): that one is the cancel. Record it, if its write has not come, and refuse
                    // this one on the state it leaves, as Stripe refuses a second cancel. Racing cancels without a
                    // reason were all answered 200 before the network knew whose release it held.
                    let current = try await recordAtNetwork(id, charge: held, captured: nil, now: now)
                    throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: current)
                case .capturedFirst:
                    // A capture took the authorization first: record it, if that capture's own write has not come
                    // (it crashed after the network's answer), with the amount the network holds.
                    var current = try await retrieve(id)
                    if current.status == .requiresCapture, current.latestCharge == held,
                        let amount = try await context.network.capture(
                            attemptID: held,
                            amount: current.amountCapturable
                        )
                    {
                        current = try await recordAtNetwork(id, charge: held, captured: amount, now: now)
                    }
                    throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: current)
                }
            }
            try await context.faults.reach(.beforeCancelWrite)
            let record = { [released] () async throws -> PaymentIntent? in
                try await context.database.write { tx in
                    guard var current = try tx.paymentIntent(id) else {
                        throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
                    }
                    // A capture that lost to this cancel at the network recorded the release already (``recordAtNetwork(_:charge:captured:now:)``,
                    // without a reason): this cancel is the one recorded, with its reason.
                    if let released, current.status == .canceled, current.latestCharge == released,
                        current.cancellationReason == nil
                    {
                        var next = current
                        next.cancellationReason = reason
                        if reason != nil { guard try tx.update(next, expecting: .canceled) else { return nil } }
                        try scope?.finish(tx, intent: next, error: nil)
                        return next
                    }
                    // Decided on `before`: anything else (an authorization that landed meanwhile) is decided again.
                    guard current.status == before.status, current.latestCharge == before.latestCharge else {
                        return nil
                    }
                    if Self.attemptIsDue(current, now: now) {
                        // The attempt's window closed before the cancel: it failed first, as the sweeper (or a late
                        // confirm) records it, so `report_declines` counts it whichever came first. A cancel in
                        // between canceled it with no failed attempt and no `payment_intent.payment_failed`.
                        guard try Self.expireAttempt(current, now: now, ids: context.ids, tx: tx),
                            let expired = try tx.paymentIntent(id)
                        else { return nil }
                        current = expired
                    }
                    let next = try current.apply(.canceled(reason), now: now)
                    // A held authorization's `charge.refunded` before the intent's `payment_intent.canceled`
                    let saved = try tx.update(next, from: current) {
                        guard current.status == .requiresCapture, let held = current.latestCharge,
                            let charge = try tx.charge(held)
                        else { return }
                        var released = charge
                        released.releaseAuthorization()
                        try tx.update(released, from: charge)
                    }
                    guard saved else { return nil }
                    try scope?.finish(tx, intent: next, error: nil)
                    return next
                }
            }
            // Once the network released the authorization, the release must be recorded whatever the store says now
            let canceled =
                if let released {
                    try await recordingNetworkOutcome(
                        of: id,
                        done: "released the authorization",
                        record,
                        later: { [self] in
                            try await recordAtNetwork(id, charge: released, captured: nil, reason: reason, now: now)
                        }
                    )
                } else {
                    try await record()
                }
            if let canceled { return canceled }
        }
        throw PaymentIntentStateMachine.unexpectedState(.cancel, intent: try await retrieve(id))
    }

    // MARK: - Rules shared with confirm

    func requireCustomer(_ id: String) async throws {
        let customer = try await context.database.read { tx in try tx.customer(id) }
        guard let customer, !customer.deleted else {
            throw PaymentError.resourceMissing("customer", id: id, param: "customer", inURL: false)
        }
    }

    /// Refuses, in `tx`, to confirm an intent whose customer was deleted since it was made: the attempt would charge
    /// or keep a card for a customer that no longer exists (a saved card could not be attached to it).
    static func requireLiveCustomer(_ id: String?, tx: any StoreTransaction) throws {
        guard let id else { return }
        guard let customer = try tx.customer(id), !customer.deleted else {
            throw PaymentError.invalidRequest(
                "No such customer: '\(id)'. It was deleted after this intent was made: update the intent with "
                    + "another customer, then confirm it.",
                code: "resource_missing",
                param: "customer"
            )
        }
    }

    /// Stripe's rules for using a payment method on an intent for `customer`.
    /// - Parameter object: the kind of intent the messages name (`PaymentIntent`, or `SetupIntent`).
    static func checkUsable(
        _ paymentMethod: PaymentMethod,
        customer: String?,
        object: String = "PaymentIntent"
    ) throws(PaymentError) {
        if !paymentMethod.reusable {
            throw PaymentError.invalidRequest(
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, "
                    + "shared with a connected account without Customer attachment, or was detached from a "
                    + "Customer. It may not be used again. To use a PaymentMethod multiple times, you must attach it "
                    + "to a Customer first.",
                code: "payment_method_unexpected_state",
                param: "payment_method"
            )
        }
        // The owner is not named: `/pay` and `/save-card` answer with these messages to callers without a key.
        if let owner = paymentMethod.customer, owner != customer {
            if customer == nil {
                throw PaymentError.invalidRequest(
                    "The PaymentMethod provided (\(paymentMethod.id)) belongs to a Customer, but you did not provide "
                        + "the Customer. Please include the Customer in the `customer` parameter on the \(object).",
                    code: "payment_method_customer_mismatch",
                    param: "payment_method"
                )
            }
            throw PaymentError.invalidRequest(
                "The provided PaymentMethod belongs to another Customer; it cannot be used with this \(object)'s "
                    + "Customer.",
                code: "payment_method_customer_mismatch",
                param: "payment_method"
            )
        }
    }

    static func amountError(_ error: AmountError) -> PaymentError {
        switch error {
        case .notPositive:
            .invalidRequest(
                "This value must be greater than or equal to 1.",
                code: "parameter_invalid_integer",
                param: "amount"
            )
        case .tooSmall:
            .invalidRequest(error.message, code: "amount_too_small", param: "amount")
        case .tooLarge, .notSettleable:
            .invalidRequest(error.message, code: error.code, param: "amount")
        }
    }
}
