import ArgumentParser
import Foundation

/// A point in time given on the command line: unix seconds (`1767225600`) or ISO 8601 (`2026-01-01T00:00:00Z`,
/// with fractional seconds or an offset, or a date alone, `2026-01-01`, meaning its midnight UTC). A date and time
/// without an offset is read as UTC.
struct TimeArgument: ExpressibleByArgument, Sendable, Equatable {
    /// The time in unix seconds.
    var seconds: Int64

    /// Creates a time from unix seconds.
    init(seconds: Int64) { self.seconds = seconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        if let seconds = Int64(text) {
            self.seconds = seconds
            return
        }
        let forms: [ISO8601DateFormatter.Options] = [
            [.withInternetDateTime],
            [.withInternetDateTime, .withFractionalSeconds],
            [.withFullDate, .withTime, .withDashSeparatorInDate, .withColonSeparatorInTime],
            [.withFullDate, .withDashSeparatorInDate],
        ]
        for options in forms {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            formatter.timeZone = TimeZone(identifier: "UTC")
            if let date = formatter.date(from: text) {
                self.seconds = Int64(date.timeIntervalSince1970.rounded(.down))
                return
            }
        }
        return nil
    }

    static var defaultCompletionKind: CompletionKind { .default }

    /// The time as ISO 8601 in UTC, e.g. `2026-01-01T00:00:00Z`.
    var iso8601: String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }
}
