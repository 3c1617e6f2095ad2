import PaymentsCore

// MARK: - Charges

extension Lookup {
    /// Everything a Charge's rendering may show, read in one snapshot: the card it was paid with, its refunds, and
    /// the related objects it expands.
    public struct ChargeBundle: Sendable {
        public var charge: Charge
        /// The payment method the charge was made with (its card details and billing details).
        public var paymentMethod: PaymentMethod?
        /// The first page of the charge's refunds, newest first (its `refunds` list).
        public var refunds: Page<Refund>
        /// The charge's intent, when expanded, with the payment method its last error shows (an intent bundle of
        /// its own would make the two bundle types contain each other).
        public var paymentIntent: PaymentIntent?
        public var paymentIntentErrorPaymentMethod: PaymentMethod?
        /// The charge's customer, when expanded.
        public var customer: Customer?
        /// The objects the request's `expand[]` paths reach below their first field.
        public var related = Related()

        /// Creates a bundle; related objects not given are shown by id.
        public init(
            charge: Charge,
            paymentMethod: PaymentMethod? = nil,
            refunds: Page<Refund> = Page(items: [], hasMore: false),
            paymentIntent: PaymentIntent? = nil,
            paymentIntentErrorPaymentMethod: PaymentMethod? = nil,
            customer: Customer? = nil
        ) {
            self.charge = charge
            self.paymentMethod = paymentMethod
            self.refunds = refunds
            self.paymentIntent = paymentIntent
            self.paymentIntentErrorPaymentMethod = paymentIntentErrorPaymentMethod
            self.customer = customer
        }

        /// The expanded intent as its own rendering reads it (its related objects shown by id).
        public var paymentIntentBundle: IntentBundle? {
            paymentIntent.map { IntentBundle(intent: $0, lastErrorPaymentMethod: paymentIntentErrorPaymentMethod) }
        }
    }

    /// Reads a charge's card, refunds and the related objects `expand` names, in one consistent snapshot.
    public func chargeBundle(for charge: Charge, expand: Set<String> = []) async throws -> ChargeBundle {
        try await database.read { tx in try Self.chargeBundle(for: charge, in: tx, expand: expand) }
    }

    /// Reads a charge's card, refunds and the related objects `expand` names inside a transaction.
    public static func chargeBundle(
        for charge: Charge,
        in tx: any StoreTransaction,
        expand: Set<String> = []
    ) throws -> ChargeBundle {
        let intent = expand.contains("payment_intent") ? try tx.paymentIntent(charge.paymentIntent) : nil
        var bundle = ChargeBundle(
            charge: charge,
            paymentMethod: try charge.paymentMethod.flatMap { try tx.paymentMethod($0) },
            refunds: try tx.refunds(paymentIntent: nil, charge: charge.id, created: nil, page: PageRequest()),
            paymentIntent: intent,
            paymentIntentErrorPaymentMethod: try intent?.lastPaymentError?.paymentMethod.flatMap {
                try tx.paymentMethod($0)
            },
            customer: expand.contains("customer") ? try charge.customer.flatMap { try tx.customer($0) } : nil
        )
        if goesDeeper(expand) { bundle.related = try related(to: .charge(bundle), expand: expand, in: tx) }
        return bundle
    }
}
