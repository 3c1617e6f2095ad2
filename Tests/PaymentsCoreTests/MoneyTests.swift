import Foundation
import PaymentsCore
import Testing

@Suite("Money and charge limits")
struct MoneyTests {
    /// The outcome a `validateCharge` row expects.
    enum Expected: Equatable {
        case valid
        case notPositive
        case tooSmall(Int64)
        case tooLarge(Int64)
        case notSettleable
    }

    @Test(
        "validateCharge edges",
        arguments: [
            ("usd", 0, .notPositive), ("usd", -1, .notPositive), ("usd", Int64.min, .notPositive),
            ("usd", 1, .tooSmall(50)), ("usd", 49, .tooSmall(50)), ("usd", 50, .valid), ("usd", 51, .valid),
            ("usd", 99_999_999, .valid), ("usd", 100_000_000, .tooLarge(99_999_999)),
            ("usd", Int64.max, .tooLarge(99_999_999)),
            ("gbp", 29, .tooSmall(30)), ("gbp", 30, .valid),
            ("jpy", 49, .tooSmall(50)), ("jpy", 50, .valid), ("jpy", 999_999_999, .valid),
            ("jpy", 1_000_000_000, .tooLarge(999_999_999)),
            ("hkd", 399, .tooSmall(400)), ("hkd", 400, .valid),
            ("huf", 17_499, .tooSmall(17_500)), ("huf", 17_500, .valid),
            ("idr", 999_999_999_999, .valid), ("idr", 1_000_000_000_000, .tooLarge(999_999_999_999)),
            ("kwd", 499, .tooSmall(500)), ("kwd", 500, .valid),
            // Three-decimal currencies: the last digit must be 0
            ("kwd", 505, .notSettleable), ("bhd", 1005, .notSettleable), ("bhd", 1010, .valid),
            ("tnd", 999, .notSettleable),
            // isk and ugx: whole units sent as two-decimal amounts, so the last two digits must be 0
            ("isk", 1050, .notSettleable), ("isk", 1000, .valid), ("ugx", 150, .notSettleable), ("ugx", 500, .valid),
            ("isk", 50, .tooSmall(100)), ("isk", 100, .valid),
            ("ugx", 99_999_900, .valid),
            // The largest of them is a refusal as too large, naming an amount that can be charged
            ("kwd", 99_999_999, .tooLarge(99_999_990)), ("isk", 99_999_999, .tooLarge(99_999_900)),
        ] as [(String, Int64, Expected)]
    )
    func validateCharge(code: String, amount: Int64, expected: Expected) throws {
        let currency = try #require(Currency(code: code))
        let outcome: Expected
        do {
            let money = try Money.validateCharge(amount: amount, currency: currency)
            #expect(money == Money(amount: amount, currency: currency))
            outcome = .valid
        } catch .notPositive {
            outcome = .notPositive
        } catch .tooSmall(let minimum) {
            #expect(minimum.currency == currency)
            outcome = .tooSmall(minimum.amount)
        } catch .tooLarge(let maximum) {
            #expect(maximum.currency == currency)
            outcome = .tooLarge(maximum.amount)
        } catch .notSettleable(let refused) {
            #expect(refused == currency)
            outcome = .notSettleable
        }
        #expect(outcome == expected)
    }

    @Test(
        "Error codes and Stripe's messages",
        arguments: [
            (AmountError.notPositive, "parameter_invalid_integer", "Invalid positive integer"),
            (
                .tooSmall(minimum: Money(amount: 50, currency: .usd)), "amount_too_small",
                "Amount must be at least $0.50 usd"
            ),
            (
                .tooSmall(minimum: Money(amount: 50, currency: .eur)), "amount_too_small",
                "Amount must be at least €0.50 eur"
            ),
            (
                .tooSmall(minimum: Money(amount: 50, currency: .jpy)), "amount_too_small",
                "Amount must be at least ¥50 jpy"
            ),
            (
                .tooSmall(minimum: Money(amount: 300, currency: Currency(code: "sek")!)), "amount_too_small",
                "Amount must be at least 3.00 SEK"
            ),
            (
                .tooLarge(maximum: Money(amount: 99_999_999, currency: .usd)), "amount_too_large",
                "Amount must be no more than $999,999.99"
            ),
            (
                .tooLarge(maximum: Money(amount: 999_999_999, currency: .jpy)), "amount_too_large",
                "Amount must be no more than ¥999,999,999"
            ),
        ]
    )
    func messages(error: AmountError, code: String, message: String) {
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(error.param == "amount")
    }

    @Test("The messages of validateCharge's own errors")
    func validateChargeMessages() {
        #expect(throws: AmountError.tooSmall(minimum: Money(amount: 50, currency: .usd))) {
            try Money.validateCharge(amount: 49, currency: .usd)
        }
        do {
            _ = try Money.validateCharge(amount: 49, currency: .usd)
            Issue.record("49 cents should be refused")
        } catch {
            #expect(error.message == "Amount must be at least $0.50 usd")
        }
        do {
            _ = try Money.validateCharge(amount: 100_000_000, currency: .usd)
            Issue.record("one million dollars should be refused")
        } catch {
            #expect(error.message == "Amount must be no more than $999,999.99")
        }
    }

    @Test("Description is the formatted amount")
    func description() {
        #expect(Money(amount: 1050, currency: .usd).description == "$10.50")
        #expect(Money(amount: 1050, currency: .jpy).description == "¥1,050")
    }

    @Test("Codable round trip as {amount, currency}")
    func codable() throws {
        let money = Money(amount: 1000, currency: .eur)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(money), as: UTF8.self)
        #expect(json == #"{"amount":1000,"currency":"eur"}"#)
        #expect(try JSONDecoder().decode(Money.self, from: Data(json.utf8)) == money)
    }
}
