import PaymentsCore
import Testing

@Suite("Card brand detection")
struct CardBrandTests {
    @Test(
        "IIN ranges",
        arguments: [
            ("4", CardBrand.visa), ("4111111111111111", .visa), ("4000056655665556", .visa),
            ("51", .mastercard), ("55", .mastercard), ("5555555555554444", .mastercard), ("50", .unknown),
            ("56", .unknown), ("2221", .mastercard), ("2720", .mastercard), ("2220", .unknown), ("2721", .unknown),
            ("2223003122003222", .mastercard),
            ("34", .amex), ("37", .amex), ("35", .unknown), ("378282246310005", .amex),
            ("6011", .discover), ("6011111111111117", .discover), ("644", .discover), ("649", .discover),
            ("643", .unknown), ("65", .discover), ("6555900000604105", .discover), ("6012", .unknown),
            ("36", .diners), ("300", .diners), ("305", .diners), ("306", .unknown), ("38", .diners),
            ("39", .diners), ("3056930009020004", .diners),
            ("3528", .jcb), ("3589", .jcb), ("3527", .unknown), ("3590", .unknown), ("3566002020360505", .jcb),
            ("62", .unionpay), ("6200000000000005", .unionpay), ("6205500000000000004", .unionpay),
            ("", .unknown), ("1", .unknown), ("9999", .unknown), ("x4242", .unknown), ("42a", .unknown),
        ]
    )
    func detect(digits: String, brand: CardBrand) {
        #expect(CardBrand.detect(fromDigits: digits) == brand)
    }

    @Test("Raw values are Stripe's spelling")
    func rawValues() {
        #expect(
            CardBrand.allCases.map(\.rawValue) == [
                "amex", "diners", "discover", "eftpos_au", "jcb", "mastercard", "unionpay", "visa", "unknown",
            ]
        )
        #expect(CardFunding.allCases.map(\.rawValue) == ["credit", "debit", "prepaid", "unknown"])
    }
}
