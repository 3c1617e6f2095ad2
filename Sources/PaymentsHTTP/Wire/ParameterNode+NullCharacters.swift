import PaymentsCore

// MARK: - Null characters

extension ParameterNode {
    /// The first parameter, in Stripe's bracket spelling, whose value or name holds a null character (U+0000, sent
    /// as `%00` in a form or `\u0000` in JSON); nil when there is none.
    ///
    /// SQLite takes a bound text up to its first null character, so a description `q\u0000r` was answered as sent
    /// but stored, and read back, as `q`. Such a value is refused instead: nothing is stored but what was sent.
    static func parameterHoldingNullCharacter(in parameters: [String: ParameterNode]) -> String? {
        // Almost no request holds one: a walk that builds no names answers first.
        guard holdsNullCharacter(.map(parameters)) else { return nil }
        return firstParameter(in: .map(parameters), path: "") { text, _ in text.utf8.contains(0) }
    }

    private static func holdsNullCharacter(_ node: ParameterNode) -> Bool {
        switch node {
        case .value(let value): value.utf8.contains(0)
        case .list(let items): items.contains(where: holdsNullCharacter)
        case .map(let map): map.contains { key, child in key.utf8.contains(0) || holdsNullCharacter(child) }
        }
    }
}

extension PaymentError {
    /// A value or name holding a null character, which cannot be stored as sent.
    static func nullCharacterNotAllowed(param: String) -> PaymentError {
        .invalidRequest(
            "Invalid string: \(param) contains a null character (U+0000), which cannot be stored.",
            code: "parameter_invalid_string",
            param: param
        )
    }
}
