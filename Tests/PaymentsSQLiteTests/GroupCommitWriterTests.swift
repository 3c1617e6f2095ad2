import Dispatch
import Foundation
import GRDB
import PaymentsSQLite
import Synchronization
import TestSupport
import Testing

/// Group commit: writes queued while the writer is busy share one transaction. A write that throws rolls back
/// alone (its batch runs again, each write in its own savepoint); a commit that fails fails every write of its
/// batch; nobody hears "done" before the commit.
@Suite("Group commit writer")
struct GroupCommitWriterTests {
    /// A fresh pool with a `notes` table, and a `children` table whose foreign key is checked only at commit.
    static func pool() throws -> DatabasePool {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        let path = try TestPaths.temporaryFolder().appendingPathComponent("group.sqlite").path
        let pool = try DatabasePool(path: path, configuration: configuration)
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);
                    CREATE TABLE parents (id INTEGER PRIMARY KEY);
                    CREATE TABLE children (id INTEGER PRIMARY KEY,
                        parent INTEGER NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED);
                    """
            )
        }
        return pool
    }

    /// Blocks the writer thread with a first write (of note `note`) until `release` is signalled, so the writes
    /// queued meanwhile are taken together as the next batch.
    static func blockWriter(_ writer: GroupCommitWriter, note: Int = 0) async throws -> (
        DispatchSemaphore, Task<Void, any Error>
    ) {
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let blocker = Task {
            try await writer.write { db in
                started.signal()
                release.wait()
                try db.execute(sql: "INSERT INTO notes (id, text) VALUES (?, 'blocker')", arguments: [note])
            }
        }
        while started.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(5)) }
        return (release, blocker)
    }

    /// Waits until `count` writes are queued behind the blocker.
    static func waitQueued(_ writer: GroupCommitWriter, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while writer.queued < count {
            try #require(ContinuousClock.now < deadline, "only \(writer.queued) of \(count) writes queued")
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    struct Refused: Error {}

    /// The calling thread's name and nice value, as the kernel shows them.
    static func currentThread() throws -> (name: String, niceness: Int) {
        (try ProcThreads.name("/proc/thread-self"), try ProcThreads.niceness("/proc/thread-self"))
    }

    /// How many of this process's threads have the name `name`.
    static func threads(named name: String) throws -> Int {
        try ProcThreads.threads(ofProcess: "self").count { $0.name == name }
    }

    @Test("One failing write rolls back alone; its batch-mates commit, in one transaction")
    func failingWriteLeavesBatchMatesCommitted() async throws {
        // Given a writer busy with a first write, and five writes queued behind it, the third of which throws
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let (release, blocker) = try await Self.blockWriter(writer)
        let writes = (1...5).map { id in
            Task {
                try await writer.write { db in
                    try db.execute(sql: "INSERT INTO notes (id, text) VALUES (?, 'note')", arguments: [id])
                    if id == 3 { throw Refused() }
                    return id
                }
            }
        }
        try await Self.waitQueued(writer, 5)
        // When the writer is free again
        release.signal()
        try await blocker.value
        // Then the failing write alone reports its error, and only its row is missing
        for (index, write) in writes.enumerated() {
            if index == 2 {
                await #expect(throws: Refused.self) { try await write.value }
            } else {
                #expect(try await write.value == index + 1)
            }
        }
        let ids = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM notes ORDER BY id") }
        #expect(ids == [0, 1, 2, 4, 5])
        // And the five shared one commit (the blocker had its own)
        let statistics = writer.statistics
        #expect(statistics.batches == 2 && statistics.writes == 6 && statistics.failedCommits == 0)
    }

    /// How often each write of a test ran, and how often it was told its run was rolled back to run again.
    final class Runs: Sendable {
        private let counts = Mutex((runs: [Int: Int](), reruns: [Int: Int]()))

        var runs: [Int: Int] { counts.withLock { $0.runs } }
        var reruns: [Int: Int] { counts.withLock { $0.reruns } }

        /// Queues write `id` on `writer`: it inserts note `id`, and throws when `id` is in `failing`.
        func write(_ id: Int, on writer: GroupCommitWriter, failing: Set<Int>) -> Task<Int, any Error> {
            Task {
                try await writer.write(onRerun: { self.counts.withLock { $0.reruns[id, default: 0] += 1 } }) { db in
                    self.counts.withLock { $0.runs[id, default: 0] += 1 }
                    try db.execute(sql: "INSERT INTO notes (id, text) VALUES (?, 'note')", arguments: [id])
                    if failing.contains(id) { throw Refused() }
                    return id
                }
            }
        }

        /// Queues writes `ids` behind a busy writer (its blocker writing note `note`), so that they are taken as one
        /// batch, then lets the writer go; returns their tasks.
        func batch(
            _ ids: ClosedRange<Int>,
            on writer: GroupCommitWriter,
            failing: Set<Int>,
            note: Int = 0
        ) async throws -> [Task<Int, any Error>] {
            let (release, blocker) = try await GroupCommitWriterTests.blockWriter(writer, note: note)
            // One at a time, so they queue in the order of `ids`: tasks started together reach the queue in any
            // order, and a loaded run put the failing first write second (its batch then ran again)
            var writes: [Task<Int, any Error>] = []
            for (offset, id) in ids.enumerated() {
                writes.append(write(id, on: writer, failing: failing))
                try await GroupCommitWriterTests.waitQueued(writer, offset + 1)
            }
            release.signal()
            try await blocker.value
            return writes
        }
    }

    @Test("A write that throws makes its batch run again, each write in a savepoint; the writes that ran are told")
    func failingWriteReruns() async throws {
        // Given five writes queued behind a busy writer, the third of which throws
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let runs = Runs()
        // When the writer takes them as one batch
        let writes = try await runs.batch(1...5, on: writer, failing: [3])
        for (index, write) in writes.enumerated() where index != 2 { #expect(try await write.value == index + 1) }
        await #expect(throws: Refused.self) { try await writes[2].value }
        // Then the first run stopped at the third write and was rolled back: the three writes that ran were told,
        // then all five ran again, and each note is stored once
        #expect(runs.runs == [1: 2, 2: 2, 3: 2, 4: 1, 5: 1])
        #expect(runs.reruns == [1: 1, 2: 1, 3: 1])
        let ids = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM notes ORDER BY id") }
        #expect(ids == [0, 1, 2, 4, 5])
        let statistics = writer.statistics
        #expect(statistics.batches == 2 && statistics.reruns == 1 && statistics.failedCommits == 0)
    }

    @Test("A commit that failed for the disk is recent for its window, even when a smaller one succeeded since")
    func diskFailureOutlivesLaterCommits() async throws {
        // Given a writer whose next batch fails as a full disk fails its commit
        let pool = try Self.pool()
        let full = Mutex(true)
        let writer = GroupCommitWriter(pool, label: "test") {
            if full.withLock({ $0 }) { throw DatabaseError(resultCode: .SQLITE_FULL) }
        }
        #expect(!writer.recentDiskFailure(within: .seconds(60)))
        await #expect(throws: DatabaseError.self) {
            try await writer.write { db in try db.execute(sql: "INSERT INTO notes (id, text) VALUES (1, 'a')") }
        }
        #expect(writer.recentDiskFailure(within: .seconds(60)))
        // When a smaller write commits after it (a key's release fits where the payment did not)
        full.withLock { $0 = false }
        try await writer.write { db in try db.execute(sql: "INSERT INTO notes (id, text) VALUES (2, 'b')") }
        // Then the failure still counts for readiness within its window (it did not: /health/ready said 200 for
        // seconds while payments failed), and not past it
        #expect(writer.recentDiskFailure(within: .seconds(60)))
        try await Task.sleep(for: .milliseconds(20))
        #expect(!writer.recentDiskFailure(within: .milliseconds(10)))
    }

    @Test("A first write that throws fails alone: nothing ran before it, so nothing runs twice")
    func failingFirstWriteRerunsNothing() async throws {
        // Given three writes queued behind a busy writer, the first of which throws
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let runs = Runs()
        // When the writer takes them as one batch
        let writes = try await runs.batch(1...3, on: writer, failing: [1])
        await #expect(throws: Refused.self) { try await writes[0].value }
        #expect(try await writes[1].value == 2)
        #expect(try await writes[2].value == 3)
        // Then each ran once: the first's error stands, the two others committed
        #expect(runs.runs == [1: 1, 2: 1, 3: 1] && runs.reruns.isEmpty)
        let ids = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM notes ORDER BY id") }
        #expect(ids == [0, 2, 3])
        #expect(writer.statistics.reruns == 0)
    }

    @Test("After a rerun, the next batches run each write in a savepoint from the start: a failure reruns nothing")
    func carefulAfterRerun() async throws {
        // Given a batch that had to run again
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let runs = Runs()
        let first = try await runs.batch(1...2, on: writer, failing: [2])
        _ = try await first[0].value
        await #expect(throws: Refused.self) { try await first[1].value }
        #expect(writer.statistics.reruns == 1)
        // When the next batch holds a failing write too
        let second = try await runs.batch(11...13, on: writer, failing: [12], note: 100)
        #expect(try await second[0].value == 11)
        await #expect(throws: Refused.self) { try await second[1].value }
        #expect(try await second[2].value == 13)
        // Then it ran once, each write in its own savepoint: the failure rolled back alone, nobody ran twice
        #expect(runs.runs.filter { $0.key > 10 } == [11: 1, 12: 1, 13: 1])
        #expect(runs.reruns.keys.allSatisfy { $0 < 10 } && writer.statistics.reruns == 1)
        let ids = try await pool.read { db in
            try Int.fetchAll(db, sql: "SELECT id FROM notes WHERE id BETWEEN 10 AND 20")
        }
        #expect(ids == [11, 13])
    }

    @Test("A commit that fails fails every write of its batch, and none of them is stored")
    func failedCommitFailsEveryCaller() async throws {
        // Given four writes queued together, one of which breaks a foreign key checked only at commit
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let (release, blocker) = try await Self.blockWriter(writer)
        let writes = (1...4).map { id in
            Task {
                try await writer.write { db in
                    if id == 2 {
                        try db.execute(sql: "INSERT INTO children (id, parent) VALUES (1, 999)")
                    } else {
                        try db.execute(sql: "INSERT INTO notes (id, text) VALUES (?, 'note')", arguments: [id])
                    }
                }
            }
        }
        try await Self.waitQueued(writer, 4)
        // When the writer runs them
        release.signal()
        try await blocker.value
        // Then every caller hears the failure, even those whose own write was fine
        for write in writes {
            await #expect(throws: DatabaseError.self) { try await write.value }
        }
        // And nothing of the batch is stored
        let notes = try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM notes ORDER BY id") }
        #expect(notes == [0])
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM children") } == 0)
        #expect(writer.statistics.failedCommits == 1)
        // And the writer goes on: a later write commits
        try await writer.write { db in try db.execute(sql: "INSERT INTO notes (id, text) VALUES (9, 'after')") }
        #expect(try await pool.read { db in try Int.fetchAll(db, sql: "SELECT id FROM notes ORDER BY id") } == [0, 9])
    }

    @Test("Writes run on the writer's own thread, named after its label, at the caller's priority unless lowered")
    func ownThreadAtItsPriority() async throws {
        // Given a writer at the default priority, and one lowered by 10
        let pool = try Self.pool()
        let caller = try Self.currentThread()
        let writer = GroupCommitWriter(pool, label: "payments")
        let lowered = GroupCommitWriter(pool, label: "lowered", niceness: 10)
        // When each runs a write
        let thread = try await writer.write { _ in try Self.currentThread() }
        let loweredThread = try await lowered.write { _ in try Self.currentThread() }
        // Then each write ran on its writer's thread: the default's at the caller's nice value
        #expect(thread.name == "commit-payments")
        #expect(thread.niceness == caller.niceness)
        // And the other's 10 higher (at most 19)
        #expect(loweredThread.name == "commit-lowered")
        #expect(loweredThread.niceness == min(19, caller.niceness + 10))
    }

    @Test("A writer that goes ends its thread")
    func threadEndsWithWriter() async throws {
        // Given a writer that has written
        let pool = try Self.pool()
        var writer: GroupCommitWriter? = GroupCommitWriter(pool, label: "leaktest")
        try await writer?.write { db in try db.execute(sql: "INSERT INTO notes (id, text) VALUES (1, 'x')") }
        #expect(try Self.threads(named: "commit-leaktest") == 1)
        // When its last reference goes
        writer = nil
        // Then its thread ends
        let deadline = ContinuousClock.now + .seconds(10)
        while try Self.threads(named: "commit-leaktest") > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(try Self.threads(named: "commit-leaktest") == 0)
        #expect(writer == nil)
    }

    @Test("A write's caller hears 'done' only once the commit that holds it is durable")
    func doneOnlyAfterCommit() async throws {
        // Given a write that is queued while another holds the writer
        let pool = try Self.pool()
        let writer = GroupCommitWriter(pool, label: "test")
        let (release, blocker) = try await Self.blockWriter(writer)
        let write = Task {
            try await writer.write { db in try db.execute(sql: "INSERT INTO notes (id, text) VALUES (1, 'x')") }
        }
        try await Self.waitQueued(writer, 1)
        // When it completes, a reader on another connection sees its row at once
        release.signal()
        try await blocker.value
        try await write.value
        #expect(try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM notes WHERE id = 1") } == 1)
    }
}
