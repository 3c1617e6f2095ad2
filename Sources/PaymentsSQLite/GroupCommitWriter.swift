import CSQLiteWAL
import Dispatch
import Foundation
import GRDB
import Metrics
import Synchronization

/// Runs concurrent write transactions as one SQLite transaction with one commit (group commit).
///
/// With `synchronous = FULL` every commit waits for an fsync, so one commit per request caps a server at the
/// disk's fsync rate. Here each write is queued; one writer thread takes everything queued, runs the writes one
/// after the other inside a single IMMEDIATE transaction, commits once, and only then hands each caller its result.
/// Durability is unchanged — nobody hears "done" before the commit that made it durable — while N concurrent
/// writes cost one fsync instead of N.
///
/// **A write that throws is undone alone**, as if it ran in a transaction of its own. A batch first runs every
/// write straight in the transaction. If one throws, the whole transaction rolls back. When it was the first, its
/// error stands and the others run; otherwise each write that ran, the one that threw included, is told (`onRerun`:
/// what it did outside the database, such as its commit and rollback actions, is undone) and the batch runs again.
/// Either way the writes then run the careful way: each in its own savepoint, so one that throws rolls back its
/// savepoint only.
///
/// The careful way costs every write more (SQLite copies each page a savepoint first changes into a sub-journal,
/// and frees the copies after): without it the writer was busy 7 to 11% less per W1 request
/// (`scripts/bench-w1-ab`, three runs). So it is kept for batches that need it, and for the next
/// ``carefulBatchesAfterRerun`` batches after one did, so a stream of failing writes costs a few reruns, not one
/// per batch. A write body must therefore be safe to run again after `onRerun`, as the PostgreSQL store already
/// requires of its bodies (it reruns them on serialization failures).
///
/// **The writer runs on a thread of its own**, named `commit-` and its label (what `top -H` and `perf` show), at the
/// process's CPU priority unless told otherwise (`niceness`). A read never waits for the writer's lock, only for a
/// core; at a lower priority, when the cores are busy, the scheduler runs the threads that serve requests first and
/// the writer's batches grow instead: each write waits a little longer for its commit, and each commit serves more
/// writes. With a core to spare the priority changes nothing.
public final class GroupCommitWriter: Sendable {
    private let writer: any DatabaseWriter
    /// Signalled when the queue of writes goes from empty to not, and when the writer goes (the thread ends).
    private let wake = DispatchSemaphore(value: 0)
    private let state = Mutex(State())

    /// The most writes folded into one transaction: bounds how long the first caller of a batch waits for the
    /// others, and how much work one failed commit can undo.
    static let maximumBatch = 64

    /// How many batches after a rerun run each write in its own savepoint from the start.
    static let carefulBatchesAfterRerun = 8

    private struct State {
        var jobs: [Job] = []
        var draining = false
        /// Batches left to run each write in a savepoint from the start, after one had to run again.
        var carefulBatches = 0
        var statistics = Statistics()
        /// When the last commit that failed for the disk (full, or an I/O error) failed: ``recentDiskFailure(within:)``.
        /// A commit that succeeds since does not clear it: a small one (a key's release after the payment that
        /// failed) fits in the room the failed one's rollback left, while the next payment fails again.
        var diskFailedAt: ContinuousClock.Instant?
        /// When the last batch could not take the write lock within the busy timeout (another process held it).
        var lockedOutAt: ContinuousClock.Instant?
    }

    /// What the writer has done so far: for tests, and for the metrics of commit batching.
    public struct Statistics: Sendable, Equatable {
        /// Batches run to their end: each committed its writes (a batch whose only write threw first has nothing
        /// to commit).
        public var batches = 0
        /// Writes run inside committed transactions (those that threw included: they were rolled back alone).
        public var writes = 0
        /// Transactions whose commit failed, failing every write they held.
        public var failedCommits = 0
        /// Batches that ran again, each write in its own savepoint, because a write threw.
        public var reruns = 0
    }

    /// What the writer has done so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Whether a commit failed for the disk (full, or an I/O error) within `window` of now, whatever committed since.
    /// A readiness check's own write of one page could fit in the write-ahead log's space on a full disk while every
    /// payment's commit failed: the check asks this first.
    public func recentDiskFailure(within window: Duration) -> Bool {
        state.withLock { state in
            state.diskFailedAt.map { ContinuousClock.now - $0 < window } ?? false
        }
    }

    /// Whether a batch could not take the write lock within the busy timeout (another process held it) within
    /// `window` of now: the card network ledger's readiness asks, as its commits then all fail.
    public func recentLockOut(within window: Duration) -> Bool {
        state.withLock { state in
            state.lockedOutAt.map { ContinuousClock.now - $0 < window } ?? false
        }
    }

    /// Writes queued and not yet taken by the writer thread.
    public var queued: Int { state.withLock { $0.jobs.count } }

    /// One queued write: runs against the connection, then learns whether its batch committed.
    private struct Job: Sendable {
        let run: @Sendable (Database) throws -> Void
        /// Its run was rolled back with its batch, which runs again.
        let rerun: @Sendable () -> Void
        let complete: @Sendable ((any Error)?) -> Void
    }

    /// Runs before each batch (see ``init(_:label:niceness:beforeBatch:)``).
    private let beforeBatch: (@Sendable () throws -> Void)?

    /// Writes per committed transaction, and how long each commit's transaction took (metrics, by database).
    private let batchSizes: Recorder
    private let commitTimes: Metrics.Timer

    /// Creates a group-commit writer over `writer`, and starts its thread.
    /// - Parameters:
    ///   - label: names the metrics' database dimension and the thread (`commit-` and the label, as the kernel
    ///     keeps it: 15 bytes).
    ///   - niceness: added to the thread's nice value (0, the default, keeps the process's priority). A nice value
    ///     is weighed against every thread of the process's scheduling group, not only the process's own: see the
    ///     `writerNiceness` setting for when to raise it.
    ///   - beforeBatch: runs on the writer thread before each batch; when it throws, no write of the batch runs and
    ///     each caller gets its error (the store's check that its file is still where it was opened).
    public init(
        _ writer: any DatabaseWriter,
        label: String,
        niceness: Int = 0,
        beforeBatch: (@Sendable () throws -> Void)? = nil
    ) {
        self.writer = writer
        self.beforeBatch = beforeBatch
        self.batchSizes = Recorder(label: "payments_group_commit_batch_size", dimensions: [("database", label)])
        self.commitTimes = Metrics.Timer(label: "payments_group_commit_duration", dimensions: [("database", label)])
        // The thread holds the writer weakly, between batches: the writer's last reference going (its database
        // closed) wakes it to end. A write in flight keeps the writer alive, its caller awaiting it.
        let name = "commit-\(label)"
        let thread = Thread { [weak self, wake] in
            payments_thread_set_name(name)
            // Best effort: a thread may always lower its own priority, and runs on at its old one if it could not
            if niceness > 0 { _ = payments_thread_lower_priority(Int32(clamping: niceness)) }
            while true {
                wake.wait()
                guard let self else { return }
                self.drain()
            }
        }
        thread.start()
    }

    deinit {
        wake.signal()
    }

    /// Runs `body` in the next group transaction and returns its result once that transaction has committed.
    ///
    /// - Parameters:
    ///   - onRerun: called on the writer thread when a run of `body` was rolled back with its batch and `body` is
    ///     about to run again (see the type's notes): undo what that run did outside the database.
    ///   - body: the write; it may run more than once, and only its last run's result counts.
    public func write<T: Sendable>(
        onRerun: @escaping @Sendable () -> Void = {},
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let result = Mutex<T?>(nil)
            let job = Job(
                run: { db in
                    let value = try body(db)
                    result.withLock { $0 = value }
                },
                rerun: {
                    result.withLock { $0 = nil }
                    onRerun()
                },
                complete: { error in
                    if let error {
                        continuation.resume(throwing: error)
                    } else if let value = result.withLock({ $0 }) {
                        continuation.resume(returning: value)
                    } else {
                        continuation.resume(throwing: DatabaseError(message: "group commit lost a result"))
                    }
                }
            )
            let start = state.withLock { state -> Bool in
                state.jobs.append(job)
                guard !state.draining else { return false }
                state.draining = true
                return true
            }
            if start { wake.signal() }
        }
    }

    /// Runs batches until the queue is empty.
    private func drain() {
        while true {
            let (batch, carefully) = state.withLock { state -> ([Job], Bool) in
                let batch = Array(state.jobs.prefix(Self.maximumBatch))
                state.jobs.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                let carefully = !batch.isEmpty && state.carefulBatches > 0
                if carefully { state.carefulBatches -= 1 }
                return (batch, carefully)
            }
            guard !batch.isEmpty else { return }
            if run(batch, carefully: carefully) {
                state.withLock { $0.carefulBatches = Self.carefulBatchesAfterRerun }
            }
        }
    }

    /// Runs one batch, commits it and hands each caller its result; answers whether it had to run again.
    private func run(_ batch: [Job], carefully: Bool) -> Bool {
        let start = DispatchTime.now()
        var failures = [(any Error)?](repeating: nil, count: batch.count)
        var reran = false
        do {
            try beforeBatch?()
            if carefully {
                try runInSavepoints(batch, batch.indices, failures: &failures)
            } else if let (thrown, error) = try runStraight(batch) {
                // Everything the batch wrote is rolled back. A first write that threw saw no other: its error
                // stands, and the others run. Otherwise the writes that ran, the one that threw included, run
                // again, so that it sees theirs as they are committed.
                if thrown == 0 {
                    failures[0] = error
                    try runInSavepoints(batch, 1..<batch.count, failures: &failures)
                } else {
                    reran = true
                    for job in batch[...thrown] { job.rerun() }
                    try runInSavepoints(batch, batch.indices, failures: &failures)
                }
            }
        } catch {
            // The commit itself failed: nothing of the batch is durable, so every caller gets the error.
            let code = (error as? DatabaseError)?.resultCode
            let disk = [.SQLITE_FULL, .SQLITE_IOERR].contains(code)
            state.withLock { state in
                state.statistics.failedCommits += 1
                if reran { state.statistics.reruns += 1 }
                if disk { state.diskFailedAt = .now }
                if code == .SQLITE_BUSY { state.lockedOutAt = .now }
            }
            for job in batch { job.complete(error) }
            return reran
        }
        state.withLock { state in
            state.statistics.batches += 1
            state.statistics.writes += batch.count
            if reran { state.statistics.reruns += 1 }
        }
        batchSizes.record(batch.count)
        commitTimes.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds))
        for (index, job) in batch.enumerated() { job.complete(failures[index]) }
        return reran
    }

    /// Runs the writes one after the other in one transaction and commits it; when one throws, rolls the whole
    /// transaction back instead and answers which write threw, and its error.
    private func runStraight(_ batch: [Job]) throws -> (Int, any Error)? {
        var thrown: (Int, any Error)?
        try writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                for (index, job) in batch.enumerated() {
                    do {
                        try job.run(db)
                    } catch {
                        thrown = (index, error)
                        return .rollback
                    }
                }
                return .commit
            }
        }
        return thrown
    }

    /// Runs the writes at `indices`, each in its own savepoint of one transaction (a write that throws rolls back
    /// its savepoint only, its error in `failures`), and commits it.
    private func runInSavepoints(
        _ batch: [Job],
        _ indices: Range<Int>,
        failures: inout [(any Error)?]
    ) throws {
        guard !indices.isEmpty else { return }
        try writer.writeWithoutTransaction { db in
            // GRDB's transaction block: once SQLite aborts the transaction (a full disk, an I/O error), every
            // later statement of the batch fails instead of running outside it.
            try db.inTransaction(.immediate) {
                let savepoint = try Savepoint(db)
                for index in indices {
                    let job = batch[index]
                    try savepoint.begin()
                    do {
                        try job.run(db)
                        try savepoint.release()
                    } catch {
                        failures[index] = error
                        // Undoes this write alone; if even that fails, the whole batch fails.
                        try savepoint.rollBack()
                    }
                }
                return .commit
            }
        }
    }
}

/// The savepoint each write of a batch runs in, on statements compiled once per connection.
///
/// GRDB's `inSavepoint` compiles (and authorizes) its `SAVEPOINT` and `RELEASE` on every call: under W1 that was
/// 80% of all the statements SQLite prepared (`perf` with a probe on `sqlite3_prepare_v3` over `payments recharge`,
/// 6 of 7.5 prepares per payment). These are the same statements, cached by the connection.
private struct Savepoint {
    private let beginStatement: Statement
    private let releaseStatement: Statement
    private let rollbackStatement: Statement

    init(_ db: Database) throws {
        beginStatement = try db.cachedStatement(sql: "SAVEPOINT payments_write")
        releaseStatement = try db.cachedStatement(sql: "RELEASE SAVEPOINT payments_write")
        rollbackStatement = try db.cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT payments_write")
    }

    func begin() throws { try beginStatement.execute() }

    func release() throws { try releaseStatement.execute() }

    /// Undoes everything since ``begin()`` and ends the savepoint (a rollback alone leaves it open).
    func rollBack() throws {
        try rollbackStatement.execute()
        try releaseStatement.execute()
    }
}
