import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Log timestamps: ISO 8601 in UTC with milliseconds (`2026-11-29T21:24:52.123Z`), formatted without a shared
/// formatter, so threads logging at once never wait on one another.
enum ISO8601Timestamp {
    /// `date`, to the nearest millisecond, as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    static func utc(_ date: Date) -> String {
        let totalMilliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let (wholeSeconds, milliseconds) = totalMilliseconds.quotientAndRemainder(dividingBy: 1000)
        var seconds = time_t(milliseconds < 0 ? wholeSeconds - 1 : wholeSeconds)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = ""
        text.reserveCapacity(24)
        text += padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-"
        text += padded(Int(parts.tm_mday), 2) + "T" + padded(Int(parts.tm_hour), 2) + ":"
        text += padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2) + "."
        text += padded(Int(milliseconds < 0 ? milliseconds + 1000 : milliseconds), 3) + "Z"
        return text
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
