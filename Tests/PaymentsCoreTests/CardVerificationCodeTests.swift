import PaymentsCore
import Testing

@Suite("Card verification codes")
struct CardVerificationCodeTests {
    @Test(
        "Three digits, four for American Express",
        arguments: [
            ("123", CardBrand.visa, true), ("000", .visa, true), ("12", .visa, false), ("1234", .visa, false),
            ("99", .visa, false), ("", .visa, false), ("12a", .visa, false), (" 123", .visa, false),
            ("１２３", .visa, false),  // full-width digits
            ("1234", .amex, true), ("123", .amex, false), ("12345", .amex, false), ("12 4", .amex, false),
            ("123", .mastercard, true), ("123", .discover, true), ("123", .diners, true), ("123", .jcb, true),
            ("123", .unionpay, true), ("123", .eftposAu, true), ("123", .unknown, true), ("1234", .unknown, false),
        ]
    )
    func validate(cvc: String, brand: CardBrand, valid: Bool) {
        if valid {
            #expect(throws: Never.self) { try CardVerificationCode.validate(cvc, brand: brand) }
        } else {
            #expect(throws: CVCError.invalidCVC) { try CardVerificationCode.validate(cvc, brand: brand) }
        }
    }

    @Test("Expected lengths")
    func expectedLengths() {
        for brand in CardBrand.allCases {
            #expect(CardVerificationCode.expectedLength(for: brand) == (brand == .amex ? 4 : 3))
        }
    }

    @Test("Error code and message")
    func error() {
        #expect(CVCError.invalidCVC.code == "invalid_cvc")
        #expect(CVCError.invalidCVC.message == "Your card's security code is invalid.")
    }
}
