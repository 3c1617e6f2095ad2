import ArgumentParser
import Foundation

/// A point in time given on the command line: unix seconds (`1767225600`), ISO 8601 (`2026-01-01T00:00:00Z`, with
/// fractional seconds or an offset, or a date alone, `2026-01-01`, meaning its midnight UTC; a date and time without
/// an offset is read as UTC), or a time from now: a sign, a number and a unit, `s`, `m`, `h` or `d` (`+2m`, `+7d`,
/// `-1h`).
struct TimeArgument: ExpressibleByArgument, Sendable, Equatable {
    /// The times accepted: 1970-01-01 to 9999-12-31 UTC, in unix seconds. Past them a time from now overflowed 64 bits
    /// when added to the clock (the command crashed), and dates stopped printing as dates.
    static let bounds: ClosedRange<Int64> = 0...253_402_300_799

    /// Unix seconds, or for a time from now, the seconds from now.
    private let value: Int64
    /// Whether the time was given from now (`+2m`).
    let relative: Bool

    /// Creates a time from unix seconds, or from now when `relative`.
    init(seconds: Int64, relative: Bool = false) {
        self.value = seconds
        self.relative = relative
    }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        if let offset = Self.offset(text) {
            self.init(seconds: offset, relative: true)
            return
        }
        // Digits alone: `Int64` also reads `+60`, which is neither unix seconds nor a time from now (no unit)
        if text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }), let seconds = Int64(text) {
            guard Self.bounds.contains(seconds) else { return nil }
            self.init(seconds: seconds)
            return
        }
        // The whole text in one of the shapes below, each field in its range: Foundation's formatters read a date
        // at the text's start and ignored the rest, so `2026-12-02T16:00` (no seconds) and `2026-12-02T25:00:00` (no
        // such hour) were read as that day's midnight, and `2026-02-30` as 2 March
        guard let seconds = Self.iso8601Seconds(text), Self.bounds.contains(seconds) else { return nil }
        self.init(seconds: seconds)
    }

    /// An ISO 8601 date (`2026-01-01`), or date and time with seconds (`2026-01-01T00:00:00`), with fractional
    /// seconds or not, with `Z`, an offset (`+02:00`) or neither.
    nonisolated(unsafe) private static let iso8601Shape =
        /([0-9]{4})-([0-9]{2})-([0-9]{2})(?:T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(Z|([+-])([0-9]{2}):([0-9]{2}))?)?/

    /// The unix seconds of an ISO 8601 date or date and time in ``iso8601Shape`` (fractions dropped, no offset
    /// meaning UTC), or nil when it is not one or a field is out of its range (month 13, 30 February, hour 24,
    /// minute or second 60, an offset past 23:59).
    static func iso8601Seconds(_ text: String) -> Int64? {
        guard let match = text.wholeMatch(of: iso8601Shape) else { return nil }
        func number(_ part: Substring?) -> Int64 { part.flatMap { Int64($0) } ?? 0 }
        let (year, month, day) = (number(match.1), number(match.2), number(match.3))
        let (hour, minute, second) = (number(match.4), number(match.5), number(match.6))
        let (offsetHours, offsetMinutes) = (number(match.9), number(match.10))
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second < 60, offsetHours < 24, offsetMinutes < 60
        else { return nil }
        let offset = (offsetHours * 3_600 + offsetMinutes * 60) * (match.8 == "-" ? -1 : 1)
        return daysSinceEpoch(year: year, month: month, day: day) * 86_400 + hour * 3_600 + minute * 60 + second
            - offset
    }

    /// The days of `month` (1-12) in `year` of the proleptic Gregorian calendar.
    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shifted = month <= 2 ? year - 1 : year
        let era = (shifted >= 0 ? shifted : shifted - 399) / 400
        let yearOfEra = shifted - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// Whether the time falls inside ``bounds`` when counted from `now` (a time from now may fall before 1970).
    func isInBounds(now: Int64) -> Bool { Self.bounds.contains(seconds(now: now)) }

    /// The time in unix seconds; a time from now is counted from `now`.
    func seconds(now: Int64) -> Int64 { relative ? now + value : value }

    /// The seconds in each unit a time from now may use.
    private static let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3_600, "d": 86_400]

    /// The seconds of a time from now (`+2m` is 120, `-1h` is -3600), or nil when `text` is not one. The sign is
    /// required, so that a bare number stays unix seconds.
    private static func offset(_ text: String) -> Int64? {
        guard let sign = text.first, sign == "+" || sign == "-", let unit = text.last, let size = units[unit] else {
            return nil
        }
        let digits = text.dropFirst().dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isWholeNumber }), let count = Int64(digits) else {
            return nil
        }
        let (seconds, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow, seconds <= Self.bounds.upperBound else { return nil }
        return sign == "-" ? -seconds : seconds
    }

    /// `seconds` as ISO 8601 in UTC, e.g. `2026-01-01T00:00:00Z`.
    static func iso8601(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
