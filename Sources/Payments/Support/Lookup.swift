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
        public var latestCharge: ChargeBundle?
        /// The intent's `charges` list for API versions before 2022-11-15 (``legacyCharges``): its latest charge alone,
        /// as Stripe's held ("only the latest charge, even if there were previously multiple unsuccessful charges");
        /// nil when not read.
        public var charges: Page<ChargeBundle>?
        /// The objects the request's `expand[]` paths reach below their first field.
        public var related = Related()

        /// Creates a bundle; related objects not given are shown by id.
        public init(
            intent: PaymentIntent,
            paymentMethod: PaymentMethod? = nil,
            lastErrorPaymentMethod: PaymentMethod? = nil,
            customer: Customer? = nil,
            latestCharge: ChargeBundle? = nil,
            charges: Page<ChargeBundle>? = nil
        ) {
            self.intent = intent
            self.paymentMethod = paymentMethod
            self.lastErrorPaymentMethod = lastErrorPaymentMethod
            self.customer = customer
            self.latestCharge = latestCharge
            self.charges = charges
        }
    }

    /// The name, among a rendering's expansions, of the intent's `charges` list: API versions before 2022-11-15 show
    /// every PaymentIntent with a list of its latest charge (pinned clients read `charges.data[0]`), where later ones
    /// have `latest_charge`. Not a name a client can send (`expand[]=charges` is refused as Stripe refuses it): the
    /// request's `Stripe-Version` adds it.
    public static let legacyCharges = "charges"

    /// The related objects a rendering can expand (Stripe's `expand[]` names); every other one is shown by id.
    public static let expandable: Set<String> = ["payment_method", "customer", "latest_charge"]

    /// Reads an intent and the related objects its rendering shows, in one consistent snapshot.
    /// - Parameter expand: the related objects expanded (by Stripe's names); the rest are not read at all.
    public func bundle(for intent: PaymentIntent, expand: Set<String> = Lookup.expandable) async throws
        -> IntentBundle
    {
        if !Self.needsRead(intent, expand: expand) { return IntentBundle(intent: intent) }
        return try await database.read { tx in try Self.bundle(for: intent, in: tx, expand: expand) }
    }

    /// Reads an intent's related objects inside a transaction (the final one of an idempotent request): only those
    /// `expand` names, and the payment method of its last error, which the error shows in full.
    public static func bundle(
        for intent: PaymentIntent,
        in tx: any StoreTransaction,
        expand: Set<String> = Lookup.expandable
    ) throws -> IntentBundle {
        // An expanded latest charge shows its own card and refunds; so does an old version's `charges` list of it.
        let latest =
            expand.contains("latest_charge") || expand.contains(legacyCharges)
            ? try intent.latestCharge.flatMap { try tx.charge($0) }.map { try chargeBundle(for: $0, in: tx) } : nil
        let errorPaymentMethod = try intent.lastPaymentError?.paymentMethod.flatMap { try tx.paymentMethod($0) }
        var bundle = IntentBundle(
            intent: intent,
            paymentMethod: expand.contains("payment_method")
                ? try intent.paymentMethod.flatMap { try tx.paymentMethod($0) } : nil,
            lastErrorPaymentMethod: errorPaymentMethod,
            customer: expand.contains("customer") ? try intent.customer.flatMap { try tx.customer($0) } : nil,
            latestCharge: expand.contains("latest_charge") ? latest : nil,
            charges: expand.contains(legacyCharges) ? Page(items: latest.map { [$0] } ?? [], hasMore: false) : nil
        )
        if goesDeeper(expand) {
            bundle.related = try related(
                to: .paymentIntent(intent, errorPaymentMethod: errorPaymentMethod),
                expand: expand,
                in: tx
            )
        }
        return bundle
    }

    /// The bundle ``bundle(for:in:expand:)`` makes for `intent` when it needs no read (nothing expanded to show, no
    /// payment method in its last error); nil otherwise.
    static func bundleWithoutReads(for intent: PaymentIntent, expand: Set<String>) -> IntentBundle? {
        needsRead(intent, expand: expand) ? nil : IntentBundle(intent: intent)
    }

    /// Whether rendering `intent` with `expand` needs anything beyond the intent itself.
    static func needsRead(_ intent: PaymentIntent, expand: Set<String>) -> Bool {
        intent.lastPaymentError?.paymentMethod != nil
            || (expand.contains("payment_method") && intent.paymentMethod != nil)
            || (expand.contains("customer") && intent.customer != nil)
            || ((expand.contains("latest_charge") || expand.contains(legacyCharges)) && intent.latestCharge != nil)
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
