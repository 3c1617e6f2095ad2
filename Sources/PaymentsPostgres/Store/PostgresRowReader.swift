import Foundation
import PostgresNIO

/// Reads the columns of one result row by name, in the storage classes ``PostgresValue`` writes: BIGINT as Int64
/// (and 0/1 as Bool), TEXT, BYTEA; JSON text and enum raw values through their types.
struct PostgresRowReader {
    let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    /// Why a row could not be read: a column missing, NULL where a value is required, or a value its type refuses.
    struct DecodingError: Error, CustomStringConvertible {
        let column: String
        let problem: String
        var description: String { "Column \(column): \(problem)" }
    }

    private func cell(_ column: String) throws -> PostgresCell {
        guard row.contains(column) else { throw DecodingError(column: column, problem: "not in the result") }
        return row[column]
    }

    func optionalInt64(_ column: String) throws -> Int64? {
        try cell(column).decode(Int64?.self)
    }

    func int64(_ column: String) throws -> Int64 {
        guard let value = try optionalInt64(column) else { throw DecodingError(column: column, problem: "NULL") }
        return value
    }

    func int(_ column: String) throws -> Int { Int(try int64(column)) }

    func optionalInt(_ column: String) throws -> Int? { try optionalInt64(column).map { Int($0) } }

    func bool(_ column: String) throws -> Bool { try int64(column) != 0 }

    func optionalString(_ column: String) throws -> String? {
        try cell(column).decode(String?.self)
    }

    func string(_ column: String) throws -> String {
        guard let value = try optionalString(column) else { throw DecodingError(column: column, problem: "NULL") }
        return value
    }

    func optionalData(_ column: String) throws -> Data? {
        try cell(column).decode(ByteBuffer?.self).map { Data($0.readableBytesView) }
    }

    func data(_ column: String) throws -> Data {
        guard let value = try optionalData(column) else { throw DecodingError(column: column, problem: "NULL") }
        return value
    }

    /// A TEXT column holding one of an enum's raw values.
    func choice<T: RawRepresentable>(_ column: String) throws -> T where T.RawValue == String {
        guard let value: T = try optionalChoice(column) else {
            throw DecodingError(column: column, problem: "NULL")
        }
        return value
    }

    /// A nullable TEXT column holding one of an enum's raw values.
    func optionalChoice<T: RawRepresentable>(_ column: String) throws -> T? where T.RawValue == String {
        guard let text = try optionalString(column) else { return nil }
        guard let value = T(rawValue: text) else {
            throw DecodingError(column: column, problem: "an unknown value: \(text)")
        }
        return value
    }

    /// A TEXT column holding JSON (``PostgresJSON``).
    func json<T: Decodable>(_ column: String) throws -> T {
        try PostgresJSON.value(T.self, from: try string(column))
    }

    /// A nullable TEXT column holding JSON.
    func optionalJSON<T: Decodable>(_ column: String) throws -> T? {
        try optionalString(column).map { try PostgresJSON.value(T.self, from: $0) }
    }
}
