import PaymentsCore

// MARK: - Expansions below the first level

extension Lookup {
    /// The objects an `expand[]` path reaches below its first field (`latest_charge.customer`,
    /// `payment_intent.payment_method`, `invoice_settings.default_payment_method.customer`), by id, read in the same
    /// snapshot as the object that names them. The renderer puts each in place of its id along the path.
    ///
    /// The objects of a path's first field are in the bundles (``IntentBundle``, ``ChargeBundle``) or read by the
    /// controllers; they are read here too, as the path's way down, so this holds every object the path goes
    /// through.
    public struct Related: Sendable {
        /// An object reached by a path.
        public enum Object: Sendable {
            /// An intent, with the payment method its last error shows in full.
            case paymentIntent(PaymentIntent, errorPaymentMethod: PaymentMethod?)
            /// A charge, with its card and refunds (what its rendering always shows).
            case charge(ChargeBundle)
            case customer(Customer)
            case paymentMethod(PaymentMethod)
            /// A refund or a setup intent: only a path's start, never named by another object's field.
            case refund(Refund)
            case setupIntent(SetupIntent)
        }

        /// The objects, by id.
        public var objects: [String: Object] = [:]

        /// Nothing below a first field was asked for (or found).
        public var isEmpty: Bool { objects.isEmpty }

        /// No objects.
        public init() {}
    }

    /// Whether `expand` names a path below a first field (a dot), which ``related(to:expand:in:)`` follows.
    public static func goesDeeper(_ expand: Set<String>) -> Bool {
        expand.contains { $0.contains(".") }
    }

    /// Reads the objects the paths of `expand` go through from `root`, in `tx`: for each path, field by field, the
    /// object the field names, until a field that names none (null, or always null here, as `balance_transaction`).
    /// Paths were checked against what each object expands (`Expansion`); a name no object has ends the walk.
    public static func related(to root: Related.Object, expand: Set<String>, in tx: any StoreTransaction) throws
        -> Related
    {
        var related = Related()
        for path in expand where path.contains(".") {
            var fields = path.split(separator: ".")[...]
            var object = root
            while let (id, target, used) = step(fields, from: object) {
                fields = fields.dropFirst(used)
                if let known = related.objects[id] {
                    object = known
                    continue
                }
                guard let loaded = try read(id, as: target, in: tx) else { break }
                related.objects[id] = loaded
                object = loaded
            }
        }
        return related
    }

    /// ``related(to:expand:in:)`` in a snapshot of its own: for the objects a controller reads itself (a customer, a
    /// payment method, a refund, a setup intent). Reads nothing when `expand` has no path below a first field.
    public func related(to root: Related.Object, expand: Set<String>) async throws -> Related {
        guard Self.goesDeeper(expand) else { return Related() }
        return try await database.read { tx in try Self.related(to: root, expand: expand, in: tx) }
    }

    /// What an object's field names: an object's id and the kind it is, and how many of the path's names the field
    /// takes (`invoice_settings.default_payment_method` is one field of two names); nil for a field that names no
    /// object (null, or none that expands).
    private static func step(_ fields: ArraySlice<Substring>, from object: Related.Object) -> (
        id: String, kind: Kind, used: Int
    )? {
        guard let field = fields.first else { return nil }
        let named: (String?, Kind)?
        var used = 1
        switch (object, field) {
        case (.paymentIntent(let intent, _), "payment_method"): named = (intent.paymentMethod, .paymentMethod)
        case (.paymentIntent(let intent, _), "customer"): named = (intent.customer, .customer)
        case (.paymentIntent(let intent, _), "latest_charge"): named = (intent.latestCharge, .charge)
        case (.charge(let bundle), "payment_intent"): named = (bundle.charge.paymentIntent, .paymentIntent)
        case (.charge(let bundle), "customer"): named = (bundle.charge.customer, .customer)
        case (.refund(let refund), "charge"): named = (refund.charge, .charge)
        case (.refund(let refund), "payment_intent"): named = (refund.paymentIntent, .paymentIntent)
        case (.paymentMethod(let paymentMethod), "customer"): named = (paymentMethod.customer, .customer)
        case (.setupIntent(let setup), "payment_method"): named = (setup.paymentMethod, .paymentMethod)
        case (.setupIntent(let setup), "customer"): named = (setup.customer, .customer)
        case (.customer(let customer), "invoice_settings")
        where fields.dropFirst().first == "default_payment_method" && !customer.deleted:
            named = (customer.defaultPaymentMethod, .paymentMethod)
            used = 2
        default: named = nil
        }
        guard let named, let id = named.0 else { return nil }
        return (id, named.1, used)
    }

    /// The kinds of object a field names.
    private enum Kind { case paymentIntent, charge, customer, paymentMethod }

    /// The object `id` of `kind`, with what its rendering shows, or nil when there is none.
    private static func read(_ id: String, as kind: Kind, in tx: any StoreTransaction) throws -> Related.Object? {
        switch kind {
        case .paymentIntent:
            guard let intent = try tx.paymentIntent(id) else { return nil }
            let errorPaymentMethod = try intent.lastPaymentError?.paymentMethod.flatMap { try tx.paymentMethod($0) }
            return .paymentIntent(intent, errorPaymentMethod: errorPaymentMethod)
        case .charge:
            return try tx.charge(id).map { .charge(try chargeBundle(for: $0, in: tx)) }
        case .customer:
            return try tx.customer(id).map { .customer($0) }
        case .paymentMethod:
            return try tx.paymentMethod(id).map { .paymentMethod($0) }
        }
    }
}
