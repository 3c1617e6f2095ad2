import Foundation
import GRDB
import GRDBSQLite
import PaymentsSQLite
import TestSupport
import Testing

/// The write-ahead log's writes gathered by the buffering VFS (`WALWriteBuffer`, `Sources/CSQLiteWAL`), checked
/// against what SQLite's plain VFS finds in the files: every acknowledged commit must be in the log file, whole,
/// before the call that committed it returns.
@Suite("WAL write buffer")
struct WALWriteBufferTests {
    init() { WALWriteBuffer.install() }

    /// A pool on `path` in WAL mode (opened through the buffering VFS, now the default) at `synchronous`.
    static func pool(_ path: String, synchronous: String, cachePages: Int? = nil) throws -> DatabasePool {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            if let cachePages { try db.execute(sql: "PRAGMA cache_size = \(cachePages)") }
        }
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, x BLOB NOT NULL)")
        }
        return pool
    }

    /// The first column of each row of `sql`, read on a connection of SQLite's own `unix` VFS, which reads the files
    /// with no buffer of ours in between.
    static func plainRead(_ path: String, _ sql: String) throws -> [String] {
        var db: OpaquePointer?
        defer { sqlite3_close(db) }
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, "unix") == SQLITE_OK else {
            throw DatabaseError(message: "open: \(String(cString: sqlite3_errmsg(db)))")
        }
        var statement: OpaquePointer?
        defer { sqlite3_finalize(statement) }
        guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
            throw DatabaseError(message: "prepare: \(String(cString: sqlite3_errmsg(db)))")
        }
        var rows: [String] = []
        while true {
            switch sqlite3_step(statement) {
            case SQLITE_ROW: rows.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
            case SQLITE_DONE: return rows
            default: throw DatabaseError(message: "step: \(String(cString: sqlite3_errmsg(db)))")
            }
        }
    }

    /// The rows' count, total size and a digest of their bytes.
    static let summarySQL = """
        SELECT count(*) || '/' || coalesce(sum(length(x)), 0) || '/'
            || coalesce(sum(unicode(substr(hex(x), 1 + id % 64, 1)) * id), 0) FROM t
        """

    /// ``summarySQL`` as the plain VFS reads the files.
    static func summary(_ path: String) throws -> String {
        try plainRead(path, summarySQL).joined()
    }

    /// ``summarySQL`` inside a transaction of the pool.
    static func summary(_ db: Database) throws -> String {
        try String.fetchOne(db, sql: summarySQL) ?? ""
    }

    @Test(
        "every commit is in the log when it returns: the plain VFS reads each one whole, at FULL and at NORMAL",
        arguments: ["FULL", "NORMAL"]
    )
    func commitsInTheFile(synchronous: String) throws {
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("w.sqlite").path
        let pool = try Self.pool(path, synchronous: synchronous)
        for commit in 1...30 {
            // Several pages per transaction (rows of 1 to 9 KB), so each commit is many frames
            let expected = try pool.write { db -> String in
                for row in 0..<4 {
                    try db.execute(
                        sql: "INSERT INTO t (x) VALUES (randomblob(?))",
                        arguments: [1_000 + (commit * 7 + row) * 211 % 8_000]
                    )
                }
                return try Self.summary(db)
            }
            // Then, as soon as the write returns, another connection reading the files sees exactly that
            #expect(try Self.summary(path) == expected, "commit \(commit)")
        }
        // And the frames went to the file gathered: far fewer writes to the file than SQLite asked for (about one
        // per commit, against its two per page), on this connection's log
        let counts = try #require(pool.writeWithoutTransaction { db in WALWriteBuffer.counts(db) })
        #expect(counts.writes >= 30 * 4 * 2)
        #expect(counts.flushes * 4 < counts.writes, "\(counts.flushes) flushes for \(counts.writes) writes")
        #expect(try Self.plainRead(path, "PRAGMA integrity_check") == ["ok"])
    }

    @Test("a transaction larger than a flush, with pages spilled to the log before its commit and read back within it")
    func largeTransactions() throws {
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("w.sqlite").path
        // A page cache of 20 pages: SQLite writes dirty pages to the log mid-transaction and reads them back from it
        let pool = try Self.pool(path, synchronous: "FULL", cachePages: 20)
        // 12 MB in one transaction: more than the 4 MiB the buffer gathers, and than the 124 KiB it writes at once
        let inside = try pool.write { db -> String in
            for _ in 0..<3_000 { try db.execute(sql: "INSERT INTO t (x) VALUES (randomblob(4000))") }
            return try Self.summary(db)
        }
        #expect(inside.hasPrefix("3000/12000000/"))
        #expect(try Self.summary(path) == inside)
        // A large transaction rolled back leaves the committed rows, and the next commit writes over its frames
        struct Abandoned: Error {}
        #expect(throws: Abandoned.self) {
            try pool.write { db in
                for _ in 0..<1_000 { try db.execute(sql: "INSERT INTO t (x) VALUES (randomblob(4000))") }
                try db.execute(sql: "DELETE FROM t WHERE id % 3 = 0")
                throw Abandoned()
            }
        }
        #expect(try Self.summary(path) == inside)
        let next = try pool.write { db -> String in
            try db.execute(sql: "DELETE FROM t WHERE id % 2 = 0")
            try db.execute(sql: "INSERT INTO t (x) VALUES (randomblob(10))")
            return try Self.summary(db)
        }
        #expect(try Self.summary(path) == next && next != inside)
        #expect(try Self.plainRead(path, "PRAGMA integrity_check") == ["ok"])
    }

    @Test("checkpoints and a log started over from its first byte: every commit still read whole by the plain VFS")
    func checkpointsAndRestarts() throws {
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("w.sqlite").path
        let pool = try Self.pool(path, synchronous: "FULL")
        for round in 0..<5 {
            var expected = ""
            for _ in 0..<10 {
                expected = try pool.write { db -> String in
                    try db.execute(sql: "INSERT INTO t (x) VALUES (randomblob(6000))")
                    return try Self.summary(db)
                }
            }
            #expect(try Self.summary(path) == expected, "round \(round)")
            // TRUNCATE empties the log: the next commit writes its header at offset 0 again
            _ = try pool.writeWithoutTransaction { db in try Row.fetchAll(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
            #expect(try Self.summary(path) == expected, "round \(round), after the checkpoint")
        }
        #expect(try Self.plainRead(path, "PRAGMA integrity_check") == ["ok"])
    }
}
