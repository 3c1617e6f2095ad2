import PaymentsCore
import Testing

@Suite("Card expiry")
struct CardExpiryTests {
    /// 2026-03-15T12:00:00Z.
    static let midMarch2026: Int64 = 1_773_576_000
    /// 2025-12-31T23:59:59Z, the last second of 2025.
    static let lastSecondOf2025: Int64 = 1_767_225_599
    /// 2026-01-01T00:00:00Z, the first second of 2026.
    static let firstSecondOf2026: Int64 = 1_767_225_600

    /// The outcome an expiry row expects.
    enum Expected: Equatable {
        case valid(month: Int, year: Int)
        case invalid(CardExpiryError)
    }

    @Test(
        "Validation rules at fixed times",
        arguments: [
            // Month range.
            (13, 2030, midMarch2026, .invalid(.invalidExpiryMonth)),
            (0, 2030, midMarch2026, .invalid(.invalidExpiryMonth)),
            (-1, 2030, midMarch2026, .invalid(.invalidExpiryMonth)),
            (13, 1970, midMarch2026, .invalid(.invalidExpiryMonth)),
            (1, 2030, midMarch2026, .valid(month: 1, year: 2030)),
            (12, 2030, midMarch2026, .valid(month: 12, year: 2030)),
            // The current year: earlier months have expired, this month and later are fine.
            (2, 2026, midMarch2026, .invalid(.invalidExpiryMonth)),
            (3, 2026, midMarch2026, .valid(month: 3, year: 2026)),
            (4, 2026, midMarch2026, .valid(month: 4, year: 2026)),
            // Past years.
            (12, 2025, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, 1970, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, 100, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, -5, midMarch2026, .invalid(.invalidExpiryYear)),
            // Two-digit years are 2000 + year.
            (12, 34, midMarch2026, .valid(month: 12, year: 2034)),
            (3, 26, midMarch2026, .valid(month: 3, year: 2026)),
            (2, 26, midMarch2026, .invalid(.invalidExpiryMonth)),
            (1, 25, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, 0, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, 95, midMarch2026, .invalid(.invalidExpiryYear)),  // Stripe's example: 2095 is too far ahead
            (1, 70, midMarch2026, .valid(month: 1, year: 2070)),
            // At most 50 years ahead.
            (12, 2076, midMarch2026, .valid(month: 12, year: 2076)),
            (1, 2077, midMarch2026, .invalid(.invalidExpiryYear)),
            (1, 76, midMarch2026, .valid(month: 1, year: 2076)),
            (1, 77, midMarch2026, .invalid(.invalidExpiryYear)),
            // The year boundary: December 2025 is valid until the last second of 2025, not a second later.
            (12, 2025, lastSecondOf2025, .valid(month: 12, year: 2025)),
            (12, 2025, firstSecondOf2026, .invalid(.invalidExpiryYear)),
            (1, 2026, lastSecondOf2025, .valid(month: 1, year: 2026)),
            (1, 2026, firstSecondOf2026, .valid(month: 1, year: 2026)),
            (11, 2025, lastSecondOf2025, .invalid(.invalidExpiryMonth)),
            (1, 2075, lastSecondOf2025, .valid(month: 1, year: 2075)),
            (1, 2076, lastSecondOf2025, .invalid(.invalidExpiryYear)),
        ] as [(Int, Int, Int64, Expected)]
    )
    func validation(month: Int, year: Int, now: Int64, expected: Expected) {
        let outcome: Expected
        do {
            let expiry = try CardExpiry(month: month, year: year, nowUnixSeconds: now)
            outcome = .valid(month: expiry.month, year: expiry.year)
        } catch {
            outcome = .invalid(error)
        }
        #expect(outcome == expected)
    }

    @Test(
        "A card is valid through the last second of its expiry month, UTC",
        arguments: [
            (12, 2026, 1_798_761_599, false),  // 2026-12-31T23:59:59Z
            (12, 2026, 1_798_761_600, true),  // 2027-01-01T00:00:00Z
            (11, 2026, 1_796_083_199, false),  // 2026-11-30T23:59:59Z
            (11, 2026, 1_796_083_200, true),  // 2026-12-01T00:00:00Z
            (2, 2024, 1_709_208_000, false),  // 2024-02-29T12:00:00Z, leap day
            (2, 2024, 1_709_251_200, true),  // 2024-03-01T00:00:00Z
            (3, 2026, midMarch2026, false),
            (1, 2030, midMarch2026, false),
            (12, 2025, midMarch2026, true),
            (1, 1970, 0, false),
            (12, 1969, 0, true),
        ] as [(Int, Int, Int64, Bool)]
    )
    func isExpired(month: Int, year: Int, at now: Int64, expired: Bool) {
        let expiry = CardExpiry(unvalidatedMonth: month, year: year)
        #expect(expiry.isExpired(atUnixSeconds: now) == expired)
    }

    @Test(
        "UTC year and month from Unix time",
        arguments: [
            (0, 1970, 1), (-1, 1969, 12), (1_767_225_599, 2025, 12), (1_767_225_600, 2026, 1),
            (1_773_576_000, 2026, 3), (951_868_799, 2000, 2), (951_868_800, 2000, 3),
            (-2_203_891_200, 1900, 3), (4_107_542_399, 2100, 2), (4_107_542_400, 2100, 3),
        ] as [(Int64, Int, Int)]
    )
    func utcYearMonth(unixSeconds: Int64, year: Int, month: Int) {
        #expect(UTCYearMonth(unixSeconds: unixSeconds) == UTCYearMonth(year: year, month: month))
    }

    @Test("Every day of 1999-2001 maps to the right month")
    func utcYearMonthExhaustive() {
        // Walk day by day from 1999-01-01, checking the first and last second of every day.
        let daysPerMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        var day: Int64 = 10_592  // 1999-01-01
        for year in 1999...2001 {
            for month in 1...12 {
                let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
                let length = daysPerMonth[month - 1] + (month == 2 && leap ? 1 : 0)
                for _ in 0..<length {
                    let expected = UTCYearMonth(year: year, month: month)
                    #expect(UTCYearMonth(unixSeconds: day * 86_400) == expected)
                    #expect(UTCYearMonth(unixSeconds: day * 86_400 + 86_399) == expected)
                    day += 1
                }
            }
        }
    }

    @Test(
        "Error codes and messages",
        arguments: [
            (CardExpiryError.invalidExpiryMonth, "invalid_expiry_month", "Your card's expiration month is invalid."),
            (.invalidExpiryYear, "invalid_expiry_year", "Your card's expiration year is invalid."),
        ]
    )
    func errors(error: CardExpiryError, code: String, message: String) {
        #expect(error.code == code)
        #expect(error.message == message)
    }
}
