import Payments
import PaymentsCore

/// Reads and checks `expand[]`.
enum Expansion {
    /// Fields Stripe expands that are always null here: there are no balance transactions (no fees, no payouts),
    /// so expanding one shows null, as Stripe shows an expanded field that is null. Accepted, not refused: Stripe's
    /// docs read a payment's fees with `expand[]=latest_charge.balance_transaction`.
    static let alwaysNull: Set<String> = ["balance_transaction"]
    /// The fields a PaymentIntent can expand (its latest charge's balance transaction expands the charge).
    static let intentFields = Set(
        ["payment_method", "customer", "latest_charge"] + alwaysNull.map { "latest_charge." + $0 }
    )
    /// The fields a Charge can expand.
    static let chargeFields: Set<String> = Lookup.chargeExpandable.union(alwaysNull)
    /// The fields a Refund can expand: its charge and its PaymentIntent (reconciliation reads the charge from a
    /// refund), on retrieve, update and list.
    static let refundFields: Set<String> = alwaysNull.union(refundObjects)
    /// The objects a Refund expands.
    static let refundObjects: Set<String> = ["charge", "payment_intent"]
    /// The fields a SetupIntent can expand.
    static let setupIntentFields: Set<String> = Lookup.setupIntentExpandable
    /// The fields a PaymentMethod can expand: its customer.
    static let paymentMethodFields: Set<String> = ["customer"]
    /// The fields a Customer can expand: its default card, read by subscription code as Stripe's docs show
    /// (`expand[]=invoice_settings.default_payment_method`).
    static let customerFields: Set<String> = [customerDefaultCard]
    /// A customer's default card, as `expand[]` names it.
    static let customerDefaultCard = "invoice_settings.default_payment_method"

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
            guard allowed.contains(field) else {
                throw .invalidRequest("This property cannot be expanded (\(value)).", param: "expand")
            }
        }
        // A field of an expanded object expands that object too (`latest_charge.balance_transaction` shows the charge)
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
