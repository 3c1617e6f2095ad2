import Foundation
import PaymentsCore
import Testing

@Suite("JSON strings written by hand")
struct JSONStringTests {
    static let samples = [
        "", "pi_3MtwBwLkdIwHu7ix28a3tqPa", "requires_payment_method", "a/b", "quote \" back\\slash",
        "line\nbreak\r\ttab", "\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}", "é 💳 東京", "mixed ü/\"\\\u{1}",
    ]

    @Test("reads back as the same string, with no raw control character", arguments: samples, [false, true])
    func roundTrip(_ text: String, likeJSONEncoder: Bool) throws {
        var bytes: [UInt8] = []
        JSONString.append(text, to: &bytes, likeJSONEncoder: likeJSONEncoder)
        #expect(!bytes.contains { $0 < 0x20 })
        #expect(try JSONDecoder().decode(String.self, from: Data(bytes)) == text)
    }

    @Test("a string with nothing to escape is its own bytes, quoted")
    func verbatim() {
        var bytes: [UInt8] = []
        JSONString.append("ch_1 succeeded é", to: &bytes)
        #expect(bytes == Array("\"ch_1 succeeded é\"".utf8))
    }

    @Test("JSONEncoder's escapes when asked (slash, \\b, \\f), the \\u form otherwise")
    func escapes() throws {
        let text = "a/b\u{8}\u{c}\u{1}"
        var plain: [UInt8] = []
        JSONString.append(text, to: &plain)
        #expect(String(decoding: plain, as: UTF8.self) == #""a/b\u0008\u000c\u0001""#)
        var encoderStyle: [UInt8] = []
        JSONString.append(text, to: &encoderStyle, likeJSONEncoder: true)
        #expect(encoderStyle == Array(try JSONEncoder().encode(text)))
    }
}
