import Foundation
import GRDB
import Testing

@testable import PaymentsStore

/// The store's statements bound straight to SQLite (`Statement.bind(_:)`, `run(_:)`): every kind of value arrives as
/// it was given, a statement run again with other values runs with those, and GRDB's runs (execute, fetch) see them.
@Suite("Statements bound straight to SQLite")
struct StatementBindingTests {
    /// Values of every storage kind, repeated past GRDB's temporary-binding limit.
    static func values(_ seed: Int64) -> [DatabaseValue] {
        let kinds: [DatabaseValue] = [
            .null, seed.databaseValue, (Double(seed) + 0.5).databaseValue, "text é \(seed) \"x\" 💳".databaseValue,
            Data([0, 255, UInt8(seed & 0xFF)]).databaseValue, "".databaseValue, Data().databaseValue,
        ]
        return (0..<4).flatMap { _ in kinds }
    }

    static let columns = (1...28).map { "c\($0)" }

    @Test("each value arrives as given, run after run, through execute and through fetch", arguments: [false, true])
    func boundAsGiven(overLimit: Bool) throws {
        let queue = try DatabaseQueue()
        let count = overLimit ? Self.columns.count : Statement.temporaryBindingLimit
        let names = Self.columns.prefix(count)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER PRIMARY KEY, \(names.joined(separator: ", ")))")
            let insert = try db.cachedStatement(
                sql:
                    "INSERT INTO t (n, \(names.joined(separator: ", "))) VALUES (?\(String(repeating: ", ?", count: count)))"
            )
            for seed: Int64 in [1, 2, 3] {
                let values = [seed.databaseValue] + Array(Self.values(seed).prefix(count))
                try insert.run(values)
                let stored = try Row.fetchOne(db, sql: "SELECT * FROM t WHERE n = ?", arguments: [seed])
                #expect(stored.map { Array($0.databaseValues) } == values)
            }
            // A statement that returns rows, as the store's multi-row UPDATEs do
            let update = try db.cachedStatement(sql: "UPDATE t SET c4 = ? WHERE n >= ? RETURNING n")
            update.bind(["changed".databaseValue, 2.databaseValue])
            #expect(try Int.fetchAll(update).sorted() == [2, 3])
            #expect(try String.fetchAll(db, sql: "SELECT c4 FROM t ORDER BY n").last == "changed")
        }
    }

    @Test("a row's NULL, empty text and empty blob stay apart")
    func emptyValuesStayApart() throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (a, b, c)")
            let insert = try db.cachedStatement(
                sql: "INSERT INTO t VALUES (?, ?, ?) RETURNING typeof(a), typeof(b), typeof(c)"
            )
            insert.bind([.null, "".databaseValue, Data().databaseValue])
            let types = try Row.fetchOne(insert)
            #expect(types.map { [$0[0], $0[1], $0[2]] as [String] } == ["null", "text", "blob"])
        }
    }
}
