import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing

/// Bad input gets Stripe's error, never a 500.
@Suite("Bad input")
struct BadInputRouteTests {
    /// One bad request and the error it must get.
    struct Case: Sendable, CustomTestStringConvertible {
        var method: String
        var path: String
        var body: String?
        var contentType: String = "application/x-www-form-urlencoded"
        var status: Int
        var code: String?
        var param: String?

        var testDescription: String { "\(method) \(path) \(body ?? "")" }
    }

    static let cases: [Case] = [
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "currency=usd",
            status: 400,
            code: "parameter_missing",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000",
            status: 400,
            code: "parameter_missing",
            param: "currency"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=abc&currency=usd",
            status: 400,
            code: "parameter_invalid_integer",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=20.5&currency=usd",
            status: 400,
            code: "parameter_invalid_integer",
            param: "amount"
        ),
        // A sign is no digit: `payments recharge` refuses `+1000` too, so the API and the batch read amounts alike
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=%2B2000&currency=usd",
            status: 400,
            code: "parameter_invalid_integer",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&foo=bar",
            status: 400,
            code: "parameter_unknown",
            param: "foo"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_methods",
            body: "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[foo]=1",
            status: 400,
            code: "parameter_unknown",
            param: "card[foo]"
        ),
        Case(method: "GET", path: "/v1/payment_intents/pi_doesnotexist", status: 404, code: "resource_missing"),
        Case(method: "GET", path: "/v1/customers/cus_doesnotexist", status: 404, code: "resource_missing"),
        Case(method: "GET", path: "/v1/payment_methods/pm_doesnotexist", status: 404, code: "resource_missing"),
        Case(
            method: "POST",
            path: "/v1/payment_intents/pi_doesnotexist/confirm",
            body: "",
            status: 404,
            code: "resource_missing"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&payment_method=pm_doesnotexist",
            status: 400,
            code: "resource_missing",
            param: "payment_method"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&customer=cus_doesnotexist",
            status: 400,
            code: "resource_missing",
            param: "customer"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=xyz",
            status: 400,
            param: "currency"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&capture_method=bogus",
            status: 400,
            param: "capture_method"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&confirm=maybe",
            status: 400,
            param: "confirm"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=49&currency=usd",
            status: 400,
            code: "amount_too_small",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=49&currency=jpy",
            status: 400,
            code: "amount_too_small",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=100000000&currency=usd",
            status: 400,
            code: "amount_too_large",
            param: "amount"
        ),
        Case(method: "GET", path: "/v1/payment_intents?limit=0", status: 400, param: "limit"),
        Case(method: "GET", path: "/v1/payment_intents?limit=101", status: 400, param: "limit"),
        Case(method: "GET", path: "/v1/payment_intents?limit=ten", status: 400, code: "parameter_invalid_integer"),
        Case(
            method: "GET",
            path: "/v1/payment_intents?starting_after=pi_a&ending_before=pi_b",
            status: 400,
            code: "parameters_exclusive"
        ),
        Case(
            method: "GET",
            path: "/v1/payment_intents?starting_after=pi_unknown",
            status: 400,
            code: "resource_missing",
            param: "starting_after"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "{not json",
            contentType: "application/json",
            status: 400
        ),
        Case(method: "POST", path: "/v1/payment_intents", body: "[1, 2]", contentType: "application/json", status: 400),
        Case(method: "GET", path: "/v1/nothing_here", status: 404),
        Case(method: "POST", path: "/v1/payment_intents/pi_x/explode", body: "", status: 404),
        Case(method: "GET", path: "/nowhere", status: 404),
        // Shapes a form can take that the fields do not expect.
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount[]=1&currency=usd",
            status: 400,
            code: "parameter_invalid_integer",
            param: "amount"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&metadata=notahash",
            status: 400,
            param: "metadata"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_methods",
            body: "type=card&card[number][x]=1&card[exp_month]=12&card[exp_year]=2030",
            status: 400,
            param: "card[number]"
        ),
        Case(method: "POST", path: "/v1/payment_intents", body: "amount=2000&currency=usd&a[b=1", status: 400),
        Case(method: "POST", path: "/v1/payment_intents", body: "amount=%ZZ&currency=usd", status: 400),
        Case(method: "POST", path: "/v1/payment_methods", body: "type=sepa_debit", status: 400, param: "type"),
        // A null character: SQLite would store the text only up to it (a description `q` for `q\0r`)
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&description=q%00r",
            status: 400,
            code: "parameter_invalid_string",
            param: "description"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: #"{"amount": 2000, "currency": "usd", "metadata": {"note": "a\u0000b"}}"#,
            contentType: "application/json",
            status: 400,
            code: "parameter_invalid_string",
            param: "metadata[note]"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&metadata[a%00b]=1",
            status: 400,
            code: "parameter_invalid_string",
            param: "metadata"
        ),
        // A plain value after a hash (or an array) of the same name: the other order was refused already
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&metadata[x]=1&metadata=",
            status: 400,
            code: "parameter_invalid_string",
            param: "metadata"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&expand[]=customer&expand=customer",
            status: 400,
            code: "parameter_invalid_string",
            param: "expand"
        ),
        // Limits count code points: a letter and its 1,000 combining accents are one Swift Character
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&description=a" + String(repeating: "%CC%81", count: 1000),
            status: 400,
            code: "parameter_invalid_string_too_long",
            param: "description"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&metadata[note]=a" + String(repeating: "%CC%81", count: 500),
            status: 400,
            code: "parameter_invalid_string",
            param: "metadata[note]"
        ),
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: "amount=2000&currency=usd&metadata[k" + String(repeating: "%CC%81", count: 40) + "]=v",
            status: 400,
            code: "parameter_invalid_string"
        ),
        // An empty metadata key, which only JSON can name (the form's `metadata[]=` cannot remove it)
        Case(
            method: "POST",
            path: "/v1/payment_intents",
            body: #"{"amount": 2000, "currency": "usd", "metadata": {"": "x"}}"#,
            contentType: "application/json",
            status: 400,
            code: "parameter_invalid_empty",
            param: "metadata[]"
        ),
    ]

    @Test("Each bad request gets its Stripe error", arguments: cases)
    func badInput(_ test: Case) async throws {
        try await withWire { api in
            // When
            let response = try await api.send(
                test.method == "POST" ? .post : .get,
                test.path,
                body: test.body,
                contentType: test.contentType
            )
            // Then
            #expect(response.status == test.status, "\(response.text)")
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["message"]?.string?.isEmpty == false)
            if let code = test.code { #expect(response.error["code"]?.string == code) }
            if let param = test.param { #expect(response.error["param"]?.string == param) }
            #expect(response.header("Content-Type")?.hasPrefix("application/json") == true)
            // And nothing was created
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    /// Found by a probe: `/v1/payment_intents/` created an intent whose key a retry without the slash could not replay.
    @Test(
        "An API path with an empty segment is an unrecognized URL, as at Stripe, and does nothing",
        arguments: [
            ("POST", "/v1/payment_intents/"), ("POST", "/v1//payment_intents"), ("GET", "/v1/payment_intents/"),
            ("GET", "/v1/customers//payment_methods"), ("GET", "/v1/events/"), ("POST", "//v1/payment_intents"),
            ("GET", "//v1/customers"),
        ]
    )
    func emptySegment(_ method: String, _ path: String) async throws {
        try await withWire { api in
            let body = method == "POST" ? "amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true" : nil
            let response = try await api.send(method == "POST" ? .post : .get, path, body: body)
            #expect(response.status == 404, "\(response.text)")
            let message = response.error["message"]?.string ?? ""
            #expect(message.hasPrefix("Unrecognized request URL (\(method): \(path))"), "\(message)")
            // And a path that starts with two slashes (a base URL with a trailing slash) is told to drop it
            #expect(message.contains("base URL that ends in '/'") == path.hasPrefix("//"), "\(message)")
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    /// Found by probes: the Kelvin sign `K` lowercases to an ASCII `k`, so `\u{212A}RW` was a refund in `krw`, and a
    /// payment's refusal of `\u{212A}WD` said "Invalid currency: kwd.", a code that is valid.
    @Test("A currency in letters other than ASCII's is refused as sent, on a payment and on a refund, changing nothing")
    func currencyInOtherLetters() async throws {
        try await withWire { api in
            let created = try await api.createIntent([("currency", "\u{212A}WD")])
            #expect(created.status == 400, "\(created.text)")
            #expect(created.error["param"]?.string == "currency")
            #expect(created.error["message"]?.string?.hasPrefix("Invalid currency: \u{212A}WD.") == true)
            let intent = try await api.intent([
                ("amount", "5000"), ("currency", "krw"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ])
            let id = try #require(intent["id"]?.string)
            let refund = try await api.post(
                "/v1/refunds",
                [("payment_intent", id), ("amount", "1000"), ("currency", "\u{212A}RW")]
            )
            #expect(refund.status == 400, "\(refund.text)")
            #expect(refund.error["param"]?.string == "currency")
            #expect(try await api.listCount("/v1/refunds") == 0)
        }
    }

    @Test("Limits count code points: a value at the limit with combining accents is taken whole, one over is not")
    func limitsCountCodePoints() async throws {
        try await withWire { api in
            // Given a metadata value of exactly 500 code points: one letter and 499 combining accents, one Character
            let atLimit = "a" + String(repeating: "\u{301}", count: 499)
            #expect(atLimit.count == 1 && atLimit.unicodeScalars.count == 500)
            // When a customer is created with it, and with one accent more
            let taken = try await api.post("/v1/customers", [("metadata[note]", atLimit)])
            let over = try await api.post("/v1/customers", [("metadata[note]", atLimit + "\u{301}")])
            // Then the first is stored whole and the second refused, naming the length it counted
            #expect(taken.status == 200, "\(taken.text)")
            #expect(taken.json["metadata"]?["note"]?.string?.unicodeScalars.count == 500)
            #expect(over.status == 400 && over.error["param"]?.string == "metadata[note]", "\(over.text)")
            #expect(over.error["message"]?.string?.contains("501 characters") == true)
            #expect(try await api.listCount("/v1/customers") == 1)
        }
    }

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    /// Posts `body` (raw bytes) as a form to the intents endpoint with the secret key and `headers`.
    static func postRaw(_ api: WireClient, _ body: [UInt8], headers extra: HTTPFields = [:]) async throws
        -> (status: Int, error: String)
    {
        var headers = extra
        headers[.authorization] = WireClient.secret
        headers[.contentType] = "application/x-www-form-urlencoded"
        let response = try await api.client.executeRequest(
            uri: "/v1/payment_intents",
            method: .post,
            headers: headers,
            body: ByteBuffer(bytes: body)
        )
        return (Int(response.status.code), String(buffer: response.body))
    }

    @Test("Keys that differ in bytes that are not UTF-8 are refused, not merged into one key that replays a payment")
    func idempotencyKeysNotUTF8() async throws {
        try await withWire { api in
            // Given three orders whose keys differ only in a Latin-1 byte (each read as U+FFFD before)
            let form = Array("amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true".utf8)
            for last: UInt8 in [0xE9, 0xE8, 0xFF] {
                var headers = HTTPFields()
                headers.append(HTTPField(name: Self.idempotencyKey, value: Array("order-X-".utf8) + [last]))
                // When each is posted
                let response = try await Self.postRaw(api, form, headers: headers)
                // Then each is refused, and no payment was made or replayed
                #expect(response.status == 400, "\(response)")
                #expect(response.error.contains("idempotency_key_invalid"), "\(response)")
            }
            // And two Idempotency-Key headers (HTTP joined them into "a, b") are refused too
            var two = HTTPFields()
            two.append(HTTPField(name: Self.idempotencyKey, value: "first"))
            two.append(HTTPField(name: Self.idempotencyKey, value: "second"))
            let joined = try await Self.postRaw(api, form, headers: two)
            #expect(joined.status == 400 && joined.error.contains("Send one Idempotency-Key header"), "\(joined)")
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("Keys that are one text in two spellings (é composed and decomposed) are two keys, replayed or not")
    func idempotencyKeysByBytes() async throws {
        try await withWire { api in
            // Given an order under a key with a composed é, sent twice (its replay is now remembered in memory)
            let form = Array("amount=2000&currency=usd&payment_method=pm_card_visa&confirm=true".utf8)
            func post(_ key: String) async throws -> (status: Int, error: String) {
                var headers = HTTPFields()
                headers.append(HTTPField(name: Self.idempotencyKey, value: Array(key.utf8)))
                return try await Self.postRaw(api, form, headers: headers)
            }
            let composed = try await post("order-caf\u{E9}")
            #expect(composed.status == 200)
            #expect(try await post("order-caf\u{E9}").error == composed.error)
            // When another order comes under the same text spelled with e and a combining accent
            let decomposed = try await post("order-cafe\u{301}")
            // Then it is a new payment, as the database (which compares bytes) has always said
            #expect(decomposed.status == 200)
            #expect(decomposed.error != composed.error)
            #expect(try await api.listCount("/v1/payment_intents") == 2)
        }
    }

    @Test("A form body with bytes that are not UTF-8 is refused, as their percent escapes are, and stores nothing")
    func formBodyNotUTF8() async throws {
        try await withWire { api in
            for body in [
                Array("amount=2000&currency=usd&description=caf".utf8) + [0xE9],
                Array("amount=2000&currency=usd&metadata[k".utf8) + [0xE9] + Array("]=1&metadata[k".utf8) + [0xE8]
                    + Array("]=2".utf8),
            ] {
                let response = try await Self.postRaw(api, body)
                #expect(response.status == 400 && response.error.contains("not valid UTF-8"), "\(response)")
            }
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test(
        "JSON sent as a form (curl -d's default type) or with no type is refused saying to send it as JSON",
        arguments: ["/v1/customers", "/pay", "/v1/payment_intents"]
    )
    func jsonSentAsForm(path: String) async throws {
        try await withWire { api in
            // When a JSON body goes with the form's content type, or none
            for contentType in ["application/x-www-form-urlencoded", nil] {
                let response = try await api.send(
                    .post,
                    path,
                    body: #" {"email": "a@b.co", "payment_method_id": "pm_card_visa"}"#,
                    contentType: contentType,
                    auth: path == "/pay" ? nil : WireClient.secret
                )
                // Then it is refused with the hint (a payment's said "Missing required param: amount."), and
                // nothing is made
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["code"]?.string == "parameter_unknown", "\(response.text)")
                let message = response.error["message"]?.string ?? ""
                #expect(message.contains("Content-Type: application/json"), "\(message)")
            }
            #expect(try await api.listCount("/v1/customers") == 0)
            #expect(try await api.listCount("/v1/payment_intents") == 0)
            // While a form's unknown parameter says nothing of JSON
            let form = try await api.post("/v1/customers", [("emial", "a@b.co")])
            #expect(form.error["code"]?.string == "parameter_unknown", "\(form.text)")
            #expect(form.error["message"]?.string?.contains("JSON") == false, "\(form.text)")
        }
    }

    @Test(
        "A JSON body the parser refuses is a 400 giving its reason: too deeply nested, a lone surrogate, a stray value"
    )
    func jsonRefusedWithItsReason() async throws {
        try await withWire { api in
            for (body, reason) in [
                (
                    #"{"metadata": "# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}",
                    "Too many nested"
                ),
                (#"{"description": "\ud800"}"#, "surrogate"),
                (#"{"amount": x}"#, "Invalid value around character"),
            ] {
                let response = try await api.send(.post, "/v1/customers", body: body, contentType: "application/json")
                #expect(response.status == 400, "\(response.text)")
                let message = response.error["message"]?.string ?? ""
                #expect(message.hasPrefix("Invalid JSON body: the request body could not be parsed as JSON ("))
                #expect(message.contains(reason), "\(message)")
            }
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("A JSON number that would not be read as sent (a fraction, an exponent, past 64 bits) is a 400 naming it")
    func jsonNumbersReadExactlyOrRefused() async throws {
        try await withWire { api in
            // Given numbers whose text a JSON parser does not keep: they were stored changed ("1.1", a 41-digit
            // order number rounded), and an amount's error quoted "2000.0", which was never sent (a probe)
            for (body, param) in [
                (#"{"metadata": {"k": 1.10}}"#, "metadata[k]"),
                (#"{"metadata": {"order": 12345678901234567890123456789012345678901}}"#, "metadata[order]"),
                (#"{"name": 1e2}"#, "name"),
                (#"{"metadata": {"list": [1, 2.5]}}"#, "metadata[list][1]"),
            ] {
                let response = try await api.send(.post, "/v1/customers", body: body, contentType: "application/json")
                #expect(response.status == 400, "\(body): \(response.text)")
                #expect(response.error["param"]?.string == param, "\(body): \(response.text)")
                #expect(response.error["message"]?.string?.contains("send it as a string") == true, "\(response.text)")
            }
            #expect(try await api.listCount("/v1/customers") == 0)
            // And a card number sent as a JSON decimal is not shown back (it was, whole: a probe)
            let card = try await api.send(
                .post,
                "/v1/payment_methods",
                body: #"{"type": "card", "card": {"number": 4242424242424242.0, "exp_month": 12, "exp_year": 2030}}"#,
                contentType: "application/json"
            )
            #expect(card.status == 400 && !card.text.contains("424242"), "\(card.text)")
            // And an integer is read exactly, as text where text goes
            let exact = try await api.send(
                .post,
                "/v1/customers",
                body: #"{"metadata": {"order": 9223372036854775807, "small": -5}}"#,
                contentType: "application/json"
            )
            #expect(exact.json["metadata"]?["order"]?.string == "9223372036854775807", "\(exact.text)")
            #expect(exact.json["metadata"]?["small"]?.string == "-5", "\(exact.text)")
        }
    }

    @Test(
        "A parameter in two forms, a list item numbered wrongly, digits or letters with a space: a 400 saying which",
        arguments: [
            ("payment_method_types[]=card&payment_method_types[0]=card", "given in two forms"),
            ("metadata=x&metadata[k]=v", "given in two forms"),
            ("payment_method_types[x]=card", "numbered from 0"),
            ("payment_method_types[-1]=card", "numbered from 0"),
            ("payment_method_types[+1]=card", "numbered from 0"),
            ("payment_method_types[99999999999999999999]=card", "numbered from 0"),
            ("payment_method_types[0][a]=card", "single value"),
            ("amount=%202000", "a space before or after its digits"),
            ("metadata[]=1", "a hash of keys and string values"),
            // A currency with a space was "must be at most 3 characters" (probe)
            ("currency=%20usd", "a space before or after its letters"),
            ("currency=usd+", "a space before or after its letters"),
            // A Python list, as stripe-python sends one (amount[0]=100), was "Invalid integer: a hash" (probe)
            ("amount[0]=2000", "Invalid integer: an array"),
            ("currency[0]=usd&currency[1]=eur", "Invalid string: an array"),
            ("amount[a]=2000", "Invalid integer: a hash"),
        ]
    )
    func clearParameterErrors(form: String, says: String) async throws {
        try await withWire { api in
            // Given an otherwise valid create (the messages were "Invalid hash: x[0]", "Invalid array", and "Invalid
            // integer:  2000", which read as if the request were right)
            var body = form
            if !form.hasPrefix("amount") { body += "&amount=2000" }
            if !form.hasPrefix("currency") { body += "&currency=usd" }
            let response = try await api.send(
                .post,
                "/v1/payment_intents",
                body: body,
                contentType: "application/x-www-form-urlencoded"
            )
            // Then a 400 saying what is wrong, and nothing made
            #expect(response.status == 400, "\(response.text)")
            #expect(response.error["message"]?.string?.contains(says) == true, "\(response.text)")
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test(
        "A compressed body (any Content-Encoding but identity) is a 400 saying to send it uncompressed",
        arguments: ["gzip", "br", "deflate, identity", "GZIP"]
    )
    func contentEncodingRefused(encoding: String) async throws {
        try await withWire { api in
            // Given a form sent under a Content-Encoding (it was stored as sent, as if uncompressed), without and with
            // an Idempotency-Key (whose middleware reads the body first)
            for headers: HTTPFields in [
                [.contentEncoding: encoding], [.contentEncoding: encoding, Self.idempotencyKey: "encoded"],
            ] {
                let response = try await api.send(
                    .post,
                    "/v1/customers",
                    body: "description=plain",
                    contentType: "application/x-www-form-urlencoded",
                    headers: headers
                )
                // Then a 400 saying what to do
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["type"]?.string == "invalid_request_error")
                let message = response.error["message"]?.string ?? ""
                #expect(message.contains("Send the body uncompressed"), "\(message)")
            }
            // And nothing was created; while identity is read as no encoding
            #expect(try await api.listCount("/v1/customers") == 0)
            let plain = try await api.send(
                .post,
                "/v1/customers",
                body: "description=plain",
                contentType: "application/x-www-form-urlencoded",
                headers: [.contentEncoding: "identity"]
            )
            #expect(plain.status == 200, "\(plain.text)")
        }
    }

    @Test(
        "A body that is neither a form nor JSON is a 400 naming the types read, and changes nothing",
        arguments: [
            "multipart/form-data; boundary=------------------------d74496d66958873e", "text/plain",
            "text/plain;charset=UTF-8", "application/xml",
        ]
    )
    func unsupportedContentType(contentType: String) async throws {
        try await withWire { api in
            // Given a customer's email as curl -F sends it, or a form sent under another type
            let body =
                contentType.hasPrefix("multipart/")
                ? "--------------------------d74496d66958873e\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n"
                    + "a@b.co\r\n--------------------------d74496d66958873e--\r\n"
                : "email=a@b.co"
            // When it is posted, without and with an Idempotency-Key (whose middleware reads the body first)
            for headers: HTTPFields in [[:], [Self.idempotencyKey: "content-type"]] {
                let response = try await api.send(
                    .post,
                    "/v1/customers",
                    body: body,
                    contentType: contentType,
                    headers: headers
                )
                // Then Stripe's 400 saying which types are read
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["type"]?.string == "invalid_request_error")
                #expect(response.error["code"] == nil, "\(response.text)")
                let message = response.error["message"]?.string ?? ""
                #expect(message.contains("application/x-www-form-urlencoded"), "\(message)")
                #expect(message.contains("application/json"), "\(message)")
            }
            // And nothing was created
            #expect(try await api.listCount("/v1/customers") == 0)
            // While a form (with a charset, or with no content type at all) and JSON are read as before
            for (type, form): (String?, String) in [
                ("application/x-www-form-urlencoded; charset=utf-8", "email=a@b.co"), (nil, "email=c@d.co"),
                ("Application/JSON; charset=utf-8", #"{"email": "e@f.co"}"#),
            ] {
                let created = try await api.send(.post, "/v1/customers", body: form, contentType: type)
                #expect(created.status == 200, "\(type ?? "none"): \(created.text)")
            }
            #expect(try await api.listCount("/v1/customers") == 3)
        }
    }

    @Test(
        "A request for a connected account (Stripe-Account, or Stripe-Context) is refused, not run on this account",
        arguments: ["Stripe-Account", "Stripe-Context"]
    )
    func stripeAccountRefused(header: String) async throws {
        try await withWire { api in
            let headers: HTTPFields = [HTTPField.Name(header)!: "acct_1Connected"]
            let create = try await api.send(.post, "/v1/customers", body: "email=a@example.com", headers: headers)
            #expect(create.status == 400 && create.error["code"]?.string == "account_invalid", "\(create.text)")
            #expect(create.error["message"]?.string?.contains(header) == true, "\(create.text)")
            let list = try await api.send(.get, "/v1/customers", headers: headers)
            #expect(list.status == 400, "\(list.text)")
            #expect(try await api.listCount("/v1/customers") == 0)
        }
    }

    @Test("A body over the size limit is a 413 with a Stripe error body")
    func oversizedBody() async throws {
        try await withWire { api in
            // Given a 300 KB form body
            let body = "amount=2000&currency=usd&description=" + String(repeating: "a", count: 300 * 1024)
            // When
            let response = try await api.send(.post, "/v1/payment_intents", body: body)
            // Then
            #expect(response.status == 413)
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["message"]?.string?.isEmpty == false)
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("A 300 KB body with an Idempotency-Key is also a 413")
    func oversizedIdempotentBody() async throws {
        try await withWire { api in
            let body = "amount=2000&currency=usd&description=" + String(repeating: "a", count: 300 * 1024)
            let response = try await api.send(
                .post,
                "/v1/payment_intents",
                body: body,
                headers: [.init("Idempotency-Key")!: "big-body"]
            )
            #expect(response.status == 413)
            #expect(response.error["type"]?.string == "invalid_request_error")
        }
    }

    @Test("Confirming a succeeded intent is payment_intent_unexpected_state with the intent")
    func unexpectedState() async throws {
        try await withWire { api in
            let paid = try await api.intent([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let id = try #require(paid["id"]?.string)
            let again = try await api.post("/v1/payment_intents/\(id)/confirm")
            let cancel = try await api.post("/v1/payment_intents/\(id)/cancel")
            for response in [again, cancel] {
                #expect(response.status == 400)
                #expect(response.error["code"]?.string == "payment_intent_unexpected_state")
                #expect(response.error["payment_intent"]?["status"]?.string == "succeeded")
            }
            #expect(try api.environment.network.approvedCount() == 1)
        }
    }

    @Test("Invalid card data at payment method creation is a 402 card error")
    func invalidCard() async throws {
        try await withWire { api in
            let response = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424241"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"),
                ]
            )
            #expect(response.status == 402)
            #expect(response.error["type"]?.string == "card_error")
            #expect(response.error["code"]?.string == "incorrect_number")
        }
    }

    @Test(
        "Invalid card data saves nothing under the Idempotency-Key: the retry with the data corrected runs",
        arguments: [
            ("card[number]", "4242424242424241", "incorrect_number"),
            ("card[exp_month]", "13", "invalid_expiry_month"),
            ("card[exp_year]", "2001", "invalid_expiry_year"),
            ("card[cvc]", "12", "invalid_cvc"),
        ]
    )
    func invalidCardSavesNothingUnderTheKey(param: String, value: String, code: String) async throws {
        try await withWire { api in
            let valid = [
                ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                ("card[exp_year]", "2030"), ("card[cvc]", "123"),
            ]
            let key: HTTPFields = [Self.idempotencyKey: "card-typo-\(code)"]
            // Given a card created with one field mistyped, under a key: a 402 card error
            let mistyped = valid.map { $0.0 == param ? (param, value) : $0 }
            let refused = try await api.post("/v1/payment_methods", mistyped, headers: key)
            #expect(refused.status == 402)
            #expect(refused.error["code"]?.string == code)
            // When the client corrects the field and retries with the same key
            let corrected = try await api.post("/v1/payment_methods", valid, headers: key)
            // Then the request runs, as after a 400: the refusal was not an outcome to replay
            #expect(corrected.status == 200, "\(corrected.text)")
            #expect(corrected.header("Idempotent-Replayed") == nil)
            let id = try #require(corrected.json["id"]?.string)
            // And the key now holds that card: a retry replays it
            let replay = try await api.post("/v1/payment_methods", valid, headers: key)
            #expect(replay.header("Idempotent-Replayed") == "true")
            #expect(replay.json["id"]?.string == id)
        }
    }

    @Test("A decline is an outcome: a 402 from the issuer is saved under the key and replayed")
    func declineIsSavedUnderTheKey() async throws {
        try await withWire { api in
            let key: HTTPFields = [Self.idempotencyKey: "declined-once"]
            let form = [
                ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_chargeDeclined"),
                ("confirm", "true"),
            ]
            let declined = try await api.post("/v1/payment_intents", form, headers: key)
            #expect(declined.status == 402)
            let again = try await api.post("/v1/payment_intents", form, headers: key)
            #expect(again.status == 402)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(again.text == declined.text)
        }
    }

    @Test(
        "Stripe's Search API answers a 404 that says search is not served and names the list filters",
        arguments: ["payment_intents", "customers", "charges"]
    )
    func searchIsNotServed(_ object: String) async throws {
        try await withWire { api in
            let response = try await api.get("/v1/\(object)/search", [("query", "metadata['order']:'42'")])
            #expect(response.status == 404)
            #expect(response.error["type"]?.string == "invalid_request_error")
            let message = try #require(response.error["message"]?.string)
            #expect(message.contains("Search (GET /v1/\(object)/search) is not supported"), "\(message)")
            // and the README section it names is there (it named "Admin reports", which is not)
            let readme = try String(contentsOf: TestPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
            let section = try #require(
                message.components(separatedBy: "(README, \"").last?.components(separatedBy: "\"").first
            )
            #expect(readme.contains("\n## \(section)\n"), "\(section)")
        }
    }

    @Test("A POST with parameters in its URL's query string is a 400 that says where they go, and changes nothing")
    func queryOnPost() async throws {
        try await withWire { api in
            // Given an authorization of 1000
            let authorized = try await api.post(
                "/v1/payment_intents",
                [
                    ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
                    ("capture_method", "manual"),
                ]
            )
            let id = try #require(authorized.json["id"]?.string)

            // When a capture and a customer create put their parameters in the query string (with a key, and without)
            let capture = try await api.post("/v1/payment_intents/\(id)/capture?amount_to_capture=100")
            var keyed = HTTPFields()
            keyed[HTTPField.Name("Idempotency-Key")!] = "query-on-post"
            let customer = try await api.post("/v1/customers?email=q@example.com", headers: keyed)

            // Then both are refused (the capture took all 1000, the customer had no email), and nothing changed
            for response in [capture, customer] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["type"]?.string == "invalid_request_error")
                #expect(response.error["message"]?.string?.contains("query string") == true, "\(response.text)")
            }
            let intent = try await api.get("/v1/payment_intents/\(id)")
            #expect(intent.json["status"]?.string == "requires_capture")
            #expect(intent.json["amount_capturable"]?.int == 1000)
            #expect(try await api.listCount("/v1/customers") == 0)
            // and the key was kept for nothing: the same key with the parameters in the body runs
            let again = try await api.post("/v1/customers", [("email", "q@example.com")], headers: keyed)
            #expect(again.status == 200 && again.json["email"]?.string == "q@example.com", "\(again.text)")
        }
    }

    @Test("A GET or DELETE with parameters in its body is a 400 that says where they go, and changes nothing")
    func bodyOnGetOrDelete() async throws {
        try await withWire { api in
            // Given two customers, one with an intent
            let jenny = try #require(
                try await api.post("/v1/customers", [("email", "j@example.com")]).json["id"]?.string
            )
            let other = try #require(
                try await api.post("/v1/customers", [("email", "o@example.com")]).json["id"]?.string
            )
            _ = try await api.intent([("customer", jenny)])

            // When a list filters by customer and a delete sends an unknown parameter, both in the body
            // (curl -X GET -d)
            let list = try await api.send(.get, "/v1/payment_intents", body: "customer=\(other)")
            let delete = try await api.send(.delete, "/v1/customers/\(other)", body: "foo=bar")

            // Then both are refused (the list showed every customer's intents, the delete ran), and nothing changed
            for response in [list, delete] {
                #expect(response.status == 400, "\(response.text)")
                #expect(response.error["message"]?.string?.contains("query string") == true, "\(response.text)")
            }
            #expect(try await api.get("/v1/customers/\(other)").json["deleted"] == nil)
            // while the same in the query string, and an empty body, are read as before
            let filtered = try await api.get("/v1/payment_intents", [("customer", other)])
            #expect(filtered.status == 200 && filtered.json.ids.isEmpty, "\(filtered.text)")
            let deleted = try await api.send(.delete, "/v1/customers/\(other)", body: "")
            #expect(deleted.status == 200 && deleted.json["deleted"]?.bool == true, "\(deleted.text)")
        }
    }
}
