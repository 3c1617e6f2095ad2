import Foundation
import GRDB
import GRDBSQLite
import TestSupport
import Testing

@testable import PaymentsStore

/// Rows read in place from a stepped statement (`StatementColumns`), as the store reads every row by id and page.
@Suite("Rows read in place")
struct StatementColumnsTests {
    /// A row type of this test's table: each column by name, NULL as nil.
    struct Sample: ColumnDecodable, Equatable {
        var id: String
        var amount: Int64
        var note: String?
        var flag: Bool
        var blob: Data?

        init(id: String, amount: Int64, note: String?, flag: Bool, blob: Data?) {
            (self.id, self.amount, self.note, self.flag, self.blob) = (id, amount, note, flag, blob)
        }

        init(row: Row) throws { try self.init(columns: row) }

        init<Columns: ColumnValues>(columns row: Columns) throws {
            self.init(id: row["id"], amount: row["amount"], note: row["note"], flag: row["flag"], blob: row["blob"])
        }
    }

    static func database() throws -> DatabaseQueue {
        let folder = try TestPaths.temporaryFolder("columns")
        let queue = try DatabaseQueue(path: folder.appendingPathComponent("t.sqlite").path)
        try queue.write { db in
            try db.execute(
                sql:
                    "CREATE TABLE samples (id TEXT PRIMARY KEY, amount INTEGER NOT NULL, note TEXT, flag INTEGER NOT NULL, blob BLOB)"
            )
            try db.execute(
                sql: "INSERT INTO samples VALUES ('a', 2000, 'é \"quoted\"', 1, x'00ff'), ('b', -5, NULL, 0, NULL)"
            )
        }
        return queue
    }

    @Test("the same values as GRDB's Row, NULLs included, whatever the columns' order in the SQL")
    func sameAsRow() throws {
        let queue = try Self.database()
        try queue.read { db in
            let byRow = try Sample.fetchAll(db, sql: "SELECT * FROM samples ORDER BY id")
            #expect(byRow.count == 2 && byRow[1].note == nil && byRow[0].blob == Data([0, 255]))
            for sql in [
                "SELECT * FROM samples ORDER BY id",
                "SELECT blob, flag, note, amount, id FROM samples ORDER BY id",
                "SELECT id AS id, amount, note, flag, blob, amount AS amount FROM samples ORDER BY id",
            ] {
                #expect(try db.fetch(Sample.self, sql: sql, []) == byRow, "\(sql)")
            }
            // limit, arguments, and no row
            let one = try db.fetch(Sample.self, sql: "SELECT * FROM samples WHERE id = ?", ["b"])
            #expect(one == [byRow[1]])
            #expect(
                try db.fetch(Sample.self, sql: "SELECT * FROM samples", [], limit: 1).count == 1
            )
            #expect(
                try db.fetch(Sample.self, sql: "SELECT * FROM samples WHERE id = ?", ["z"]) == []
            )
        }
    }

    /// A row of every type the row types read, each both set and NULL, and one column the result does not have.
    struct Typed: ColumnDecodable, Equatable {
        var text: String
        var maybeText: String?
        var integer: Int64
        var maybeInteger: Int64?
        var count: Int
        var maybeCount: Int?
        var flag: Bool
        var maybeFlag: Bool?
        var ratio: Double?
        var absent: String?

        init(row: Row) throws { try self.init(columns: row) }

        init<Columns: ColumnValues>(columns row: Columns) throws {
            (text, maybeText, integer, maybeInteger) = (
                row["text"], row["maybe_text"], row["integer"], row["maybe_integer"]
            )
            (count, maybeCount, flag, maybeFlag) = (row["count"], row["maybe_count"], row["flag"], row["maybe_flag"])
            (ratio, absent) = (row["ratio"], row["absent"])
        }
    }

    @Test("each type the row types use reads as GRDB's Row reads it: set, NULL, and a column the result lacks")
    func everyType() throws {
        let queue = try Self.database()
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE typed (text TEXT NOT NULL, maybe_text TEXT, integer INTEGER NOT NULL,
                    maybe_integer INTEGER, count INTEGER NOT NULL, maybe_count INTEGER, flag INTEGER NOT NULL,
                    maybe_flag INTEGER, ratio REAL);
                    INSERT INTO typed VALUES ('ü "x"', '', 9000000000, -9000000000, 3, 0, 1, 0, 0.5),
                        ('', NULL, -1, NULL, -7, NULL, 0, NULL, NULL);
                    """
            )
        }
        try queue.read { db in
            let byRow = try Typed.fetchAll(db, sql: "SELECT * FROM typed ORDER BY rowid")
            let inPlace = try db.fetch(Typed.self, sql: "SELECT * FROM typed ORDER BY rowid", [])
            #expect(inPlace == byRow)
            #expect(byRow.count == 2)
            #expect(byRow[0].text == #"ü "x""# && byRow[0].maybeText == "" && byRow[0].integer == 9_000_000_000)
            #expect(byRow[0].maybeInteger == -9_000_000_000 && byRow[0].count == 3 && byRow[0].maybeCount == 0)
            #expect(byRow[0].flag && byRow[0].maybeFlag == false && byRow[0].ratio == 0.5 && byRow[0].absent == nil)
            #expect(byRow[1].maybeText == nil && byRow[1].maybeInteger == nil && byRow[1].maybeCount == nil)
            #expect(!byRow[1].flag && byRow[1].maybeFlag == nil && byRow[1].ratio == nil && byRow[1].count == -7)
        }
    }

    @Test("a table rebuilt with its columns in another order under the same SQL text is read from the new places")
    func schemaChange() throws {
        let queue = try Self.database()
        let sql = "SELECT * FROM samples WHERE id = ?"
        let before = try queue.read { db in try db.fetch(Sample.self, sql: sql, ["a"]) }
        // The same columns in another order (id and note swapped: both text, so stale positions would read
        // each other's values rather than fail)
        try queue.write { db in
            try db.execute(sql: "ALTER TABLE samples RENAME TO old")
            try db.execute(
                sql: """
                    CREATE TABLE samples (note TEXT, amount INTEGER NOT NULL, id TEXT PRIMARY KEY,
                    flag INTEGER NOT NULL, blob BLOB)
                    """
            )
            try db.execute(sql: "INSERT INTO samples SELECT note, amount, id, flag, blob FROM old")
        }
        let after = try queue.read { db in try db.fetch(Sample.self, sql: sql, ["a"]) }
        #expect(after == before && after.count == 1)
    }

    @Test("a statement is reset after its rows are read: the reader's snapshot ends with its transaction")
    func statementReset() throws {
        let queue = try Self.database()
        try queue.read { db in
            _ = try db.fetch(Sample.self, sql: "SELECT * FROM samples", [], limit: 1)
            // A statement left stepping would make SQLite refuse to finish the transaction's read
            #expect(sqlite3_stmt_busy(try db.cachedStatement(sql: "SELECT * FROM samples").sqliteStatement) == 0)
        }
    }
}
