import Foundation
import PaymentsCore
import Testing

@testable import PaymentsHTTP

/// The wire format's parser and reader, without the router.
@Suite("Form and JSON parameters")
struct ParameterNodeTests {
    @Test("Bracket nesting, lists both ways, percent-encoding and plus as space")
    func form() throws {
        // When
        let nodes = try ParameterNode.parseForm(
            "card%5Bnumber%5D=4242&card[exp_month]=12&metadata[note]=a+b%26c&expand[]=x&expand[]=y"
                + "&items[1]=second&items[0]=first&empty="
        )
        // Then
        #expect(nodes["card"] == .map(["number": .value("4242"), "exp_month": .value("12")]))
        #expect(nodes["metadata"] == .map(["note": .value("a b&c")]))
        #expect(nodes["expand"] == .list([.value("x"), .value("y")]))
        #expect(nodes["empty"] == .value(""))
        var params = Parameters(nodes)
        #expect(try params.stringList("expand") == ["x", "y"])
        #expect(try params.stringList("items") == ["first", "second"])
    }

    @Test("Pairs split on the bytes & and =: empty pairs skipped, = inside a value kept, a name alone is empty")
    func formSplitting() throws {
        let nodes = try ParameterNode.parseForm("&&a=b=c&flag&&é=ü&\u{301}x=1&")
        #expect(nodes == ["a": .value("b=c"), "flag": .value(""), "é": .value("ü"), "\u{301}x": .value("1")])
        #expect(try ParameterNode.parseForm("").isEmpty)
        #expect(try ParameterNode.parseForm("&").isEmpty)
        // Each & starts a pair, even before a combining mark (which a split on characters would have joined to it)
        #expect(try ParameterNode.parseForm("a=1&\u{301}=2")["a"] == .value("1"))
        // A byte order mark before the body is not part of its first name (it was an unknown "\u{FEFF}description")
        #expect(
            try ParameterNode.parseForm("\u{FEFF}description=x&a=1") == ["description": .value("x"), "a": .value("1")]
        )
        #expect(try ParameterNode.parseForm("\u{FEFF}").isEmpty)
    }

    @Test("Names split at the bytes [ and ], whatever follows them: a combining mark after a bracket stays in the key")
    func nameSplitting() throws {
        // A split on characters would have joined the mark to the bracket, and found no bracket
        let nodes = try ParameterNode.parseForm("metadata[\u{301}x]=1&caf\u{e9}=2&a[\u{301}]=3")
        #expect(nodes["metadata"] == .map(["\u{301}x": .value("1")]))
        #expect(nodes["caf\u{e9}"] == .value("2"))
        #expect(nodes["a"] == .map(["\u{301}": .value("3")]))
        #expect(try ParameterNode.keyPath("a[b][]") == ["a", "b", ""])
        #expect(try ParameterNode.keyPath("\u{1F600}[\u{1F600}]") == ["\u{1F600}", "\u{1F600}"])
    }

    @Test("JSON: numbers and booleans read as the text a form would send; null as empty")
    func json() throws {
        let nodes = try ParameterNode.parseJSON(
            Data(#"{"amount": 2000, "confirm": true, "metadata": {"k": "v"}, "expand": ["a", "b"], "x": null}"#.utf8)
        )
        var params = Parameters(nodes)
        #expect(try params.integer("amount") == 2_000)
        #expect(try params.boolean("confirm") == true)
        #expect(try params.stringList("expand") == ["a", "b"])
        #expect(try params.newMetadata() == ["k": "v"])
        #expect(nodes["x"] == .value(""))
    }

    @Test(
        "Malformed bodies are 400 invalid_request_error",
        arguments: ["a[b=1", "[x]=1", "a[b]c=1", "a[][]=1", "a=1&a[b]=2", "a[]=1&a[b]=2"]
    )
    func malformedForm(body: String) {
        let error = #expect(throws: PaymentError.self) { try ParameterNode.parseForm(body) }
        #expect(error?.status == 400)
        #expect(error?.kind == .invalidRequest)
    }

    @Test("Too many parameters or too deep nesting are refused")
    func limits() {
        let many = (0...1_000).map { "k\($0)=v" }.joined(separator: "&")
        let deep = "a" + String(repeating: "[b]", count: 10) + "=1"
        let deepJSON = Data((String(repeating: #"{"a":"#, count: 12) + "1" + String(repeating: "}", count: 12)).utf8)
        #expect(throws: PaymentError.self) { try ParameterNode.parseForm(many) }
        #expect(throws: PaymentError.self) { try ParameterNode.parseForm(deep) }
        #expect(throws: PaymentError.self) { try ParameterNode.parseJSON(deepJSON) }
        #expect(throws: PaymentError.self) { try ParameterNode.parseJSON(Data("[1]".utf8)) }
        #expect(throws: PaymentError.self) { try ParameterNode.parseJSON(Data("{".utf8)) }
    }

    @Test("Unread parameters are parameter_unknown with their full bracketed name")
    func unknown() throws {
        // Given
        var params = Parameters(try ParameterNode.parseForm("card[number]=4242&card[foo]=1&amount=5"))
        _ = try params.integer("amount")
        var card = try #require(try params.nested("card"))
        _ = try card.string("number")
        // When / Then
        #expect(throws: Never.self) { try params.finish() }
        let error = #expect(throws: PaymentError.self) { try card.finish() }
        #expect(error?.code == "parameter_unknown")
        #expect(error?.param == "card[foo]")
    }

    @Test("Metadata: an empty value deletes a key, metadata= clears all, and Stripe's limits apply")
    func metadata() throws {
        var update = Parameters(try ParameterNode.parseForm("metadata[keep]=1&metadata[drop]="))
        let result = try #require(try update.metadata())
        #expect(result.updates == ["keep": .some("1"), "drop": String?.none])
        #expect(!result.clearAll)
        var clear = Parameters(try ParameterNode.parseForm("metadata="))
        #expect(try clear.metadata()?.clearAll == true)
        let tooMany = (0..<51).map { "metadata[k\($0)]=v" }.joined(separator: "&")
        var many = Parameters(try ParameterNode.parseForm(tooMany))
        #expect(throws: PaymentError.self) { try many.metadata() }
        var longValue = Parameters(try ParameterNode.parseForm("metadata[k]=" + String(repeating: "v", count: 501)))
        #expect(throws: PaymentError.self) { try longValue.metadata() }
    }

    /// Foundation's decoding of a form component, which the parser's own must equal where Foundation is consistent
    /// (the inputs below all decode to UTF-8, or hold a `%` that is no escape, which both keep as sent).
    static func reference(_ component: String) -> String {
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// Whether every `%` of `component` starts an escape (two hex digits) and the bytes it decodes to are not UTF-8:
    /// the components the parser refuses (the random joins below make some, such as `%` `a` `2`).
    static func escapesBytesNotUTF8(_ component: String) -> Bool {
        var bytes: [UInt8] = []
        var rest = Array(component.utf8)[...]
        while let byte = rest.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            let digits = rest.prefix(2)
            guard digits.count == 2, digits.allSatisfy({ Character(UnicodeScalar($0)).isHexDigit }),
                let value = UInt8(String(decoding: digits, as: UTF8.self), radix: 16)
            else { return false }
            bytes.append(value)
            rest = rest.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self) == nil
    }

    @Test("A component decodes as Foundation's removingPercentEncoding would; escapes of bytes not UTF-8 are refused")
    func componentDecoding() throws {
        var inputs = [
            "plain", "a+b", "%2B", "%20x", "%E2%82%AC", "%e2%82%ac", "%ZZ", "%", "%2", "100%", "a%2", "+%2B+",
            "%F0%9F%98%80", "caf%C3%A9", "%00", "", "%+1", "%%41", "é+€",
        ]
        // And random joins of pieces: whole escapes, and the pieces of broken ones
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "Z", "+", "%", "%2", "%Z", "2", "é", "€", " ", "%2B", "%20", "%41", "%C3%A9", "%E2%82%AC"]
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...8, using: &generator)
            inputs.append((0..<count).map { _ in pieces.randomElement(using: &generator)! }.joined())
        }
        for input in inputs {
            if Self.escapesBytesNotUTF8(input) {
                #expect(throws: PaymentError.self, "\(input.debugDescription)") {
                    try ParameterNode.parseForm("k=" + input)
                }
                continue
            }
            let parsed = try ParameterNode.parseForm("k=" + input)
            #expect(parsed["k"] == .value(Self.reference(input)), "\(input.debugDescription)")
        }
        // Escapes of bytes that are not UTF-8 (Latin-1 text, a cut sequence) are refused, naming the parameter
        for input in ["k=%C3", "k=%A9+x", "k=ok%FF%41", "k=caf%E9", "description=caf%E9&amount=1"] {
            let error = #expect(throws: PaymentError.self, "\(input)") { try ParameterNode.parseForm(input) }
            #expect(error?.param == (input.hasPrefix("k=") ? "k" : "description"), "\(input)")
            #expect(error?.status == 400)
        }
        // In a key too, named as sent
        let key = #expect(throws: PaymentError.self) { try ParameterNode.parseForm("metadata[caf%E9]=x") }
        #expect(key?.param == "metadata[caf%E9]")
        // While a % that is no escape is still kept as sent, beside escapes that are UTF-8
        #expect(try ParameterNode.parseForm("k=50%+off+%C3%A9t%C3%A9")["k"] == .value("50% off %C3%A9t%C3%A9"))
    }
}

/// Where a card number may stand: only the top-level `card[number]`; everywhere else the parameter is named.
@Suite("Card numbers among parameters")
struct ParameterNodeCardNumberTests {
    static let visa = "4242424242424242"

    @Test(
        "Only card[number] may hold a card number; nested look-alikes, list items, other card fields and keys are named",
        arguments: [
            ("card[number]=\(visa)&card[cvc]=123", nil),
            ("card[number]=\(visa)&card[name]=\(visa)", "card[name]"),
            ("metadata[card][number]=\(visa)", "metadata[card][number]"),
            ("expand[]=data&expand[]=\(visa)", "expand[1]"),
            ("description=order+4242-4242-4242-4242", "description"),
            ("metadata[\(visa)]=x", "metadata"),
            ("\(visa)=x", "(a parameter name)"),
            ("description=order+1234567890&amount=2000", nil),
        ] as [(String, String?)]
    )
    func named(form: String, expected: String?) throws {
        let parameters = try ParameterNode.parseForm(form)
        #expect(ParameterNode.parameterHoldingCardNumber(in: parameters) == expected)
    }

    @Test("A Content-Type's media type: cut at ';', spaces and tabs trimmed, lowercased, as Foundation reads it")
    func mediaType() {
        // Given the values clients send, odd ones, and ones that are not ASCII (read Foundation's way)
        var values = [
            "application/x-www-form-urlencoded", "Application/JSON; charset=utf-8", " \ttext/PLAIN ;x=y", "",
            ";", "   ", " ; a", "\tapplication/json\t", "a b/c d ;", "\u{A0}application/json\u{A0}",
            "applicatión/JSON", "\u{2003}Application/Json ; q=1",
        ]
        // and every string of up to three characters over an alphabet of the cases that matter
        let alphabet = Array("aZ/; \t=\u{A0}é".unicodeScalars).map { String($0) }
        var shorter = [""]
        for _ in 1...3 {
            shorter = shorter.flatMap { prefix in alphabet.map { prefix + $0 } }
            values += shorter
        }
        for value in values {
            // Then each reads as Foundation's trimming reads it
            let foundation = String(value.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces).lowercased()
            #expect(RequestParameters.mediaType(value) == foundation, "\(value.debugDescription)")
        }
    }
}
