import Payments
import PaymentsCore

/// Reads and checks `expand[]`.
enum Expansion {
    /// The fields a PaymentIntent can expand.
    static let intentFields: Set<String> = ["payment_method", "customer", "latest_charge"]
    /// The fields a Charge can expand.
    static let chargeFields: Set<String> = Lookup.chargeExpandable
    /// The fields a SetupIntent can expand.
    static let setupIntentFields: Set<String> = Lookup.setupIntentExpandable

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
        return values
    }
}
