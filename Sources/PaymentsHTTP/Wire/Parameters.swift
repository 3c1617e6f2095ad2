import Foundation
import PaymentsCore

/// Reads an endpoint's parameters one by one, with Stripe's errors for missing, malformed and unknown ones.
///
/// Each getter marks its key as known; ``finish()`` then rejects whatever is left with `parameter_unknown`
/// naming it, as Stripe does. Nested hashes (`card[...]`) are read with ``nested(_:)``, whose unknown keys are
/// reported with their full bracketed name.
public struct Parameters: Sendable {
    private var nodes: [String: ParameterNode]
    private var known: Set<String> = []
    private let prefix: String?

    /// Creates a reader over parsed parameters.
    public init(_ nodes: [String: ParameterNode], prefix: String? = nil) {
        self.nodes = nodes
        self.prefix = prefix
    }

    /// The full name of `key` as the client wrote it (`card[number]`).
    public func name(_ key: String) -> String {
        prefix.map { "\($0)[\(key)]" } ?? key
    }

    /// Whether `key` was sent at all.
    public func has(_ key: String) -> Bool { nodes[key] != nil }

    /// Whether this hash holds no key (a nested hash sent empty, `billing_details=`).
    public var isEmpty: Bool { nodes.isEmpty }

    /// Whether `key` was sent as a plain value (not a hash or list).
    public func isValue(_ key: String) -> Bool {
        if case .value = nodes[key] { return true }
        return false
    }

    // MARK: - Scalars

    /// A string, or nil when absent. An empty string is returned as is.
    public mutating func rawString(_ key: String) throws(PaymentError) -> String? {
        known.insert(key)
        switch nodes[key] {
        case nil: return nil
        case .value(let value): return value
        case .some(let node):
            throw .invalidRequest("Invalid string: \(node.display)", code: "parameter_invalid_string", param: name(key))
        }
    }

    /// A non-empty string, or nil when absent.
    /// - Throws: `parameter_invalid_empty` for an empty value.
    public mutating func string(_ key: String, maxLength: Int = 5000) throws(PaymentError) -> String? {
        guard let value = try rawString(key) else { return nil }
        if value.isEmpty { throw .invalidEmpty(name(key)) }
        try checkLength(key, value, maxLength)
        return value
    }

    /// A currency code as sent (three letters, checked by the use case), or nil when absent.
    /// - Throws: `parameter_invalid_empty` for an empty value; a clear 400 for a code with spaces around it (` usd`
    ///   was refused as longer than 3 characters, which hid the space).
    public mutating func currency(_ key: String) throws(PaymentError) -> String? {
        guard let value = try rawString(key) else { return nil }
        if value.isEmpty { throw .invalidEmpty(name(key)) }
        if let first = value.unicodeScalars.first, let last = value.unicodeScalars.last,
            first.properties.isWhitespace || last.properties.isWhitespace
        {
            throw .invalidValue(name(key), "Invalid currency: the value has a space before or after its letters.")
        }
        try checkLength(key, value, 3)
        // ASCII letters only, checked before anything lowercases the code: the Kelvin sign `K` lowercases to `k`,
        // so `\u{212A}RW` was a refund in `krw`, and its refusal elsewhere named the code as lowercased ("Invalid
        // currency: kwd." for `\u{212A}WD`), not as sent (probes)
        guard Currency.isASCIILetters(value) else {
            throw .invalidValue(
                name(key),
                "Invalid currency: \(value). A currency is its three-letter ISO code in ASCII letters, such as usd."
            )
        }
        return value
    }

    /// A required currency code (see ``currency(_:)``).
    public mutating func requiredCurrency(_ key: String) throws(PaymentError) -> String {
        guard let value = try currency(key) else { throw .parameterMissing(name(key)) }
        return value
    }

    /// An email address (`email`, `receipt_email`, a card's `billing_details[email]`), or nil when absent: one `@`
    /// between a local part and a domain of at most 253 characters with a dot inside it, each of its labels letters,
    /// digits and inner hyphens, at most 63 long; no spaces, control characters or `< > ( ) [ ] , ; : \ "` anywhere,
    /// as Stripe refuses `not-an-email`.
    public mutating func email(_ key: String, maxLength: Int) throws(PaymentError) -> String? {
        guard let value = try string(key, maxLength: maxLength) else { return nil }
        try checkEmail(key, value)
        return value
    }

    /// An email address that may be unset: nil when absent, `.some(nil)` for an empty value (unset it).
    public mutating func clearableEmail(_ key: String, maxLength: Int) throws(PaymentError) -> String?? {
        let value = try clearableString(key, maxLength: maxLength)
        if case .some(.some(let email)) = value { try checkEmail(key, email) }
        return value
    }

    private func checkEmail(_ key: String, _ value: String) throws(PaymentError) {
        let parts = value.split(separator: "@", omittingEmptySubsequences: false)
        let domain = parts.count == 2 ? parts[1] : ""
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        // `<a@b.co>`, `a@-b.co` and a 300-character domain were taken, and a receipt would go nowhere
        let special: Set<Unicode.Scalar> = ["<", ">", "(", ")", "[", "]", ",", ";", ":", "\\", "\""]
        let local = parts.first ?? ""
        // `.a@`, `a.@`, `a..b@`, `a@b.c` and `a@example.c0m` were taken: the top-level domain is two letters or more
        // (or an international one, `xn--...`)
        let topLevel = labels.last ?? ""
        let valid =
            parts.count == 2 && !local.isEmpty && local.first != "." && local.last != "." && !local.contains("..")
            && labels.count >= 2 && domain.count <= 253 && labels.allSatisfy(Self.isDomainLabel)
            && ((topLevel.count >= 2 && topLevel.allSatisfy(\.isLetter)) || topLevel.hasPrefix("xn--"))
            && !value.unicodeScalars.contains {
                $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7F || special.contains($0)
            }
        guard valid else {
            throw .invalidRequest("Invalid email address: \(value)", code: "email_invalid", param: name(key))
        }
    }

    /// A label of an email address's domain: 1 to 63 letters (any script, for international domains), digits and
    /// hyphens, neither first nor last a hyphen.
    private static func isDomainLabel(_ label: Substring) -> Bool {
        guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
        return label.allSatisfy { $0 == "-" || $0.isLetter || $0.isNumber }
    }

    /// A statement descriptor (`statement_descriptor`, `statement_descriptor_suffix`), or nil when absent: at most
    /// 22 characters, Latin ones only (printable ASCII and the accented Latin letters), at least one of them a letter,
    /// and none of `< > \ ' " *`, as Stripe asks of what a card statement shows.
    public mutating func statementDescriptor(_ key: String) throws(PaymentError) -> String? {
        // Its length is counted once composed (below): combining accents count before, a letter and two of them
        // three code points (the body's limit bounds the text composed)
        guard let value = try string(key, maxLength: .max) else { return nil }
        return try checkStatementDescriptor(key, value)
    }

    /// A statement descriptor that may be unset: nil when absent, `.some(nil)` for an empty value (unset it).
    public mutating func clearableStatementDescriptor(_ key: String) throws(PaymentError) -> String?? {
        let value = try clearableString(key, maxLength: .max)
        if case .some(.some(let descriptor)) = value { return .some(try checkStatementDescriptor(key, descriptor)) }
        return value
    }

    /// The most characters a statement descriptor may have, as Stripe.
    static let statementDescriptorLength = 22

    /// `value` checked, in Unicode's composed form (NFC): an accent typed as a separate combining mark (`Cafe` and
    /// U+0301, as macOS and iOS text often is) is the letter `é`, taken, and counted as one character; it was
    /// refused as not Latin, and then counted as two.
    private func checkStatementDescriptor(_ key: String, _ given: String) throws(PaymentError) -> String {
        let value = given.precomposedStringWithCanonicalMapping
        try checkLength(key, value, Self.statementDescriptorLength)
        let forbidden: Set<Character> = ["<", ">", "\\", "'", "\"", "*"]
        guard value.contains(where: \.isLetter), !value.contains(where: forbidden.contains) else {
            throw .invalidRequest(
                "Invalid \(name(key)): a statement descriptor needs at least one letter and may not contain any "
                    + "of < > \\ ' \" *",
                code: "parameter_invalid_string",
                param: name(key)
            )
        }
        // A card statement prints Latin characters only: a newline, a tab or an emoji was stored and sent on
        guard value.unicodeScalars.allSatisfy(Self.isStatementCharacter) else {
            throw .invalidRequest(
                "Invalid \(name(key)): a statement descriptor may contain only Latin characters (letters, digits, "
                    + "spaces and punctuation), no control characters, emoji or other scripts",
                code: "parameter_invalid_string",
                param: name(key)
            )
        }
        return value
    }

    /// Printable ASCII, Latin-1's punctuation and signs (`¿`, `£`, `°`, `©`; not its no-break space), or a letter
    /// of Latin-1 Supplement, Latin Extended-A and -B (`é`, `ß`, `ł`) and Latin Extended Additional (`ệ`, `ạ`, `ṣ`:
    /// Vietnamese and other letters with two marks compose there, and were refused as not Latin).
    private static func isStatementCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x20...0x7E, 0xA1...0xBF, 0xD7, 0xF7: true
        case 0xC0...0x24F, 0x1E00...0x1EFF: scalar.properties.isAlphabetic
        default: false
        }
    }

    /// A URL the customer's browser is sent to (`return_url`): absolute, with a scheme, and a host for `http` and
    /// `https`. An app's own scheme (`myapp://done`) is taken, as Stripe takes it
    /// for mobile apps; a scheme that runs, embeds or shows content instead of going somewhere (`javascript:`,
    /// `data:`, `about:`, `view-source:`, `blob:`, ...) is not, nor text without a scheme, which a browser would
    /// resolve against this server, nor control characters or invisible marks, nor a user name or password.
    public mutating func returnURL(_ key: String = "return_url") throws(PaymentError) -> String? {
        guard let value = try string(key, maxLength: 2048) else { return nil }
        // Schemes that run, embed or show content instead of going somewhere (`about:blank`, `view-source:`, a
        // `blob:` or `filesystem:` of the page's own making were taken and redirected to)
        let refused: Set = ["javascript", "data", "vbscript", "file", "about", "view-source", "blob", "filesystem"]
        // Control characters, line separators and the invisible marks that reorder or hide text (a raw line break
        // was stored and shown in `next_action`); what else a URL cannot hold as sent (a space, `|`) is escaped when
        // the customer is sent there (``ReturnURLRedirect``)
        let unsafe = value.unicodeScalars.contains {
            switch $0.value {
            case 0..<0x20, 0x7F...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: true
            default: false
            }
        }
        // A user name or password, for any scheme (`https://shop.example@evil.example/` reads as shop.example)
        guard !unsafe, let url = URLComponents(string: value), let scheme = url.scheme?.lowercased(),
            !refused.contains(scheme), url.user == nil, url.password == nil,
            !["http", "https"].contains(scheme) || url.host?.isEmpty == false
        else {
            throw .invalidRequest(
                "Invalid URL: \(name(key)) must be an absolute URL the customer's browser can go to, such as "
                    + "https://example.com/checkout/done.",
                code: "url_invalid",
                param: name(key)
            )
        }
        return value
    }

    /// A string that may be unset: nil when absent, `.some(nil)` for an empty value (unset it).
    public mutating func clearableString(_ key: String, maxLength: Int = 5000) throws(PaymentError) -> String?? {
        guard let value = try rawString(key) else { return nil }
        if value.isEmpty { return .some(nil) }
        try checkLength(key, value, maxLength)
        return .some(value)
    }

    /// A required non-empty string.
    public mutating func requiredString(_ key: String, maxLength: Int = 5000) throws(PaymentError) -> String {
        guard let value = try string(key, maxLength: maxLength) else { throw .parameterMissing(name(key)) }
        return value
    }

    /// An integer, or nil when absent: decimal digits, with a `-` for a negative one (refused by the parameter's own
    /// check, with its message). A `+` is refused as `payments recharge` refuses it, though `Int64` would take it.
    public mutating func integer(_ key: String) throws(PaymentError) -> Int64? {
        if case .some(let node) = nodes[key], node.isNested {
            // An array or a hash: "Invalid integer: an array", as its parameter wants, not rawString's "string"
            known.insert(key)
            throw .invalidInteger(name(key), value: node.display)
        }
        guard let value = try rawString(key) else { return nil }
        if value.isEmpty { throw .invalidEmpty(name(key)) }
        guard value.utf8.first != UInt8(ascii: "+"), let number = Int64(value) else {
            throw .invalidInteger(name(key), value: value)
        }
        return number
    }

    /// A required integer.
    public mutating func requiredInteger(_ key: String) throws(PaymentError) -> Int64 {
        guard let value = try integer(key) else { throw .parameterMissing(name(key)) }
        return value
    }

    /// A boolean (`true`/`false`), or nil when absent.
    public mutating func boolean(_ key: String) throws(PaymentError) -> Bool? {
        guard let value = try rawString(key) else { return nil }
        switch value {
        case "true": return true
        case "false": return false
        case "": throw .invalidEmpty(name(key))
        default:
            throw .invalidRequest("Invalid boolean: \(value)", code: "parameter_invalid_boolean", param: name(key))
        }
    }

    /// One of an enum's raw values, or nil when absent.
    public mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String,
        _ type: T.Type,
        allowed: [T]? = nil
    ) throws(PaymentError) -> T? where T.RawValue == String {
        guard let value = try rawString(key) else { return nil }
        let options = allowed ?? Array(T.allCases)
        guard let parsed = T(rawValue: value), options.contains(where: { $0.rawValue == parsed.rawValue }) else {
            if value.isEmpty { throw .invalidEmpty(name(key)) }
            let list = options.map(\.rawValue).joined(separator: ", ")
            throw .invalidValue(name(key), "Invalid \(name(key)): must be one of \(list)")
        }
        return parsed
    }

    /// A list of strings (`expand[]=a&expand[]=b`, `expand[0]=a`, or a JSON array).
    public mutating func stringList(_ key: String) throws(PaymentError) -> [String]? {
        known.insert(key)
        switch nodes[key] {
        case nil: return nil
        case .value(let value): return value.isEmpty ? [] : [value]
        case .list(let items):
            return try items.map { (item) throws(PaymentError) -> String in
                guard case .value(let value) = item else {
                    throw .invalidRequest(
                        "Invalid array: \(name(key))[]. Each of the list's items is a single value.",
                        code: "parameter_invalid_string",
                        param: name(key)
                    )
                }
                return value
            }
        case .map(let map):
            // The SDKs' indexed form: expand[0]=a&expand[1]=b. An index is a whole number from 0 (`[-1]` was taken)
            let sorted = map.sorted { (UInt32($0.key) ?? .max) < (UInt32($1.key) ?? .max) }
            return try sorted.map { (pair) throws(PaymentError) -> String in
                let item = name(key) + "[\(pair.key)]"
                guard UInt32(pair.key) != nil, pair.key.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    throw .invalidRequest(
                        "Invalid array: \(item). A list's items are sent as \(name(key))[] or numbered from 0: "
                            + "\(name(key))[0], \(name(key))[1], ...",
                        code: "parameter_invalid_string",
                        param: name(key)
                    )
                }
                guard case .value(let value) = pair.value else {
                    throw .invalidRequest(
                        "Invalid array: \(item). Each of the list's items is a single value.",
                        code: "parameter_invalid_string",
                        param: name(key)
                    )
                }
                return value
            }
        }
    }

    // MARK: - Hashes

    /// A nested hash (`card[...]`), or nil when absent. Call ``finish()`` on it too.
    public mutating func nested(_ key: String) throws(PaymentError) -> Parameters? {
        known.insert(key)
        switch nodes[key] {
        case nil: return nil
        case .map(let map): return Parameters(map, prefix: name(key))
        case .value(""): return Parameters([:], prefix: name(key))
        case .some:
            throw .invalidRequest(
                "Invalid hash",
                code: "parameter_invalid_string",
                param: name(key)
            )
        }
    }

    /// The `metadata` update: keys to set (nil value: delete the key), and whether all keys are cleared first
    /// (`metadata=`). Enforces Stripe's limits: 50 keys, keys up to 40 characters without brackets, values up to
    /// 500 characters.
    public mutating func metadata(_ key: String = "metadata") throws(PaymentError) -> (
        updates: [String: String?], clearAll: Bool
    )? {
        known.insert(key)
        switch nodes[key] {
        case nil: return nil
        case .value(""): return ([:], true)
        case .map(let map):
            guard map.count <= 50 else {
                throw .invalidRequest(
                    "You can specify up to 50 keys in metadata.",
                    code: "parameter_invalid_string",
                    param: key
                )
            }
            var updates: [String: String?] = [:]
            for (name, node) in map {
                guard case .value(let value) = node else {
                    throw .invalidRequest(
                        "Invalid metadata[\(name)]: metadata values must be strings.",
                        code: "parameter_invalid_string",
                        param: "\(key)[\(name)]"
                    )
                }
                guard !name.isEmpty else {
                    // Only a JSON body can name it: the form's `metadata[]=` is an array
                    throw .invalidRequest(
                        "Metadata keys cannot be empty.",
                        code: "parameter_invalid_empty",
                        param: "\(key)[]"
                    )
                }
                guard Self.length(of: name) <= 40, !name.contains("["), !name.contains("]") else {
                    throw .invalidRequest(
                        "Metadata keys can be at most 40 characters long and cannot contain '[' or ']'.",
                        code: "parameter_invalid_string",
                        param: "\(key)[\(name)]"
                    )
                }
                guard Self.length(of: value) <= 500 else {
                    throw .invalidRequest(
                        "Metadata values can have up to 500 characters, but you passed in a value that is "
                            + "\(Self.length(of: value)) characters.",
                        code: "parameter_invalid_string",
                        param: "\(key)[\(name)]"
                    )
                }
                updates[name] = value.isEmpty ? .some(nil) : .some(value)
            }
            return (updates, false)
        case .some:
            // `metadata[]=1` (a list) or a plain value: the bare "Invalid hash" named nothing to do
            throw .invalidRequest(
                "Invalid hash: \(name(key)) is a hash of keys and string values (\(name(key))[order_id]=6735), or "
                    + "empty (\(name(key))=) to clear it.",
                code: "parameter_invalid_string",
                param: name(key)
            )
        }
    }

    /// Metadata for a new object: the keys that were set.
    public mutating func newMetadata(_ key: String = "metadata") throws(PaymentError) -> [String: String] {
        guard let update = try metadata(key) else { return [:] }
        return update.updates.compactMapValues { $0 }
    }

    /// A text's length as Stripe's limits count it: Unicode code points. A Swift `String`'s `count` counts characters
    /// (grapheme clusters), and a letter followed by 120,000 combining accents is one: a 500-character metadata value
    /// and a 20-character phone number took them, and every event of the object copied them again.
    public static func length(of text: String) -> Int { text.unicodeScalars.count }

    // MARK: - Finishing

    /// Marks keys as known without reading them (parameters accepted and ignored).
    public mutating func ignore(_ keys: String...) {
        for key in keys { known.insert(key) }
    }

    /// `use_stripe_sdk` and `mandate_data`, which Stripe.js sends on an intent's create and confirm: accepted and
    /// ignored (they change nothing for a card here), but of their types, a boolean and a hash, as every other
    /// parameter is checked (`use_stripe_sdk=maybe` passed: a probe).
    public mutating func ignoreStripeJSParameters() throws(PaymentError) {
        _ = try boolean("use_stripe_sdk")
        _ = try nested("mandate_data")
    }

    /// Rejects the first parameter no getter asked for.
    /// - Throws: `parameter_unknown` naming it (sorted, so the error is deterministic).
    public func finish() throws(PaymentError) {
        if let unknown = nodes.keys.filter({ !known.contains($0) }).sorted().first {
            var error = PaymentError.parameterUnknown(name(unknown))
            // `curl -d '{"amount": 2000}'` sends JSON as a form: its whole text became one parameter's name
            if unknown.hasPrefix("{") || unknown.hasPrefix("[") {
                error.message += ". The body looks like JSON: send it with `Content-Type: application/json`."
            }
            // Stripe's inline card: not built, and its bare "unknown parameter" left the caller to guess the way round
            if unknown == "payment_method_data" && prefix == nil {
                error.message +=
                    ". A card is not given inline here: create a PaymentMethod (POST /v1/payment_methods with "
                    + "type=card and card[...]) and pass its id as payment_method."
            }
            throw error
        }
    }

    private func checkLength(_ key: String, _ value: String, _ maxLength: Int) throws(PaymentError) {
        guard Self.length(of: value) <= maxLength else {
            throw .invalidRequest(
                "Invalid \(name(key)): must be at most \(maxLength) characters",
                code: "parameter_invalid_string_too_long",
                param: name(key)
            )
        }
    }
}
