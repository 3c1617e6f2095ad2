import PaymentsCore

/// Creating, reading, changing and deleting customers.
public struct Customers: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// The fields a create or update may set; nil leaves a field as it is, `.some(nil)` clears it.
    public struct Fields: Sendable {
        public var email: String??
        public var name: String??
        public var phone: String??
        public var description: String??
        /// Keys to set; a nil value deletes the key.
        public var metadata: [String: String?]?
        /// Replace all metadata with nothing first (`metadata=`).
        public var clearMetadata: Bool
        public var defaultPaymentMethod: String??
        /// The customer's address and shipping, each replaced whole when given.
        public var address: Address??
        public var shipping: Shipping??

        /// Creates fields.
        public init(
            email: String?? = nil,
            name: String?? = nil,
            phone: String?? = nil,
            description: String?? = nil,
            metadata: [String: String?]? = nil,
            clearMetadata: Bool = false,
            defaultPaymentMethod: String?? = nil,
            address: Address?? = nil,
            shipping: Shipping?? = nil
        ) {
            self.email = email
            self.name = name
            self.phone = phone
            self.description = description
            self.metadata = metadata
            self.clearMetadata = clearMetadata
            self.defaultPaymentMethod = defaultPaymentMethod
            self.address = address
            self.shipping = shipping
        }
    }

    /// Creates a customer; with `paymentMethod` (Stripe's `payment_method`), attaches it to the new customer in the
    /// same transaction, as `POST /v1/payment_methods/:id/attach` would (a refused attach creates no customer), so
    /// that `invoice_settings[default_payment_method]` may name it.
    public func create(_ fields: Fields, paymentMethod: String? = nil) async throws -> Customer {
        let created = try new(fields)
        var resolved: PaymentMethods.Resolved?
        if let paymentMethod {
            resolved = try await PaymentMethods(context: context).resolveForPayment(
                paymentMethod,
                param: "payment_method"
            )
        }
        let (network, vault) = (context.network, context.vault)
        return try await context.database.write { [resolved] tx in
            var customer = created
            // Stripe's own example names a test id twice (`payment_method=pm_card_visa` and
            // `invoice_settings[default_payment_method]=pm_card_visa`): the default is the card attached here.
            if let paymentMethod, let resolved, customer.defaultPaymentMethod == paymentMethod {
                customer.defaultPaymentMethod = resolved.paymentMethod.id
            }
            try tx.insert(customer)
            if let paymentMethod, let resolved {
                _ = try PaymentMethods.attach(
                    resolved,
                    named: paymentMethod,
                    param: "payment_method",
                    to: customer,
                    network: network,
                    vault: vault,
                    tx: tx
                )
            }
            if let pm = customer.defaultPaymentMethod {
                try Self.checkDefault(pm, customer: customer.id, tx: tx)
            }
            return customer
        }
    }

    /// A new customer with `fields`, not stored yet (a use case that makes one stores it in its own transaction).
    func new(_ fields: Fields) throws(PaymentError) -> Customer {
        var customer = Customer(id: context.ids.customer(), created: context.clock.now())
        try Self.apply(fields, to: &customer)
        return customer
    }

    /// Retrieves a customer, deleted or not (a deleted one renders as Stripe's deleted stub).
    public func retrieve(_ id: String) async throws -> Customer {
        let found = try await context.database.read { tx in try tx.customer(id) }
        guard let found else { throw PaymentError.resourceMissing("customer", id: id, param: "id", inURL: true) }
        return found
    }

    /// Updates a customer.
    public func update(_ id: String, _ fields: Fields) async throws -> Customer {
        try await context.database.write { tx in
            guard var customer = try tx.customer(id), !customer.deleted else {
                throw PaymentError.resourceMissing("customer", id: id, param: "id", inURL: true)
            }
            try Self.apply(fields, to: &customer)
            if case .some(.some(let pm)) = fields.defaultPaymentMethod {
                try Self.checkDefault(pm, customer: id, tx: tx)
            }
            try tx.update(customer)
            return customer
        }
    }

    /// Deletes a customer for good; its payment methods are detached (and can never be used again).
    public func delete(_ id: String) async throws -> Customer {
        try await context.database.write { tx in
            guard var customer = try tx.customer(id), !customer.deleted else {
                throw PaymentError.resourceMissing("customer", id: id, param: "id", inURL: true)
            }
            try tx.detachPaymentMethods(ofCustomer: id)
            // The row keeps its default card, detached now (never used again: every use of a deleted customer is
            // refused), so `customer.deleted` shows the customer as it was; it showed the default as null
            customer.deleted = true
            try tx.update(customer)
            return customer
        }
    }

    /// A customer's attached payment methods, newest first.
    public func paymentMethods(_ id: String, page: PageRequest, inURL: Bool) async throws -> Page<PaymentMethod> {
        try await context.database.read { tx in
            guard let customer = try tx.customer(id), !customer.deleted else {
                throw PaymentError.resourceMissing("customer", id: id, param: inURL ? "id" : "customer", inURL: inURL)
            }
            return try tx.paymentMethods(customer: id, page: page)
        }
    }

    /// One of a customer's payment methods (`GET /v1/customers/:id/payment_methods/:payment_method`).
    /// - Throws: 404 for an unknown or deleted customer, and for a payment method not attached to this customer (as
    ///   Stripe: another customer's card is no such payment method here).
    public func paymentMethod(_ id: String, customer customerID: String) async throws -> PaymentMethod {
        try await context.database.read { tx in
            guard let customer = try tx.customer(customerID), !customer.deleted else {
                throw PaymentError.resourceMissing("customer", id: customerID, param: "customer", inURL: true)
            }
            guard let paymentMethod = try tx.paymentMethod(id), paymentMethod.customer == customer.id else {
                throw PaymentError.resourceMissing("PaymentMethod", id: id, param: "payment_method", inURL: true)
            }
            return paymentMethod
        }
    }

    /// Lists customers, newest first.
    public func list(email: String?, created: CreatedFilter?, page: PageRequest) async throws -> Page<Customer> {
        try await context.database.read { tx in try tx.customers(email: email, created: created, page: page) }
    }

    private static func apply(_ fields: Fields, to customer: inout Customer) throws(PaymentError) {
        if let email = fields.email { customer.email = email }
        if let name = fields.name { customer.name = name }
        if let phone = fields.phone { customer.phone = phone }
        if let description = fields.description { customer.description = description }
        if let address = fields.address { customer.address = address }
        if let shipping = fields.shipping { customer.shipping = shipping }
        try customer.metadata.applyMetadata(fields.metadata, clearingFirst: fields.clearMetadata)
        if let pm = fields.defaultPaymentMethod { customer.defaultPaymentMethod = pm }
    }

    private static func checkDefault(
        _ paymentMethodID: String,
        customer: String,
        tx: any StoreTransaction
    ) throws {
        guard let pm = try tx.paymentMethod(paymentMethodID) else {
            throw PaymentError.resourceMissing(
                "PaymentMethod",
                id: paymentMethodID,
                param: "invoice_settings[default_payment_method]",
                inURL: false
            )
        }
        if pm.customer != customer {
            throw PaymentError.invalidRequest(
                "The customer does not have a payment method with the ID \(paymentMethodID). The payment method must "
                    + "be attached to the customer.",
                code: "resource_missing",
                param: "invoice_settings[default_payment_method]"
            )
        }
    }
}
