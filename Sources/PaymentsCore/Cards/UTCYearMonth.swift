/// A calendar month in UTC (proleptic Gregorian calendar), computed from Unix time without Foundation.
///
/// Card expiry is a month-level question, so this is all the calendar the card rules need.
public struct UTCYearMonth: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The four-digit year, such as 2026.
    public let year: Int
    /// The month, 1...12.
    public let month: Int

    /// Creates a year and month as given; `month` should be in 1...12.
    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The UTC year and month containing `unixSeconds`.
    ///
    /// Uses Howard Hinnant's `civil_from_days` algorithm, exact for any Int64 second count a clock can produce,
    /// before 1970 included.
    ///
    /// - Parameter unixSeconds: seconds since 1970-01-01T00:00:00Z.
    public init(unixSeconds: Int64) {
        let secondsPerDay: Int64 = 86_400
        var days = unixSeconds / secondsPerDay
        if unixSeconds % secondsPerDay < 0 { days -= 1 }  // floor division for instants before 1970

        // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097  // 0...146096
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365  // 0...399
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // 0...365, from March 1
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0...11, March = 0
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.init(year: Int(year), month: Int(month))
    }

    /// Orders months chronologically.
    public static func < (lhs: UTCYearMonth, rhs: UTCYearMonth) -> Bool {
        (lhs.year, lhs.month) < (rhs.year, rhs.month)
    }

    /// `2026-03`.
    public var description: String {
        (month < 10 ? "\(year)-0\(month)" : "\(year)-\(month)")
    }
}
