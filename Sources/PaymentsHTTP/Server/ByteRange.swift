/// A `Range` header the static files answer: one range of bytes, from a first position to a last one or to the end
/// (`bytes=FIRST-LAST`, `bytes=FIRST-`).
///
/// Hummingbird's file middleware reads these two forms well within the file, but a first position at or past the end
/// was answered 206 with a negative `Content-Length` (`bytes=100000-` of a 7 KB file: `Content-Length: -92897`,
/// `Content-Range: bytes 100000-7102/7103`); it read a suffix (`bytes=-500`, the last 500 bytes) as the first 501
/// bytes and several ranges as their first. So only these two forms reach it, and ``StaticFilesMiddleware`` answers a
/// first position past the end itself (416).
struct ByteRange: Equatable {
    /// The first byte's position; `Int.max` for one written with more digits than an `Int` holds (past any file's
    /// end all the same).
    let first: Int
    /// The last byte's position, or nil for the end of the file.
    let last: Int?

    /// The range of a `Range` header value, or nil for one the server ignores, as RFC 9110 (14.2) lets it: a unit
    /// other than bytes, a suffix, several ranges, a last position before the first, or anything malformed. Ignored,
    /// the request gets the whole file (200).
    init?(_ value: String) {
        let prefix = "bytes="
        guard value.utf8.count > prefix.utf8.count, value.prefix(prefix.count).lowercased() == prefix else {
            return nil
        }
        let spec = value.dropFirst(prefix.count).split(separator: "-", omittingEmptySubsequences: false)
        guard spec.count == 2, let first = Self.position(spec[0]) else { return nil }
        if spec[1].isEmpty {
            self.init(first: first, last: nil)
        } else if let last = Self.position(spec[1]), first <= last {
            self.init(first: first, last: last)
        } else {
            return nil
        }
    }

    init(first: Int, last: Int?) {
        self.first = first
        self.last = last
    }

    /// The header value the file middleware reads.
    var headerValue: String { "bytes=\(first)-\(last.map(String.init) ?? "")" }

    /// A position: ASCII digits only, `Int.max` when too many for an `Int`; nil when not digits.
    private static func position(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int(text) ?? Int.max
    }
}
