import Payments
import PaymentsCore

/// Reads and checks `expand[]`.
enum Expansion {
    /// Fields Stripe expands that are always null here: there are no balance transactions (no fees, no payouts),
    /// so expanding one shows null, as Stripe shows an expanded field that is null. Accepted, not refused: Stripe's
    /// docs read a payment's fees with `expand[]=latest_charge.balance_transaction`.
    static let alwaysNull: Set<String> = ["balance_transaction"]
    /// A PaymentIntent's fields Stripe's schema lists as expandable (`x-expandableFields`) that are always null here
    /// (no reviews, invoices, Connect applications or accounts): expanding one shows null, as Stripe expands a null
    /// field, rather than a 400. A path below one (`review.charge`) is refused, as `balance_transaction.x` is.
    static let intentNull: Set<String> = ["application", "invoice", "on_behalf_of", "review"]
    /// A Charge's expandable fields that are always null here (`transfer` is not shown at all, so it stays refused).
    static let chargeNull: Set<String> = alwaysNull.union([
        "application", "application_fee", "failure_balance_transaction", "invoice", "on_behalf_of", "review",
        "source_transfer",
    ])
    /// A Refund's expandable fields that are always null here (`failure_balance_transaction` is shown, null, only on
    /// a failed refund, as Stripe's; expanding it does not add it to any other refund).
    static let refundNull: Set<String> = alwaysNull.union([
        "failure_balance_transaction", "source_transfer_reversal", "transfer_reversal",
    ])
    /// A Customer's expandable fields that are always null here (no sources, no test clocks).
    static let customerNull: Set<String> = ["default_source", "test_clock"]
    /// A SetupIntent's expandable fields that are always null here (no mandates, no Connect). Not `latest_attempt`:
    /// it names a SetupAttempt, which is not served.
    static let setupIntentNull: Set<String> = ["application", "mandate", "on_behalf_of", "single_use_mandate"]
    /// The fields a PaymentIntent can expand, down to ``maximumDepth`` (``paths(of:)``).
    static let intentFields = paths(of: .paymentIntent)
    /// The fields an intent's request can expand: ``intentFields``, and for API versions before 2022-11-15 (whose
    /// intents show their `charges` list to a secret key) the fields of the list's charges that are always null, as
    /// that era's fee code named them (`charges.data.balance_transaction`). The list itself is shown by the version,
    /// never by an expansion.
    static func intentFields(_ context: StripeRequestContext) -> Set<String> {
        guard context.scope != .publishable, RenderOptions.showsChargesList(version: context.apiVersion) else {
            return intentFields
        }
        return legacyIntentFields
    }
    static let legacyIntentFields = intentFields.union(chargeNull.map { "\(Lookup.legacyCharges).data." + $0 })

    /// The fields a Charge can expand, down to ``maximumDepth``.
    static let chargeFields = paths(of: .charge)
    /// The fields a Refund can expand (its charge and its PaymentIntent: reconciliation reads the charge from a
    /// refund), down to ``maximumDepth``, on retrieve, update and list.
    static let refundFields = paths(of: .refund)
    /// The objects a Refund expands.
    static let refundObjects: Set<String> = ["charge", "payment_intent"]
    /// The fields a SetupIntent can expand, down to ``maximumDepth``.
    static let setupIntentFields = paths(of: .setupIntent)
    /// The fields a PaymentMethod can expand (its customer), down to ``maximumDepth``.
    static let paymentMethodFields = paths(of: .paymentMethod)
    /// The fields a Customer can expand (its default card, read by subscription code as Stripe's docs show:
    /// `expand[]=invoice_settings.default_payment_method`, and its always-null fields), down to ``maximumDepth``.
    static let customerFields = paths(of: .customer)
    /// A customer's default card, as `expand[]` names it.
    static let customerDefaultCard = "invoice_settings.default_payment_method"

    /// The objects whose fields expand.
    enum Object {
        case paymentIntent, charge, refund, customer, paymentMethod, setupIntent
    }

    /// Each object's expandable fields, and what each holds when expanded: an object, or nil for a field that is
    /// always null here (nothing below it expands) or a list (a charge's `refunds`, always shown as in API versions
    /// before 2022-11-15, so expanding it is accepted and changes nothing).
    static let fields: [Object: [String: Object?]] = [
        .paymentIntent: nulls(intentNull).merging(
            ["payment_method": .paymentMethod, "customer": .customer, "latest_charge": .charge]
        ) { $1 },
        .charge: nulls(chargeNull).merging(
            ["payment_intent": .paymentIntent, "customer": .customer, "refunds": Object?.none]
        ) { $1 },
        .refund: nulls(refundNull).merging(["charge": .charge, "payment_intent": .paymentIntent]) { $1 },
        .customer: nulls(customerNull).merging([customerDefaultCard: .paymentMethod]) { $1 },
        .paymentMethod: ["customer": .customer],
        .setupIntent: nulls(setupIntentNull).merging(["payment_method": .paymentMethod, "customer": .customer]) {
            $1
        },
    ]

    /// Fields that are always null here.
    private static func nulls(_ names: Set<String>) -> [String: Object?] {
        Dictionary(uniqueKeysWithValues: names.map { ($0, Object?.none) })
    }

    /// How many fields one `expand[]` entry may go through, as Stripe's ("a maximum depth of four levels"):
    /// `latest_charge.payment_intent.customer.invoice_settings.default_payment_method` is four.
    static let maximumDepth = 4

    /// Every path `object` can expand, through at most `depth` fields: each of its fields, and below each field
    /// that holds an object, that object's paths (`latest_charge.customer`, `payment_intent.payment_method`).
    static func paths(of object: Object, depth: Int = maximumDepth) -> Set<String> {
        guard depth > 0, let fields = fields[object] else { return [] }
        var paths: Set<String> = []
        for (field, target) in fields {
            paths.insert(field)
            guard let target else { continue }
            for path in self.paths(of: target, depth: depth - 1) { paths.insert(field + "." + path) }
        }
        return paths
    }

    /// How many fields a path goes through: its names, `invoice_settings.default_payment_method` being one field.
    static func fields(in path: String) -> Int {
        path.split(separator: ".").count(where: { $0 != "invoice_settings" })
    }

    /// Reads `expand` and checks every entry against `allowed`.
    ///
    /// On a list every entry needs the `data.` prefix, as Stripe's: a bare field names a property of the list
    /// object itself, which has none to expand, and is refused rather than silently ignored.
    static func read(_ params: inout Parameters, allowed: Set<String>, list: Bool = false) throws(PaymentError)
        -> [String]
    {
        let values = try params.stringList("expand") ?? []
        for value in values {
            if list && !value.hasPrefix("data.") {
                throw .invalidRequest(
                    "This property cannot be expanded (\(value)). You may want to try expanding 'data.\(value)' "
                        + "instead.",
                    param: "expand"
                )
            }
            let field = list ? String(value.dropFirst(5)) : value
            // On a list `data` is one of the four levels, as Stripe counts them (its deepest for charges is
            // `data.payment_intent.customer.default_source`): a list took one more than a retrieve (a probe)
            guard allowed.contains(field), !list || fields(in: field) < maximumDepth else {
                throw .invalidRequest("This property cannot be expanded (\(value)).", param: "expand")
            }
        }
        // A field of an expanded object expands that object too (`latest_charge.balance_transaction` shows the charge;
        // the objects below the first are expanded by ``NestedExpansion``, which walks the whole path)
        var expanded = values
        for value in values {
            let field = list ? value.dropFirst(5) : Substring(value)
            guard let dot = field.firstIndex(of: ".") else { continue }
            let parent = (list ? "data." : "") + field[..<dot]
            if !expanded.contains(parent) { expanded.append(parent) }
        }
        return expanded
    }
}
