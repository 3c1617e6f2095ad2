import PaymentsCore

extension Lookup {
    /// Everything a SetupIntent's rendering may show, read in one snapshot.
    public struct SetupIntentBundle: Sendable {
        public var setupIntent: SetupIntent
        public var paymentMethod: PaymentMethod?
        public var lastErrorPaymentMethod: PaymentMethod?
        public var customer: Customer?
        /// The objects the request's `expand[]` paths reach below their first field.
        public var related = Related()

        /// Creates a bundle; related objects not given are shown by id.
        public init(
            setupIntent: SetupIntent,
            paymentMethod: PaymentMethod? = nil,
            lastErrorPaymentMethod: PaymentMethod? = nil,
            customer: Customer? = nil
        ) {
            self.setupIntent = setupIntent
            self.paymentMethod = paymentMethod
            self.lastErrorPaymentMethod = lastErrorPaymentMethod
            self.customer = customer
        }
    }

    /// Reads a setup intent's related objects that its rendering shows: those `expand` names, and the payment
    /// method of its last error, which the error shows in full.
    public func bundle(for setup: SetupIntent, expand: Set<String>) async throws -> SetupIntentBundle {
        let paymentMethod = expand.contains("payment_method") ? setup.paymentMethod : nil
        let customer = expand.contains("customer") ? setup.customer : nil
        let errorPaymentMethod = setup.lastSetupError?.paymentMethod
        if paymentMethod == nil && customer == nil && errorPaymentMethod == nil {
            return SetupIntentBundle(setupIntent: setup)
        }
        return try await database.read { tx in
            var bundle = SetupIntentBundle(
                setupIntent: setup,
                paymentMethod: try paymentMethod.flatMap { try tx.paymentMethod($0) },
                lastErrorPaymentMethod: try errorPaymentMethod.flatMap { try tx.paymentMethod($0) },
                customer: try customer.flatMap { try tx.customer($0) }
            )
            if Self.goesDeeper(expand) {
                bundle.related = try Self.related(to: .setupIntent(setup), expand: expand, in: tx)
            }
            return bundle
        }
    }

    /// The setup intent with `id`, if any.
    public func setupIntent(_ id: String) async throws -> SetupIntent? {
        try await database.read { tx in try tx.setupIntent(id) }
    }
}
