import PaymentsCore

// MARK: - Card numbers outside card[number]

extension ParameterNode {
    /// The one parameter a card number belongs in: `POST /v1/payment_methods` seals it in the vault and keeps only
    /// its last four digits. Anywhere else it is an unknown parameter, refused before anything reads it.
    static let cardNumberParameter = "card[number]"

    /// The first parameter, in Stripe's bracket spelling (`metadata[note]`), whose value or name holds a card
    /// number (``CardNumber/appears(in:)``) anywhere but in `card[number]`; nil when there is none.
    ///
    /// Every other value may be stored and shown as sent (a description, metadata, a customer's name), so a card
    /// number there would reach the database, the events and the responses in plain text. A name holding one is
    /// reported by its parent (`metadata`), so the error never repeats the number.
    static func parameterHoldingCardNumber(in parameters: [String: ParameterNode]) -> String? {
        // Every request passes here and almost none holds a card number: a walk that builds no path strings and
        // sorts nothing answers first (the naming walk cost 2% of a replay's CPU in `perf` when it ran always).
        guard holdsCardNumber(.map(parameters), path: "") else { return nil }
        return parameterHoldingCardNumber(in: .map(parameters), path: "")
    }

    /// Whether `node` (at `path`, the empty string for the top level) holds a card number outside `card[number]`.
    private static func holdsCardNumber(_ node: ParameterNode, path: String?) -> Bool {
        switch node {
        case .value(let value):
            // Only a top-level `card` map's `number` is exempt; `path` is that map's key, nil below the second level.
            return path != cardNumberParameter && CardNumber.appears(in: value)
        case .list(let items):
            return items.contains { holdsCardNumber($0, path: nil) }
        case .map(let map):
            return map.contains { key, child in
                let childPath: String? =
                    path == "" ? key : (path == "card" && key == "number" ? cardNumberParameter : nil)
                return CardNumber.appears(in: key) || holdsCardNumber(child, path: childPath)
            }
        }
    }

    private static func parameterHoldingCardNumber(in node: ParameterNode, path: String) -> String? {
        firstParameter(in: node, path: path) { value, path in
            path != cardNumberParameter && CardNumber.appears(in: value)
        }
    }

    /// The first parameter under `node` (at `path`, the empty string for the top level), in Stripe's bracket
    /// spelling and in the order of the keys, whose value `matches` (given the value and its path) or whose name does
    /// (given the name and nil). A name is reported by its parent (`metadata`), or as "(a parameter name)" at the top
    /// level, so the error never repeats it.
    static func firstParameter(
        in node: ParameterNode,
        path: String,
        where matches: (String, String?) -> Bool
    ) -> String? {
        switch node {
        case .value(let value):
            return matches(value, path) ? path : nil
        case .list(let items):
            for (index, item) in items.enumerated() {
                if let found = firstParameter(in: item, path: "\(path)[\(index)]", where: matches) { return found }
            }
            return nil
        case .map(let map):
            for (key, child) in map.sorted(by: { $0.key < $1.key }) {
                if matches(key, nil) { return path.isEmpty ? "(a parameter name)" : path }
                let childPath = path.isEmpty ? key : "\(path)[\(key)]"
                if let found = firstParameter(in: child, path: childPath, where: matches) { return found }
            }
            return nil
        }
    }
}

extension PaymentError {
    /// A card number sent where it does not belong (a description, metadata, an idempotency key): refused, so it
    /// is never stored or shown in plain text. The message names the place and never repeats the number.
    static func cardNumberNotAllowed(param: String?, place: String) -> PaymentError {
        .invalidRequest(
            "\(place) looks like a card number. Card numbers are accepted only in card[number] when creating a "
                + "PaymentMethod; never send them in other parameters or headers, where they would be stored as sent.",
            code: "card_number_not_allowed",
            param: param
        )
    }
}
