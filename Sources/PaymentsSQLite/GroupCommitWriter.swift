import Dispatch
import GRDB
import Metrics
import Synchronization

/// Runs concurrent write transactions as one SQLite transaction with one commit (group commit).
///
/// With `synchronous = FULL` every commit waits for an fsync, so one commit per request caps a server at the
/// disk's fsync rate. Here each write is queued; one writer thread takes everything queued, runs each write in
/// its own savepoint inside a single IMMEDIATE transaction (a write that throws rolls back its savepoint only),
/// commits once, and only then hands each caller its result. Durability is unchanged — nobody hears "done"
/// before the commit that made it durable — while N concurrent writes cost one fsync instead of N.
public final class GroupCommitWriter: Sendable {
    private let writer: any DatabaseWriter
    private let queue: DispatchQueue
    private let state = Mutex(State())

    /// The most writes folded into one transaction: bounds how long the first caller of a batch waits for the
    /// others, and how much work one failed commit can undo.
    static let maximumBatch = 64

    private struct State {
        var jobs: [Job] = []
        var draining = false
        var statistics = Statistics()
    }

    /// What the writer has done so far: for tests, and for the metrics of commit batching.
    public struct Statistics: Sendable, Equatable {
        /// Transactions committed, each holding one or more writes.
        public var batches = 0
        /// Writes run inside committed transactions (those that threw included: they were rolled back alone).
        public var writes = 0
        /// Transactions whose commit failed, failing every write they held.
        public var failedCommits = 0
    }

    /// What the writer has done so far.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    /// Writes queued and not yet taken by the writer thread.
    public var queued: Int { state.withLock { $0.jobs.count } }

    /// One queued write: runs against the connection, then learns whether its batch committed.
    private struct Job: Sendable {
        let run: @Sendable (Database) throws -> Void
        let complete: @Sendable ((any Error)?) -> Void
    }

    /// Writes per committed transaction, and how long each commit's transaction took (metrics, by database).
    private let batchSizes: Recorder
    private let commitTimes: Metrics.Timer

    /// Creates a group-commit writer over `writer`.
    public init(_ writer: any DatabaseWriter, label: String) {
        self.writer = writer
        self.queue = DispatchQueue(label: "payments.group-commit.\(label)")
        self.batchSizes = Recorder(label: "payments_group_commit_batch_size", dimensions: [("database", label)])
        self.commitTimes = Metrics.Timer(label: "payments_group_commit_duration", dimensions: [("database", label)])
    }

    /// Runs `body` in a savepoint of the next group transaction and returns its result once that transaction
    /// has committed.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let result = Mutex<T?>(nil)
            let job = Job(
                run: { db in
                    let value = try body(db)
                    result.withLock { $0 = value }
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
            if start { queue.async { self.drain() } }
        }
    }

    /// Runs batches until the queue is empty.
    private func drain() {
        while true {
            let batch = state.withLock { state -> [Job] in
                let batch = Array(state.jobs.prefix(Self.maximumBatch))
                state.jobs.removeFirst(batch.count)
                if batch.isEmpty { state.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            run(batch)
        }
    }

    private func run(_ batch: [Job]) {
        let start = DispatchTime.now()
        var failures = [(any Error)?](repeating: nil, count: batch.count)
        do {
            try writer.writeWithoutTransaction { db in
                // GRDB's transaction block: once SQLite aborts the transaction (a full disk, an I/O error), every
                // later statement of the batch fails instead of running outside it.
                try db.inTransaction(.immediate) {
                    let savepoint = try Savepoint(db)
                    for (index, job) in batch.enumerated() {
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
        } catch {
            // The commit itself failed: nothing of the batch is durable, so every caller gets the error.
            state.withLock { $0.statistics.failedCommits += 1 }
            for job in batch { job.complete(error) }
            return
        }
        state.withLock { state in
            state.statistics.batches += 1
            state.statistics.writes += batch.count
        }
        batchSizes.record(batch.count)
        commitTimes.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds))
        for (index, job) in batch.enumerated() { job.complete(failures[index]) }
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
