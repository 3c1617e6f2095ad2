import PaymentsCore

/// Creating, reading, changing, listing and canceling SetupIntents: saving a card for later payments without
/// charging it. Confirmation (3-D Secure and the issuer's verification) lives in `SetupIntents+Confirm.swift`, the
/// customer's answer to the challenge in `SetupIntents+Authenticate.swift`.
///
/// A setup moves no money, so each call is one write transaction with a compare-and-set on the status, and the
/// card network is only asked what it answers locally (the card's 3-D Secure enrolment and its attach-time
/// verification): there is no attempt to recover after a crash, and the idempotency middleware saves the responses
/// after the handler, as for customers.
public struct SetupIntents: Sendable {
    let context: PaymentsContext
    let paymentMethods: PaymentMethods

    /// Creates the use case.
    public init(context: PaymentsContext) {
        self.context = context
        self.paymentMethods = PaymentMethods(context: context)
    }

    /// The parameters of `POST /v1/setup_intents`.
    public struct CreateInput: Sendable {
        public var customer: String?
        public var paymentMethod: String?
        public var confirm: Bool
        public var usage: SetupFutureUsage
        public var returnURL: String?
        public var description: String?
        public var metadata: [String: String]
        /// A customer to create for the card, in the setup's own transaction, instead of naming one in
        /// `customer` (the checkout's "save card", whose shopper has no account yet).
        public var newCustomer: Customers.Fields?

        /// Creates input with Stripe's defaults (`usage=off_session`).
        public init(
            customer: String? = nil,
            paymentMethod: String? = nil,
            confirm: Bool = false,
            usage: SetupFutureUsage = .offSession,
            returnURL: String? = nil,
            description: String? = nil,
            metadata: [String: String] = [:],
            newCustomer: Customers.Fields? = nil
        ) {
            self.newCustomer = newCustomer
            self.customer = customer
            self.paymentMethod = paymentMethod
            self.confirm = confirm
            self.usage = usage
            self.returnURL = returnURL
            self.description = description
            self.metadata = metadata
        }
    }

    /// Creates a setup intent, and confirms it in the same transaction when `input.confirm` is set.
    /// - Throws: 400 for an unknown customer or payment method, or one that may not be used; with `confirm`,
    ///   whatever confirm throws (a 402 decline carries the setup intent in its new state).
    public func create(_ input: CreateInput) async throws -> SetupIntent {
        let resolved = try await resolve(input.paymentMethod)
        let newCustomer = try input.newCustomer.map { try Customers(context: context).new($0) }
        let id = context.ids.setupIntent()
        let setup = SetupIntent(
            id: id,
            created: context.clock.now(),
            usage: input.usage,
            clientSecret: context.ids.clientSecret(for: id),
            customer: newCustomer?.id ?? input.customer,
            paymentMethod: resolved?.paymentMethod.id,
            description: input.description,
            metadata: input.metadata
        )
        if input.confirm {
            return try await attempt(
                id,
                ConfirmInput(returnURL: input.returnURL),
                newPaymentMethod: resolved,
                creating: setup,
                newCustomer: newCustomer
            )
        }
        return try await context.database.write { tx in
            try Self.insert(setup, newCustomer: newCustomer, paymentMethod: resolved, tx: tx)
            return setup
        }
    }

    /// Stores a new setup intent in `tx`, after what it names that is new too: the customer made with it, and the
    /// payment method a magic test id made.
    /// - Throws: 400 for an unknown or deleted customer, or a payment method the customer may not use.
    static func insert(
        _ setup: SetupIntent,
        newCustomer: Customer?,
        paymentMethod: PaymentMethods.Resolved?,
        tx: any StoreTransaction
    ) throws {
        if let newCustomer { try tx.insert(newCustomer) }
        if let customer = setup.customer { try requireCustomer(customer, tx: tx) }
        if let paymentMethod {
            try PaymentIntents.checkUsable(paymentMethod.paymentMethod, customer: setup.customer, object: "SetupIntent")
            try paymentMethod.store(in: tx)
        }
        try tx.insert(setup)
    }

    /// Retrieves a setup intent.
    public func retrieve(_ id: String) async throws -> SetupIntent {
        let found = try await context.database.read { tx in try tx.setupIntent(id) }
        guard let found else { throw Self.missing(id) }
        return found
    }

    /// Lists setup intents, newest first.
    public func list(customer: String?, paymentMethod: String?, created: CreatedFilter?, page: PageRequest)
        async throws -> Page<SetupIntent>
    {
        try await context.database.read { tx in
            try tx.setupIntents(customer: customer, paymentMethod: paymentMethod, created: created, page: page)
        }
    }

    /// The parameters of `POST /v1/setup_intents/:id`; nil leaves a field as it is, `.some(nil)` clears it.
    public struct UpdateInput: Sendable {
        public var customer: String?
        public var paymentMethod: String?
        public var description: String??
        /// Keys to set; a nil value deletes the key.
        public var metadata: [String: String?]?
        public var clearMetadata: Bool

        /// Creates input that changes nothing.
        public init() {
            self.clearMetadata = false
        }

        /// Whether the update touches what is set up, which only open setup intents allow.
        var changesPaymentDetails: Bool { customer != nil || paymentMethod != nil }
    }

    /// Updates a setup intent. A new customer or payment method needs a new confirm, as Stripe.
    public func update(_ id: String, _ input: UpdateInput) async throws -> SetupIntent {
        let resolved = try await resolve(input.paymentMethod)
        return try await context.database.write { tx in
            guard let current = try tx.setupIntent(id) else { throw Self.missing(id) }
            try SetupIntentStateMachine.check(
                input.changesPaymentDetails ? .updatePaymentDetails : .updateBookkeeping,
                on: current
            )
            var next = current
            if let customer = input.customer {
                try Self.requireCustomer(customer, tx: tx)
                next.customer = customer
            }
            if let resolved {
                try resolved.store(in: tx)
                next.paymentMethod = resolved.paymentMethod.id
            }
            if input.changesPaymentDetails {
                if let pmID = next.paymentMethod, let paymentMethod = try tx.paymentMethod(pmID) {
                    try PaymentIntents.checkUsable(paymentMethod, customer: next.customer, object: "SetupIntent")
                }
                // New details need a new confirmation; a challenge in progress is void.
                next.status = next.paymentMethod == nil ? .requiresPaymentMethod : .requiresConfirmation
                next.authenticationToken = nil
                next.attemptExpiresAt = nil
            }
            if let value = input.description { next.description = value }
            try next.metadata.applyMetadata(input.metadata, clearingFirst: input.clearMetadata)
            if current.status != .succeeded && current.status != .canceled { next.lastSetupError = nil }
            try Self.save(next, expecting: current.status, tx: tx)
            return next
        }
    }

    /// Cancels a setup intent that has not succeeded; its card is left as it is.
    public func cancel(_ id: String, reason: SetupIntentCancellationReason?) async throws -> SetupIntent {
        let now = context.clock.now()
        return try await context.database.write { tx in
            guard var current = try tx.setupIntent(id) else { throw Self.missing(id) }
            // A challenge whose window closed failed first, as the sweeper records it (`setup_intent.setup_failed`,
            // `last_setup_error`), whichever comes first; a cancel in between recorded neither
            if current.attemptIsDue(now: now), let expired = try Self.expireAttempt(current, now: now, tx: tx) {
                current = expired
            }
            let next = try current.apply(.canceled(reason), now: now)
            try Self.save(next, expecting: current.status, tx: tx)
            return next
        }
    }

    // MARK: - Helpers

    /// Stripe's error for a setup intent that does not exist (the URL's object).
    static func missing(_ id: String) -> PaymentError {
        .resourceMissing("setupintent", id: id, param: "intent", inURL: true)
    }

    /// The payment method a request names, if any; one made for a magic test id is stored by the caller's
    /// transaction (see ``PaymentMethods/Resolved``).
    func resolve(_ id: String?) async throws -> PaymentMethods.Resolved? {
        guard let id else { return nil }
        return try await paymentMethods.resolveForPayment(id, param: "payment_method")
    }

    /// Checks that `id` is a customer that was not deleted.
    static func requireCustomer(_ id: String, tx: any StoreTransaction) throws {
        guard let customer = try tx.customer(id), !customer.deleted else {
            throw PaymentError.resourceMissing("customer", id: id, param: "customer", inURL: false)
        }
    }

    /// Saves `setup` with a compare-and-set on the status it was decided from.
    /// - Throws: `setup_intent_unexpected_state` when another request changed the status first.
    static func save(_ setup: SetupIntent, expecting status: SetupIntentStatus, tx: any StoreTransaction) throws {
        guard try tx.update(setup, expecting: status) else {
            throw PaymentError.setupIntentUnexpectedState(
                "This SetupIntent was changed by another request at the same time; retrieve it and try again.",
                setupIntent: setup.id
            )
        }
    }
}
