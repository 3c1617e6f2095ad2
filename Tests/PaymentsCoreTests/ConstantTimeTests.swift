import PaymentsCore
import Testing

@Suite("Constant-time comparison")
struct ConstantTimeTests {
    @Test(
        "Equal only when every byte is",
        arguments: [
            ("tok_abc", "tok_abc", true), ("tok_abc", "tok_abd", false), ("tok_abc", "tok_ab", false),
            ("", "", true), ("x", "", false), ("é", "e\u{301}", false),
        ]
    )
    func equals(a: String, b: String, expected: Bool) {
        #expect(ConstantTime.equals(a, b) == expected)
        #expect(ConstantTime.equals(b, a) == expected)
    }
}
