import Foundation
import GRDB
import PaymentsSQLite
import Synchronization
import TestSupport
import Testing

/// Checkpoints on a thread of their own (`BackgroundCheckpointer`, `Sources/CSQLiteWAL/Checkpointer.c`): the thread
/// copies the log into the database file while the writer commits, the writer checkpoints itself once the log
/// reaches its limit (so the log starts over however busy the writer is), and a released checkpointer gives the
/// writer SQLite's automatic checkpoint back.
@Suite("Background checkpointer")
struct BackgroundCheckpointerTests {
    init() { WALWriteBuffer.install() }

    /// A fresh WAL pool at `synchronous = FULL` with a `blobs` table, and its file's path.
    static func pool() throws -> (DatabasePool, String) {
        let path = try TestPaths.temporaryFolder().appendingPathComponent("checkpoints.sqlite").path
        let pool = try DatabasePool(path: path)
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        }
        return (pool, path)
    }

    /// Commits `count` transactions, each a row of 6,000 bytes (three frames of the log or more: the row's page, its
    /// overflow page and the table's), and answers the longest the log was after any of them, in frames.
    static func commit(_ count: Int, from first: Int = 0, to pool: DatabasePool, log path: String) async throws
        -> Int
    {
        var longest = 0
        for id in first..<(first + count) {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO blobs (id, data) VALUES (?, zeroblob(6000))", arguments: [id])
            }
            longest = max(longest, try frames(path))
        }
        return longest
    }

    /// The log file's length in frames (a frame is a 24-byte header and a 4 KiB page, after a 32-byte header). A log
    /// that starts over is written again from its start, so the file keeps its longest length.
    static func frames(_ path: String) throws -> Int {
        let size = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
        return max(0, size - 32) / (4096 + 24)
    }

    static func fileSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
    }

    /// SQLite's automatic checkpoint's threshold on the writer: 0 while another WAL hook (the checkpointer's) is in.
    static func automaticCheckpoint(_ pool: DatabasePool) throws -> Int {
        try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") ?? -1 }
    }

    /// Waits until `condition` holds, for at most ten seconds.
    static func eventually(_ what: String, _ condition: () throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while try !condition() {
            try #require(ContinuousClock.now < deadline, "\(what) within ten seconds")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test("The thread copies the log into the database file; the writer does not stop to")
    func threadCheckpoints() async throws {
        // Given a checkpointer asked every 16 frames, whose writer would checkpoint only past 100,000
        let (pool, path) = try Self.pool()
        let checkpointer = try BackgroundCheckpointer(pool, threshold: 16, limit: 100_000)
        let before = try Self.fileSize(path)
        // When 40 rows of 6,000 bytes are committed
        _ = try await Self.commit(40, to: pool, log: path)
        // Then the thread checkpointed, and the database file holds the rows' pages (a page each at least), while the
        // writer never checkpointed itself
        try await Self.eventually("a checkpoint by the thread") { checkpointer.counts.background >= 1 }
        try await Self.eventually("the rows' pages in the database file") {
            try Self.fileSize(path) >= before + 40 * 4096
        }
        #expect(checkpointer.counts.writer == 0)
        #expect(checkpointer.counts.failed == 0)
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs") } == 40)
    }

    @Test("Past its limit the writer checkpoints itself, so the log starts over however busy the writer is")
    func writerCheckpointsAtLimit() async throws {
        // Given a checkpointer whose limit is its threshold: the writer checkpoints before it would ask the thread
        let (pool, path) = try Self.pool()
        let checkpointer = try BackgroundCheckpointer(pool, threshold: 16, limit: 16)
        // When 200 rows are committed (600 frames or more, in a log that would hold them all without checkpoints)
        let longest = try await Self.commit(200, to: pool, log: path)
        // Then the writer checkpointed each time the log passed 16 frames, and the log started over each time: it
        // never held more than 16 frames and one commit's
        #expect(checkpointer.counts.writer >= 200 * 3 / (16 + 8))
        #expect(checkpointer.counts.background == 0)
        #expect(longest >= 16)
        #expect(longest <= 16 + 8, "the log reached \(longest) frames")
    }

    @Test("Under commits from several tasks at once, the log stays near its limit and every row is kept")
    func busyWriterKeepsLogBounded() async throws {
        // Given a checkpointer asked every 8 frames, the writer checkpointing itself past 32
        let (pool, path) = try Self.pool()
        let checkpointer = try BackgroundCheckpointer(pool, threshold: 8, limit: 32)
        // When four tasks commit 150 rows each at once, each noting the log's length after every commit
        let longest = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<4 {
                group.addTask { try await Self.commit(150, from: task * 1000, to: pool, log: path) }
            }
            return try await group.reduce(0, max)
        }
        // Then both checkpointed, the log never grew far past its limit (without checkpoints it would have held
        // 1,800 frames or more), and every row is there
        #expect(checkpointer.counts.background >= 1)
        #expect(checkpointer.counts.failed == 0)
        #expect(longest <= 32 * 8, "the log reached \(longest) frames")
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs") } == 600)
        #expect(try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") } == "ok")
    }

    @Test("A log that a long read let grow is cut back to the size limit when it starts over")
    func longReadLogCutBack() async throws {
        // Given a checkpointer whose log file is cut back past 300,000 bytes (about 72 frames)
        let (pool, path) = try Self.pool()
        let sizeLimit = 300_000
        let checkpointer = try BackgroundCheckpointer(pool, threshold: 16, limit: 64, sizeLimit: sizeLimit)
        // and a read on another connection that holds its snapshot, as an admin's long report does
        var configuration = Configuration()
        configuration.allowsUnsafeTransactions = true  // the read's transaction outlives one access
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        try reader.inDatabase { db in
            try db.execute(sql: "BEGIN")
            _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs")
        }
        // When 200 rows are committed meanwhile, the log cannot start over and grows far past the limit
        let longest = try await Self.commit(200, to: pool, log: path)
        #expect(longest >= 600, "the log reached \(longest) frames")
        // and the read ends
        try reader.inDatabase { db in try db.execute(sql: "COMMIT") }
        // Then within a few commits the log is copied, starts over, and its file is cut back to the limit
        var committed = 200
        while try Self.fileSize(path + "-wal") > sizeLimit, committed < 220 {
            _ = try await Self.commit(1, from: committed, to: pool, log: path)
            committed += 1
        }
        #expect(try Self.fileSize(path + "-wal") <= sizeLimit, "after \(committed - 200) more commits")
        #expect(checkpointer.counts.failed == 0)
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs") } == committed)
    }

    @Test("Released, the checkpointer gives the writer SQLite's automatic checkpoint back")
    func releaseRestoresAutomaticCheckpoint() async throws {
        // Given a pool with a checkpointer that checkpointed: SQLite's automatic checkpoint is off (its hook replaced)
        let (pool, path) = try Self.pool()
        var checkpointer: BackgroundCheckpointer? = try BackgroundCheckpointer(pool, threshold: 16, limit: 64)
        #expect(try Self.automaticCheckpoint(pool) == 0)
        _ = try await Self.commit(20, to: pool, log: path)
        try await Self.eventually("a checkpoint by the thread") { (checkpointer?.counts.background ?? 0) >= 1 }
        // When it is released
        checkpointer = nil
        // Then the writer checkpoints itself every 16 frames again, and its commits go on
        #expect(try Self.automaticCheckpoint(pool) == 16)
        _ = try await Self.commit(20, from: 20, to: pool, log: path)
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM blobs") } == 40)
    }

    @Test("A checkpointer released inside one of the writer's own writes stops there")
    func releaseInsideWrite() async throws {
        // Given a checkpointer held only by a write's closure
        let (pool, _) = try Self.pool()
        let checkpointer = Mutex<BackgroundCheckpointer?>(try BackgroundCheckpointer(pool, threshold: 24, limit: 64))
        // When the write releases it (on the writer's queue)
        try await pool.writeWithoutTransaction { _ in checkpointer.withLock { $0 = nil } }
        // Then the writer has SQLite's automatic checkpoint back
        #expect(try Self.automaticCheckpoint(pool) == 24)
    }
}
