import PaymentsCore

/// Reads and checks `expand[]`.
enum Expansion {
    /// The fields a PaymentIntent can expand.
    static let intentFields: Set<String> = ["payment_method", "customer", "latest_charge"]

    /// Reads `expand` and checks every entry against `allowed` (with `data.` prefixes for lists).
    static func read(_ params: inout Parameters, allowed: Set<String>, list: Bool = false) throws(PaymentError) -> [String] {
        let values = try params.stringList("expand") ?? []
        for value in values {
            let field = list && value.hasPrefix("data.") ? String(value.dropFirst(5)) : value
            guard allowed.contains(field) else {
                throw .invalidRequest("This property cannot be expanded (\(value)).", param: "expand")
            }
        }
        return values
    }
}
