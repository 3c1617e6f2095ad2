/// The archive's control lines: JSON objects, one per line, between and around the row lines (JSON arrays).
///
/// ```
/// {"format":"payments-archive","version":1,"source":"sqlite","migrations":["0001_initial",…],"exported_at":…}
/// {"table":"customers","columns":["rowid","id","created",…]}
/// [1,"cus_…",1767225600,…]                                   one line per row
/// {"end":"customers","rows":1,"sha256":"…"}                  the rows' count and the SHA-256 of their lines
/// …                                                          every other table, in foreign-key order
/// {"end_of_archive":true,"tables":10,"sha256":"…"}           the SHA-256 of every line before this one
/// ```
public enum ArchiveLines {
    /// The format's name in the header.
    public static let format = "payments-archive"
    /// The version this build writes and reads.
    public static let version = 1

    /// The first line.
    public struct Header: Codable, Sendable, Equatable {
        public var format: String
        public var version: Int
        /// `sqlite` or `postgres`: the kind of database the rows came from.
        public var source: String
        /// The migrations the source had applied, in order.
        public var migrations: [String]
        /// When the export ran (unix seconds, from the exporter's clock).
        public var exportedAt: Int64

        enum CodingKeys: String, CodingKey {
            case format, version, source, migrations
            case exportedAt = "exported_at"
        }
    }

    /// The line before a table's rows.
    struct TableStart: Codable, Equatable {
        var table: String
        var columns: [String]
    }

    /// The line after a table's rows.
    struct TableEnd: Codable, Equatable {
        var end: String
        var rows: Int64
        var sha256: String
    }

    /// The last line.
    struct ArchiveEnd: Codable, Equatable {
        var endOfArchive: Bool
        var tables: Int
        var sha256: String

        enum CodingKeys: String, CodingKey {
            case endOfArchive = "end_of_archive"
            case tables, sha256
        }
    }
}
