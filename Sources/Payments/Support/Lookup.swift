import PaymentsCore

/// Plain reads by id, for rendering related objects (expansions, the payment method inside an error).
public struct Lookup: Sendable {
    let database: any PaymentStore

    /// Creates a lookup over `database`.
    public init(database: any PaymentStore) { self.database = database }

    /// Everything a PaymentIntent's rendering may show, read in one snapshot.
    public struct IntentBundle: Sendable {
        public var intent: PaymentIntent
        public var paymentMethod: PaymentMethod?
        public var lastErrorPaymentMethod: PaymentMethod?
        public var customer: Customer?
        public var latestCharge: Charge?
    }

    /// Reads an intent and its related objects in one consistent snapshot.
    public func bundle(for intent: PaymentIntent) async throws -> IntentBundle {
        try await database.read { tx in try Self.bundle(for: intent, in: tx) }
    }

    /// Reads an intent's related objects inside a transaction (the final one of an idempotent request).
    public static func bundle(for intent: PaymentIntent, in tx: any StoreTransaction) throws -> IntentBundle {
        IntentBundle(
            intent: intent,
            paymentMethod: try intent.paymentMethod.flatMap { try tx.paymentMethod($0) },
            lastErrorPaymentMethod: try intent.lastPaymentError?.paymentMethod.flatMap { try tx.paymentMethod($0) },
            customer: try intent.customer.flatMap { try tx.customer($0) },
            latestCharge: try intent.latestCharge.flatMap { try tx.charge($0) }
        )
    }

    /// The intent with `id`, if any.
    public func paymentIntent(_ id: String) async throws -> PaymentIntent? {
        try await database.read { tx in try tx.paymentIntent(id) }
    }

    /// The payment method with `id`, if any.
    public func paymentMethod(_ id: String) async throws -> PaymentMethod? {
        try await database.read { tx in try tx.paymentMethod(id) }
    }
}
