import Foundation
import PaymentsCore

/// A request's parameters as a tree: Stripe's bracket-nested form fields (`card[number]`, `metadata[order]`,
/// `expand[]`, `expand[0]`) or a JSON body, in one shape.
public indirect enum ParameterNode: Sendable, Equatable {
    case value(String)
    case list([ParameterNode])
    case map([String: ParameterNode])

    /// An array or a hash, where a parameter wants one value.
    var isNested: Bool {
        if case .value = self { false } else { true }
    }

    /// How the node reads in an error message. A form's hash whose keys are all indices (`amount[0]=100`, how
    /// stripe-python sends a Python list) is the array its sender meant: "Invalid integer: a hash" left them puzzled.
    var display: String {
        switch self {
        case .value(let value): value
        case .list: "an array"
        case .map(let map):
            !map.isEmpty && map.keys.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }
                ? "an array" : "a hash"
        }
    }

    /// The largest body or query the parser accepts by default, in parameters (``HTTPLimits/maxFormParameters``).
    /// Stripe's own objects need a few dozen; 50 metadata keys plus everything else stays well under this, and it
    /// bounds the work a hostile body causes.
    public static let maximumParameters = 1000
    /// Deepest nesting accepted (`a[b][c][d]...`); Stripe's deepest field is four levels down.
    static let maximumDepth = 8

    /// Parses an `application/x-www-form-urlencoded` string.
    /// - Parameter limit: the most parameters accepted (the `maxFormParameters` setting).
    /// - Throws: `invalid_request_error` for malformed keys, too many parameters or too deep nesting.
    public static func parseForm(_ body: String, limit: Int = maximumParameters) throws(PaymentError) -> [String:
        ParameterNode]
    {
        var root: [String: ParameterNode] = [:]
        var count = 0
        // Split on the bytes `&` and `=`, as every form parser does: `split` on a `String` compares `Character`s,
        // finding each one's grapheme boundaries first, which was a third of the time of parsing W1's body
        // (`perf`), and would not split before a combining mark.
        let utf8 = body.utf8
        var start = utf8.startIndex
        // A byte order mark some editors and Windows tools put before the text: not part of the first key, which it
        // made unknown ("Received unknown parameter: \u{FEFF}description"), as a JSON body's is skipped (a probe)
        if utf8.starts(with: [0xEF, 0xBB, 0xBF]) { start = utf8.index(start, offsetBy: 3) }
        while start != utf8.endIndex {
            let end = utf8[start...].firstIndex(of: UInt8(ascii: "&")) ?? utf8.endIndex
            defer { start = end == utf8.endIndex ? end : utf8.index(after: end) }
            guard start != end else { continue }
            count += 1
            guard count <= limit else { throw .tooManyParameters(limit: limit) }
            let pair = utf8[start..<end]
            let rawKey: String
            let value: String
            if let equals = pair.firstIndex(of: UInt8(ascii: "=")) {
                let sentKey = Substring(pair[..<equals])
                rawKey = try decodeComponent(sentKey, param: String(sentKey))
                value = try decodeComponent(Substring(pair[pair.index(after: equals)...]), param: rawKey)
            } else {
                rawKey = try decodeComponent(Substring(pair), param: String(Substring(pair)))
                value = ""
            }
            let path = try keyPath(rawKey)
            try insert(.value(value), at: path[...], into: &root, fullKey: rawKey)
        }
        return root
    }

    /// Parses a JSON object body. Numbers and booleans become their text, as a form would send them.
    /// - Parameter limit: the most values (objects, arrays and scalars) accepted (the `maxFormParameters` setting).
    public static func parseJSON(_ data: Data, limit: Int = maximumParameters) throws(PaymentError) -> [String:
        ParameterNode]
    {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            // With the parser's reason (too deeply nested, not UTF-8, a lone surrogate, and where): the same words for
            // every one of them sent the caller looking for a syntax error in valid JSON
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            let shown = reason.flatMap { CardNumber.appears(in: $0) ? nil : " (\($0.prefix(200)))" } ?? "."
            throw .invalidRequest("Invalid JSON body: the request body could not be parsed as JSON" + shown)
        }
        guard let dictionary = object as? [String: Any] else {
            throw .invalidRequest("Invalid JSON body: expected an object at the top level.")
        }
        var count = 0
        guard case .map(let map) = try fromJSON(dictionary, path: "", depth: 0, count: &count, limit: limit) else {
            return [:]
        }
        return map
    }

    /// `value` as a node; `path` is its parameter's name as a form names it (`metadata[order]`), for errors.
    private static func fromJSON(_ value: Any, path: String, depth: Int, count: inout Int, limit: Int)
        throws(PaymentError) -> ParameterNode
    {
        // The top-level object itself is not a parameter.
        if depth > 0 { count += 1 }
        guard count <= limit else { throw .tooManyParameters(limit: limit) }
        guard depth <= maximumDepth else {
            throw .invalidRequest("The JSON body is too deeply nested.")
        }
        switch value {
        case let dictionary as [String: Any]:
            var map: [String: ParameterNode] = [:]
            for (key, item) in dictionary {
                let name = path.isEmpty ? key : "\(path)[\(key)]"
                map[key] = try fromJSON(item, path: name, depth: depth + 1, count: &count, limit: limit)
            }
            return .map(map)
        case let array as [Any]:
            var list: [ParameterNode] = []
            for (index, item) in array.enumerated() {
                list.append(
                    try fromJSON(item, path: "\(path)[\(index)]", depth: depth + 1, count: &count, limit: limit)
                )
            }
            return .list(list)
        case let string as String:
            return .value(string)
        case let number as NSNumber:
            // JSON booleans arrive as NSNumber with the Objective-C type "c" (char); integers and decimals do not.
            let type = String(cString: number.objCType)
            if type == "c" { return .value(number.boolValue ? "true" : "false") }
            // A number with a fraction or an exponent, or an integer past 64 bits, arrives as a double (or a decimal
            // of 38 digits): its text is gone, and what is left is not what was sent (`1.10` read as "1.1", a
            // 41-digit order number with its last digit rounded, `2e3` as "2000.0"). Refused, where it was stored
            // changed without a word (a probe); an integer is read exactly
            if type == "d" || type == "f" {
                let name = CardNumber.appears(in: path) ? "a parameter" : "'\(path)'"
                // The value it reads as, only when it is too short to be a card number: a card number sent as a JSON
                // decimal (`4242424242424242.0`) was shown back whole (a probe)
                let digits = number.stringValue.utf8.count(where: { (48...57).contains($0) })
                let reads = digits <= 11 ? " (it reads as \(number.stringValue))" : ""
                throw .invalidRequest(
                    "Invalid JSON body: the number given for \(name) has a fraction, an exponent or more digits than "
                        + "a 64-bit integer, and would not be read as sent\(reads): send it as a string, or an amount "
                        + "as a whole number of the currency's smallest unit.",
                    param: CardNumber.appears(in: path) ? nil : path
                )
            }
            return .value(number.stringValue)
        case is NSNull:
            return .value("")
        default:
            return .value(String(describing: value))
        }
    }

    /// Splits `a[b][]` into `["a", "b", ""]`.
    ///
    /// On the bytes, as the form itself is split (``parseForm(_:limit:)``): looking for `Character`s finds each
    /// one's grapheme boundaries first, and a bracket followed by a combining mark would not read as a bracket.
    static func keyPath(_ key: String) throws(PaymentError) -> [String] {
        let (open, close) = (UInt8(ascii: "["), UInt8(ascii: "]"))
        let bytes = key.utf8
        guard let first = bytes.firstIndex(of: open) else { return [key] }
        // Split at ASCII brackets only, so every piece is whole UTF-8
        var path = [String(decoding: bytes[..<first], as: UTF8.self)]
        var rest = bytes[first...]
        while !rest.isEmpty {
            guard rest.first == open, let end = rest.firstIndex(of: close) else {
                throw .invalidRequest("Invalid parameter name: \(key)", code: "parameter_unknown", param: key)
            }
            path.append(String(decoding: rest[rest.index(after: rest.startIndex)..<end], as: UTF8.self))
            rest = rest[rest.index(after: end)...]
        }
        guard path.count <= maximumDepth, !path[0].isEmpty else {
            throw .invalidRequest("Invalid parameter name: \(key)", code: "parameter_unknown", param: key)
        }
        return path
    }

    private static func insert(
        _ value: ParameterNode,
        at path: ArraySlice<String>,
        into map: inout [String: ParameterNode],
        fullKey: String
    ) throws(PaymentError) {
        guard let head = path.first else { return }
        let rest = path.dropFirst()
        if rest.isEmpty {
            // A repeated plain value replaces the earlier one, as Stripe's; a plain value after a hash or an array
            // of the same name is refused, as the other order is (`metadata[x]=1&metadata=` cleared the metadata
            // and answered 200, `metadata=&metadata[x]=1` was a 400)
            switch map[head] {
            case .map(let existing) where !existing.isEmpty:
                throw twoForms("hash", fullKey)
            case .list(let items) where !items.isEmpty:
                throw twoForms("array", fullKey)
            default:
                map[head] = value
            }
            return
        }
        if rest.first == "" {
            // `key[]=v`: append to a list.
            guard rest.count == 1 else {
                throw .invalidRequest("Invalid parameter name: \(fullKey)", code: "parameter_unknown", param: fullKey)
            }
            switch map[head] {
            case nil: map[head] = .list([value])
            case .list(var items):
                items.append(value)
                map[head] = .list(items)
            default:
                throw twoForms("array", fullKey)
            }
            return
        }
        var child: [String: ParameterNode]
        switch map[head] {
        case nil: child = [:]
        case .map(let existing): child = existing
        case .list(let items) where items.isEmpty: child = [:]
        default:
            throw twoForms("hash", fullKey)
        }
        try insert(value, at: rest, into: &child, fullKey: fullKey)
        map[head] = .map(child)
    }

    /// Stripe's "Invalid hash" or "Invalid array" for a parameter given in two forms in one request (`x[]=a` beside
    /// `x[0]=a`, `m=1` beside `m[k]=1`), saying so: the bare words read as if the value itself were wrong.
    private static func twoForms(_ kind: String, _ fullKey: String) -> PaymentError {
        .invalidRequest(
            "Invalid \(kind): \(fullKey). This parameter is given in two forms in the request (a single value, a list "
                + "with [], or keys in brackets such as [0]): send it in one.",
            code: "parameter_invalid_string",
            param: fullKey
        )
    }

    /// A form component decoded: `+` is a space and `%XX` a byte. A component with a `%` not followed by two hex
    /// digits keeps its `%` escapes as sent (as Foundation's `removingPercentEncoding` gives up on it): a `%` of
    /// plain text (`50% off`) that a client did not escape. Works on the UTF-8 bytes: Foundation's string methods
    /// took an eighth of a replayed request's time (`perf`, W3 in `scripts/bench`).
    /// - Parameter param: the parameter the component belongs to, for the error (evaluated only then: a request's
    ///   every parameter passes here).
    /// - Throws: a 400 on `param` when well-formed escapes decode to bytes that are not UTF-8 (text a client encoded
    ///   as Latin-1, say, `caf%E9`): kept as sent they would store other text than the client meant, silently.
    private static func decodeComponent(
        _ part: Substring,
        param: @autoclosure () -> String
    ) throws(PaymentError) -> String {
        let plus = UInt8(ascii: "+")
        let percent = UInt8(ascii: "%")
        let utf8 = part.utf8
        guard utf8.contains(where: { $0 == plus || $0 == percent }) else { return String(part) }
        var spaced: [UInt8] = []
        spaced.reserveCapacity(utf8.count)
        var decoded: [UInt8]? = []
        decoded?.reserveCapacity(utf8.count)
        var index = utf8.startIndex
        while index != utf8.endIndex {
            let byte = utf8[index]
            index = utf8.index(after: index)
            if byte == percent, decoded != nil {
                guard index != utf8.endIndex, let high = hexValue(utf8[index]),
                    utf8.index(after: index) != utf8.endIndex, let low = hexValue(utf8[utf8.index(after: index)])
                else {
                    decoded = nil
                    spaced.append(byte)
                    continue
                }
                decoded?.append(high << 4 | low)
                spaced.append(byte)
                spaced.append(utf8[index])
                spaced.append(utf8[utf8.index(after: index)])
                index = utf8.index(index, offsetBy: 2)
                continue
            }
            let plain = byte == plus ? UInt8(ascii: " ") : byte
            decoded?.append(plain)
            spaced.append(plain)
        }
        guard let decoded else { return String(decoding: spaced, as: UTF8.self) }
        guard let text = String(validating: decoded, as: UTF8.self) else {
            let param = param()
            throw .invalidRequest(
                "Invalid UTF-8 in \(param): its percent-encoded bytes are not UTF-8 text. Encode text as UTF-8 "
                    + "before percent-encoding it (é is %C3%A9).",
                code: "parameter_invalid_string",
                param: param
            )
        }
        return text
    }

    /// The value of one hex digit, in either case (a percent escape's; the static files' path check reads them too).
    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension PaymentError {
    /// A body or query with more parameters than ``HTTPLimits/maxFormParameters``.
    static func tooManyParameters(limit: Int) -> PaymentError {
        .invalidRequest(
            "Too many parameters: this server accepts at most \(limit) in one request.",
            code: "parameters_too_many"
        )
    }
}
