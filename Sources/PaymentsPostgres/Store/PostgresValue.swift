import Foundation
import PostgresNIO

/// One bound parameter, as the store writes it: the same storage classes the SQLite store writes (integers for
/// money, times and 0/1 flags, text for ids, enums and JSON, bytes for sealed cards), so that a row reads the same
/// to an admin's SQL on either database.
enum PostgresValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case bytes(Data)
    /// A `text[]`, for `column = ANY($n)`: one parameter however many values.
    case texts([String])

    /// Appends the value to `bindings` as its own type (int8, text, bytea); NULL with no type, so the server takes
    /// the column's.
    func bind(into bindings: inout PostgresBindings) {
        switch self {
        case .null: bindings.appendNull()
        case .integer(let value): bindings.append(value)
        case .text(let value): bindings.append(value)
        case .bytes(let value): bindings.append(ByteBuffer(bytes: value))
        case .texts(let values): bindings.append(values)
        }
    }
}

/// A Swift value the store binds as a parameter.
protocol PostgresValueConvertible {
    var postgresValue: PostgresValue { get }
}

extension Int64: PostgresValueConvertible {
    var postgresValue: PostgresValue { .integer(self) }
}

extension Int: PostgresValueConvertible {
    var postgresValue: PostgresValue { .integer(Int64(self)) }
}

extension Bool: PostgresValueConvertible {
    /// 0 or 1 in a BIGINT column with `CHECK (x IN (0, 1))`, as SQLite stores booleans.
    var postgresValue: PostgresValue { .integer(self ? 1 : 0) }
}

extension String: PostgresValueConvertible {
    var postgresValue: PostgresValue { .text(self) }
}

extension Data: PostgresValueConvertible {
    var postgresValue: PostgresValue { .bytes(self) }
}

extension PostgresValue: PostgresValueConvertible {
    var postgresValue: PostgresValue { self }
}

extension Optional: PostgresValueConvertible where Wrapped: PostgresValueConvertible {
    var postgresValue: PostgresValue { self?.postgresValue ?? .null }
}

extension PostgresBindings {
    /// Bindings of `values`, in order ($1, $2, ...).
    init(_ values: [PostgresValue]) {
        self.init(capacity: values.count)
        for value in values { value.bind(into: &self) }
    }
}
