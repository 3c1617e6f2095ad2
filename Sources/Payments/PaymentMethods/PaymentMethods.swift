import PaymentsCore

/// Creating and reading card payment methods: validates the card, seals its number in the vault, and keeps only
/// what may be shown.
public struct PaymentMethods: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// Raw card details as collected from the customer. Lives in memory only.
    public struct CardInput: Sendable {
        public var number: String
        public var expMonth: Int
        public var expYear: Int
        public var cvc: String?

        /// Creates card input.
        public init(number: String, expMonth: Int, expYear: Int, cvc: String?) {
            self.number = number
            self.expMonth = expMonth
            self.expYear = expYear
            self.cvc = cvc
        }
    }

    /// The parameters of `POST /v1/payment_methods`.
    public struct CreateInput: Sendable {
        public var card: CardInput
        public var billingDetails: BillingDetails
        public var metadata: [String: String]

        /// Creates input.
        public init(
            card: CardInput,
            billingDetails: BillingDetails = BillingDetails(),
            metadata: [String: String] = [:]
        ) {
            self.card = card
            self.billingDetails = billingDetails
            self.metadata = metadata
        }
    }

    /// Creates a card payment method. Under an `Idempotency-Key` (`scope`), its answer is saved in the transaction
    /// that stores it (which also claims a new key): a process killed after that commit leaves the key answered, so
    /// a retry replays this card where it made a second one.
    /// - Throws: a 402 card error for a malformed number, a Luhn failure, a live card in test mode, a bad expiry
    ///   or CVC; nothing is stored then.
    public func create(_ input: CreateInput, scope: IdempotencyScope? = nil) async throws -> PaymentMethod {
        let (paymentMethod, sealed) = try prepare(input)
        let response = try scope?.encoded(.paymentMethod(paymentMethod))
        try await context.database.write { tx in
            try tx.insert(paymentMethod, card: sealed)
            if let scope, let response { try scope.finish(tx, response: response) }
        }
        return paymentMethod
    }

    /// Checks a card and makes its payment method and sealed number, without storing them.
    func prepare(_ input: CreateInput) throws -> (PaymentMethod, SealedCard) {
        let now = context.clock.now()
        let card: CardNumber
        do {
            card = try CardNumber(parsing: input.card.number)
        } catch .invalidNumber {
            throw PaymentError.cardData(
                code: "invalid_number",
                message: "Your card number is invalid.",
                param: "card[number]"
            )
        } catch {
            throw PaymentError.cardData(
                code: "incorrect_number",
                message: "Your card number is incorrect.",
                param: "card[number]"
            )
        }
        let profile: CardProfile
        switch context.network.lookUp(card) {
        case .known(let known):
            profile = known
        case .refused(let decline):
            throw PaymentError.cardData(
                code: decline.code,
                declineCode: decline.declineCode,
                message: decline.message,
                param: decline.param
            )
        }
        let expiry = try Self.expiry(month: input.card.expMonth, year: input.card.expYear, now: now)
        if let cvc = input.card.cvc {
            do {
                try CardVerificationCode.validate(cvc, brand: card.brand)
            } catch {
                throw PaymentError.cardData(
                    code: "invalid_cvc",
                    message: "Your card's security code is invalid.",
                    param: "card[cvc]"
                )
            }
        }
        var paymentMethod = PaymentMethod(
            id: context.ids.paymentMethod(),
            created: now,
            brand: profile.brand.rawValue,
            last4: card.last4,
            expMonth: expiry.month,
            expYear: expiry.year,
            fingerprint: context.vault.fingerprint(card),
            funding: profile.funding.rawValue,
            country: profile.country,
            cvcCheck: input.card.cvc == nil ? nil : CheckResult.unchecked.rawValue,
            billingDetails: input.billingDetails,
            metadata: input.metadata
        )
        paymentMethod.uncheckAddress(from: nil)
        return (paymentMethod, try context.vault.sealedCard(card))
    }

    /// A payment method a payment names: one already stored, or a new one for a magic test id (`pm_card_visa`)
    /// that the payment's own first transaction stores, so making it costs no commit of its own.
    public struct Resolved: Sendable {
        public var paymentMethod: PaymentMethod
        /// The sealed card of a payment method not stored yet; nil for a stored one.
        public var unsaved: SealedCard?
        /// The card number of a payment method not stored yet (kept in memory only, never logged), so the
        /// transaction that stores it need not open what it has just sealed.
        var number: CardNumber?

        /// Stores the payment method in `tx` if it is new (and not stored by an earlier try of the same
        /// transaction's request).
        /// - Returns: true when this call inserted it: `paymentMethod` is then the stored row, and `number` its card.
        @discardableResult
        func store(in tx: any StoreTransaction) throws -> Bool {
            guard try isNew(in: tx), let unsaved else { return false }
            try tx.insert(paymentMethod, card: unsaved)
            return true
        }

        /// Whether the payment method is still to be stored in `tx` (see ``store(in:)``).
        func isNew(in tx: any StoreTransaction) throws -> Bool {
            guard unsaved != nil else { return false }
            return try tx.paymentMethod(paymentMethod.id) == nil
        }
    }

    /// Resolves a payment method for a payment, leaving a magic test id's new payment method to the caller's
    /// transaction (see ``Resolved``): a request refused in that transaction leaves no payment method behind.
    /// - Parameter param: the request parameter that named it, or nil when it is the URL's object.
    public func resolveForPayment(_ id: String, param: String?) async throws -> Resolved {
        if let number = context.network.testCardNumber(forPaymentMethodID: id) {
            let (paymentMethod, sealed) = try prepare(Self.magicCardInput(number, now: context.clock.now()))
            return Resolved(paymentMethod: paymentMethod, unsaved: sealed, number: try CardNumber(parsing: number))
        }
        return Resolved(paymentMethod: try await resolve(id, param: param), unsaved: nil)
    }

    /// Retrieves a payment method; Stripe's magic test ids (`pm_card_visa`, ...) make a new one each time.
    /// - Parameter param: the request parameter that named it, or nil when it is the URL's object.
    public func resolve(_ id: String, param: String?) async throws -> PaymentMethod {
        if let number = context.network.testCardNumber(forPaymentMethodID: id) {
            return try await materialize(number)
        }
        let found = try await context.database.read { tx in try tx.paymentMethod(id) }
        guard let found else {
            throw PaymentError.resourceMissing(
                "PaymentMethod",
                id: id,
                param: param ?? "payment_method",
                inURL: param == nil
            )
        }
        return found
    }

    /// Attaches a payment method to a customer so it can be charged again (also off-session).
    /// - Throws: Stripe's errors: unknown customer, a payment method already attached or no longer usable, and
    ///   the card errors of test cards that refuse attachment (a 402, as Stripe's decline cards do).
    public func attach(_ id: String, customer customerID: String) async throws -> PaymentMethod {
        let resolved = try await resolveForPayment(id, param: nil)
        let (network, vault) = (context.network, context.vault)
        return try await context.database.write { tx in
            guard let customer = try tx.customer(customerID), !customer.deleted else {
                throw PaymentError.resourceMissing("customer", id: customerID, param: "customer", inURL: false)
            }
            return try Self.attach(resolved, named: id, to: customer, network: network, vault: vault, tx: tx)
        }
    }

    /// Attaches `resolved` (named `id` in the request) to `customer` in `tx`: Stripe's checks, the card network's
    /// decline for cards refused at attach, and the magic test id's new payment method stored in this same
    /// transaction, so a refused attach leaves none behind.
    /// - Parameter param: the request parameter that named it, or nil when it is the URL's object.
    static func attach(
        _ resolved: Resolved,
        named id: String,
        param: String? = nil,
        to customer: Customer,
        network: any CardNetwork,
        vault: CardVault,
        tx: any StoreTransaction
    ) throws -> PaymentMethod {
        try resolved.store(in: tx)
        guard var paymentMethod = try tx.paymentMethod(resolved.paymentMethod.id) else {
            throw PaymentError.resourceMissing(
                "PaymentMethod",
                id: id,
                param: param ?? "payment_method",
                inURL: param == nil
            )
        }
        if paymentMethod.customer != nil {
            throw PaymentError.invalidRequest(
                "The payment method you provided has already been attached to a customer.",
                code: "payment_method_unexpected_state",
                param: "payment_method"
            )
        }
        guard paymentMethod.reusable else {
            throw PaymentError.invalidRequest(
                "The provided PaymentMethod was previously used with a PaymentIntent without Customer "
                    + "attachment, shared with a connected account without Customer attachment, or was detached "
                    + "from a Customer. It may not be used again. To use a PaymentMethod multiple times, you must "
                    + "attach it to a Customer first.",
                code: "payment_method_unexpected_state",
                param: "payment_method"
            )
        }
        // A payment in flight for another customer is charging the card: attached here meanwhile, its success could
        // not keep the card for the customer who paid (`setup_future_usage`), who would be left without it, and the
        // payment would have charged another customer's card. The confirm reads the card (on PostgreSQL, locked)
        // before it records its attempt, as this does before looking, so one of the two always sees the other.
        if try tx.pendingCharges(paymentMethod: paymentMethod.id).contains(where: { pending in
            pending.customer != nil && pending.customer != customer.id
        }) {
            throw PaymentError.invalidRequest(
                "This PaymentMethod is being charged by a payment for another customer. Attach it once that payment "
                    + "is done.",
                code: "payment_method_unexpected_state",
                param: "payment_method"
            )
        }
        if let card = try resolved.number ?? tx.cardNumber(of: paymentMethod.id, vault: vault) {
            if let decline = network.attachDecline(card, cvcProvided: paymentMethod.cvcCheck != nil) {
                throw PaymentError.card(
                    code: decline.code,
                    declineCode: decline.declineCode,
                    message: decline.message,
                    param: decline.param
                )
            }
            // The attach's verification at the issuer answers the card's checks, as Stripe's does
            if case .known(let profile) = network.lookUp(card) { paymentMethod.recordChecks(profile.checks) }
        }
        paymentMethod.customer = customer.id
        try tx.update(paymentMethod)
        return paymentMethod
    }

    /// Detaches a payment method from its customer; it can never be used again, as Stripe.
    public func detach(_ id: String) async throws -> PaymentMethod {
        try await context.database.write { tx in
            // The customer's row first, then the payment method's: the order deleting the customer takes (on
            // PostgreSQL the other order deadlocked with it, and the deadlock cost a second before one ran again).
            let ownerLocked = try tx.customer(ofPaymentMethod: id).flatMap { try tx.customer($0) }
            guard var paymentMethod = try tx.paymentMethod(id) else {
                throw PaymentError.resourceMissing("PaymentMethod", id: id, param: "payment_method", inURL: true)
            }
            guard let owner = paymentMethod.customer else {
                throw PaymentError.invalidRequest(
                    "The payment method you provided is not attached to a customer so detachment is impossible.",
                    code: "payment_method_unexpected_state",
                    param: "payment_method"
                )
            }
            paymentMethod.customer = nil
            paymentMethod.reusable = false
            paymentMethod.offSessionReady = false
            try tx.update(paymentMethod)
            let customer = ownerLocked?.id == owner ? ownerLocked : try tx.customer(owner)
            if var customer, customer.defaultPaymentMethod == id {
                customer.defaultPaymentMethod = nil
                try tx.update(customer)
            }
            return paymentMethod
        }
    }

    /// Updates a payment method's billing details (merged: fields the update leaves out keep their values),
    /// metadata or expiry.
    public func update(
        _ id: String,
        billingDetails: BillingDetails.Update?,
        metadata: [String: String?]?,
        clearMetadata: Bool,
        expMonth: Int?,
        expYear: Int?
    ) async throws -> PaymentMethod {
        let now = context.clock.now()
        return try await context.database.write { tx in
            guard var paymentMethod = try tx.paymentMethod(id) else {
                throw PaymentError.resourceMissing("PaymentMethod", id: id, param: "payment_method", inURL: true)
            }
            // Stripe's rule: "A PaymentMethod must be attached to a customer to be updated."
            guard paymentMethod.customer != nil else {
                throw PaymentError.invalidRequest(
                    "You must save this PaymentMethod to a customer before you can update it.",
                    code: "payment_method_unexpected_state"
                )
            }
            if let billingDetails {
                let before = paymentMethod.billingDetails
                paymentMethod.billingDetails = billingDetails.applied(to: before)
                paymentMethod.uncheckAddress(from: before)
            }
            try paymentMethod.metadata.applyMetadata(metadata, clearingFirst: clearMetadata)
            if expMonth != nil || expYear != nil {
                let expiry = try Self.expiry(
                    month: expMonth ?? paymentMethod.expMonth,
                    year: expYear ?? paymentMethod.expYear,
                    now: now
                )
                paymentMethod.expMonth = expiry.month
                paymentMethod.expYear = expiry.year
            }
            try tx.update(paymentMethod)
            return paymentMethod
        }
    }

    /// A card expiry checked against `now`, with Stripe's card errors.
    static func expiry(month: Int, year: Int, now: Int64) throws(PaymentError) -> CardExpiry {
        do {
            return try CardExpiry(month: month, year: year, nowUnixSeconds: now)
        } catch .invalidExpiryMonth {
            throw .cardData(
                code: "invalid_expiry_month",
                message: "Your card's expiration month is invalid.",
                param: "card[exp_month]"
            )
        } catch {
            throw .cardData(
                code: "invalid_expiry_year",
                message: "Your card's expiration year is invalid.",
                param: "card[exp_year]"
            )
        }
    }

    /// A new payment method for a test card number, as Stripe materialises its magic ids: any future expiry, a
    /// CVC.
    func materialize(_ number: String) async throws -> PaymentMethod {
        try await create(Self.magicCardInput(number, now: context.clock.now()))
    }

    /// The card a magic test id stands for: its number, a future expiry and a CVC.
    static func magicCardInput(_ number: String, now: Int64) throws -> CreateInput {
        let expiry = try CardExpiry(month: 12, year: UTCYearMonth(unixSeconds: now).year + 3, nowUnixSeconds: now)
        let amex = CardBrand.detect(fromDigits: number) == .amex
        return CreateInput(
            card: CardInput(number: number, expMonth: expiry.month, expYear: expiry.year, cvc: amex ? "1234" : "123")
        )
    }
}
