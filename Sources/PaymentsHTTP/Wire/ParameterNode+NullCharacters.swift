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
        return parameterHoldingNullCharacter(in: .map(parameters), path: "")
    }

    private static func holdsNullCharacter(_ node: ParameterNode) -> Bool {
        switch node {
        case .value(let value): value.utf8.contains(0)
        case .list(let items): items.contains(where: holdsNullCharacter)
        case .map(let map): map.contains { key, child in key.utf8.contains(0) || holdsNullCharacter(child) }
        }
    }

    private static func parameterHoldingNullCharacter(in node: ParameterNode, path: String) -> String? {
        switch node {
        case .value(let value):
            return value.utf8.contains(0) ? path : nil
        case .list(let items):
            for (index, item) in items.enumerated() {
                if let found = parameterHoldingNullCharacter(in: item, path: "\(path)[\(index)]") { return found }
            }
            return nil
        case .map(let map):
            for (key, child) in map.sorted(by: { $0.key < $1.key }) {
                // The name itself is not repeated: it holds the character.
                if key.utf8.contains(0) { return path.isEmpty ? "(a parameter name)" : path }
                let childPath = path.isEmpty ? key : "\(path)[\(key)]"
                if let found = parameterHoldingNullCharacter(in: child, path: childPath) { return found }
            }
            return nil
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
