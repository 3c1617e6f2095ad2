import Foundation
import PaymentsCore
import Testing

@Suite("Currency")
struct MoneyCurrencyTests {
    @Test(
        "Codes are accepted in any case and stored lowercase",
        arguments: [("usd", "usd"), ("USD", "usd"), ("Jpy", "jpy"), ("eUR", "eur"), ("kwd", "kwd"), ("XCG", "xcg")]
    )
    func acceptsAnyCase(raw: String, expected: String) throws {
        let currency = try #require(Currency(code: raw))
        #expect(currency.code == expected)
        #expect(currency.description == expected)
    }

    /// The Kelvin sign (U+212A) lowercases to an ASCII `k`: `\u{212A}RW` was taken for `krw`, and a recharge row with it
    /// charged in won (a probe); full-width letters are refused too.
    @Test(
        "Unknown or malformed codes are refused, and codes in letters other than ASCII's",
        arguments: ["", "us", "usdd", "xxx", "abc", "hrk", "u sd", "💵", "\u{212A}RW", "\u{212A}wd", "ＵＳＤ", "ｕsd"]
    )
    func refusesUnknownCodes(raw: String) {
        #expect(Currency(code: raw) == nil)
    }

    @Test("The supported list is Stripe's: about 140 three-letter lowercase codes")
    func supportedList() {
        let codes = Currency.allSupported.map(\.code)
        #expect((135...145).contains(codes.count))
        #expect(codes == codes.sorted())
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { $0.count == 3 && $0 == $0.lowercased() })
        for code in ["usd", "eur", "gbp", "jpy", "aud", "cad", "chf", "sek", "hkd", "inr", "idr", "huf", "cop", "lbp"] {
            #expect(codes.contains(code), "missing \(code)")
        }
    }

    @Test("Static constants are the supported currencies")
    func staticConstants() {
        #expect(Currency.usd == Currency(code: "usd"))
        #expect(Currency.eur == Currency(code: "eur"))
        #expect(Currency.jpy == Currency(code: "jpy"))
        #expect(Currency.gbp == Currency(code: "gbp"))
    }

    @Test(
        "Minor unit digits",
        arguments: [
            ("usd", 2, false), ("eur", 2, false), ("jpy", 0, true), ("krw", 0, true), ("clp", 0, true),
            ("bif", 0, true), ("xpf", 0, true), ("vnd", 0, true), ("isk", 2, false), ("ugx", 2, false),
            ("huf", 2, false), ("twd", 2, false), ("bhd", 3, false), ("jod", 3, false), ("kwd", 3, false),
            ("omr", 3, false), ("tnd", 3, false),
        ]
    )
    func minorUnits(code: String, digits: Int, zeroDecimal: Bool) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.minorUnitDigits == digits)
        #expect(currency.isZeroDecimal == zeroDecimal)
    }

    @Test("Exactly Stripe's fifteen zero-decimal currencies")
    func zeroDecimalList() {
        let zeroDecimal = Currency.allSupported.filter(\.isZeroDecimal).map(\.code)
        #expect(
            zeroDecimal == [
                "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf", "xof", "xpf",
            ]
        )
    }

    @Test(
        "Minimum charge amounts follow Stripe's table, 50 (500 for three-decimal) elsewhere",
        arguments: [
            ("usd", 50), ("eur", 50), ("gbp", 30), ("aud", 50), ("cad", 50), ("chf", 50), ("nzd", 50), ("sgd", 50),
            ("brl", 50), ("inr", 50), ("jpy", 50), ("hkd", 400), ("mxn", 1000), ("thb", 1000), ("myr", 200),
            ("aed", 200), ("pln", 200), ("ron", 200), ("bgn", 100), ("dkk", 250), ("nok", 300), ("sek", 300),
            ("czk", 1500), ("huf", 17500), ("zar", 50), ("krw", 50), ("clp", 50), ("kwd", 500), ("bhd", 500),
        ] as [(String, Int64)]
    )
    func minimums(code: String, minimum: Int64) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.minimumChargeAmount == minimum)
    }

    @Test(
        "Maximum charge amounts: eight digits by default, more for a few small-unit currencies, each one chargeable",
        arguments: [
            ("usd", 99_999_999), ("eur", 99_999_999), ("gbp", 99_999_999), ("krw", 99_999_999),
            ("kwd", 99_999_990), ("bhd", 99_999_990), ("isk", 99_999_900), ("ugx", 99_999_900), ("jpy", 999_999_999),
            ("inr", 9_999_999_999), ("huf", 99_999_999_999),
            ("idr", 999_999_999_999), ("cop", 999_999_999_999), ("lbp", 9_999_999_999_999),
        ] as [(String, Int64)]
    )
    func maximums(code: String, maximum: Int64) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.maximumChargeAmount == maximum)
    }

    @Test("Every currency's minimum is positive and below its maximum")
    func limitsAreConsistent() {
        for currency in Currency.allSupported {
            #expect(currency.minimumChargeAmount > 0, "\(currency)")
            #expect(currency.minimumChargeAmount < currency.maximumChargeAmount, "\(currency)")
        }
    }

    @Test(
        "Formatting: symbol first for common currencies, code after the number otherwise",
        arguments: [
            ("usd", 50, "$0.50"), ("usd", 0, "$0.00"), ("usd", 5, "$0.05"), ("usd", 99_999_999, "$999,999.99"),
            ("usd", 100_000, "$1,000.00"), ("usd", 99_999, "$999.99"), ("usd", -150, "-$1.50"),
            ("eur", 1000, "€10.00"), ("gbp", 30, "£0.30"), ("jpy", 50, "¥50"), ("jpy", 1_234_567, "¥1,234,567"),
            ("hkd", 400, "HK$4.00"), ("cad", 50, "CA$0.50"), ("sek", 1000, "10.00 SEK"), ("sek", 300, "3.00 SEK"),
            ("huf", 17500, "175.00 HUF"), ("krw", 50, "₩50"), ("clp", 1000, "1,000 CLP"),
            ("kwd", 1500, "1.500 KWD"), ("kwd", 5, "0.005 KWD"), ("chf", 1_000_000, "10,000.00 CHF"),
            ("usd", Int64.min, "-$92,233,720,368,547,758.08"),
            // Whole units written as two-decimal amounts: no fraction
            ("isk", 12_300, "123 ISK"), ("ugx", 500_000, "5,000 UGX"), ("isk", 99_999_900, "999,999 ISK"),
        ] as [(String, Int64, String)]
    )
    func formatting(code: String, amount: Int64, expected: String) throws {
        let currency = try #require(Currency(code: code))
        #expect(currency.formatted(amount) == expected)
    }

    @Test("Encodes as its bare code and decodes case-insensitively")
    func codable() throws {
        let encoded = try JSONEncoder().encode([Currency.usd, Currency.jpy])
        #expect(String(decoding: encoded, as: UTF8.self) == #"["usd","jpy"]"#)
        let decoded = try JSONDecoder().decode([Currency].self, from: Data(#"["EUR","gbp"]"#.utf8))
        #expect(decoded == [.eur, .gbp])
    }

    @Test("Decoding an unsupported code fails")
    func decodingUnknownFails() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Currency].self, from: Data(#"["zzz"]"#.utf8))
        }
    }
}
