import Foundation
import PaymentsCore
import Testing

@testable import PaymentsStore

/// Metadata's JSON text without Foundation's coders: the same bytes `JSONEncoder` (sorted keys) writes, and the
/// same values back.
@Suite("Metadata as JSON text")
struct FlatJSONTests {
    /// Keys and values that exercise every escape, ordering and non-ASCII text.
    static let samples: [[String: String]] = [
        [:],
        ["order_id": "6735"],
        ["b": "2", "a": "1", "B": "3", "a10": "x", "a2": "y", "_": "", "é": "accent", "Z": "upper"],
        ["quote\"d": "back\\slash", "path": "a/b/c", "tab": "a\tb", "lines": "a\nb\r\nc"],
        ["controls": "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}", "del": "\u{7f}"],
        ["emoji": "💳 paid", "日本": "東京", "mixed": "ü/\"\\\u{1}"],
        Dictionary(uniqueKeysWithValues: (0..<50).map { ("key\($0)", String(repeating: "v", count: $0)) }),
    ]

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    @Test("writes JSONEncoder's bytes, sorted keys and escapes included", arguments: samples)
    func sameBytesAsTheEncoder(_ metadata: [String: String]) throws {
        let expected = String(decoding: try Self.encoder.encode(metadata), as: UTF8.self)
        #expect(FlatJSON.text(metadata) == expected)
        #expect(try RowValue.jsonText(metadata) == expected)
    }

    @Test("reads back what it wrote, and what the decoder reads", arguments: samples)
    func roundTrip(_ metadata: [String: String]) throws {
        let text = FlatJSON.text(metadata)
        #expect(FlatJSON.object(text) == metadata)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == metadata)
    }

    @Test(
        "gives up on anything but a flat object of strings, for JSONDecoder to read or refuse",
        arguments: [
            "", "{", "}", "[]", "{\"a\":1}", "{\"a\":\"1\",}", "{\"a\":\"1\"} ", "{\"a\" : \"1\"}",
            "{\"a\":\"\\ud83d\\udcb3\"}", "{\"a\":\"\\u00g1\"}", "{\"a\":\"1\",\"a\":\"2\"}", "{\"a\":\"x\ny\"}",
            "{\"a\":\"\\q\"}", "{\"a\":\"1\"",
            "{\"a\":{\"b\":\"c\"}}", "null",
        ]
    )
    func refusesTheRest(_ text: String) {
        #expect(FlatJSON.object(text) == nil)
    }

    @Test("reads \\u escapes; a text it gives up on still reads through JSONDecoder")
    func fallsBackToTheDecoder() throws {
        #expect(FlatJSON.object(#"{"a":"\u0041\u00e9","b":"x"}"#) == ["a": "Aé", "b": "x"])
        // a surrogate pair (💳): valid JSON that only the decoder reads
        let text = #"{"a":"\ud83d\udcb3"}"#
        #expect(FlatJSON.object(text) == nil)
        #expect(try JSONDecoder().decode([String: String].self, from: Data(text.utf8)) == ["a": "💳"])
    }

    /// Errors with and without their optional fields, and text that needs escapes.
    static let errors: [LastPaymentError] = [
        LastPaymentError(
            type: .card,
            code: "card_declined",
            declineCode: "insufficient_funds",
            message: "Your card has insufficient funds.",
            paymentMethod: "pm_1",
            charge: "ch_1"
        ),
        LastPaymentError(
            type: .invalidRequest,
            code: "payment_intent_payment_attempt_expired",
            message: "The payment attempt expired.",
            paymentMethod: nil
        ),
        LastPaymentError(
            type: .api,
            code: "a/b",
            message: "quote \" back\\slash\nline \u{8}\u{c}\u{1} é 💳",
            param: "card[number]",
            paymentMethod: "pm_/"
        ),
    ]

    @Test("a payment's last error: JSONEncoder's bytes, and the same error back", arguments: errors)
    func lastPaymentError(_ error: LastPaymentError) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let expected = String(decoding: try encoder.encode(error), as: UTF8.self)
        #expect(try RowValue.jsonText(error) == expected)
        #expect(LastPaymentError(flatJSON: error.flatJSON) == error)
        #expect(try JSONDecoder().decode(LastPaymentError.self, from: Data(expected.utf8)) == error)
    }

    @Test("an error text with an unknown field or type is left to JSONDecoder")
    func lastPaymentErrorFallsBack() {
        #expect(LastPaymentError(flatJSON: ["type": "card_error", "code": "x", "message": "m", "extra": "1"]) == nil)
        #expect(LastPaymentError(flatJSON: ["type": "other_error", "code": "x", "message": "m"]) == nil)
        #expect(LastPaymentError(flatJSON: ["type": "card_error", "message": "m"]) == nil)
    }
}
