import CSQLiteWAL
import GRDB
import Synchronization

/// Checkpoints a database's write-ahead log on a thread of its own, so that the writer does not stop to do it
/// (`Sources/CSQLiteWAL/Checkpointer.c`).
///
/// A checkpoint copies the pages the log holds into the database file and syncs that file; once every frame is
/// copied, the next transaction starts the log over. SQLite's automatic checkpoint does it every 1,000 frames, right
/// after the commit that passed them, on the committing connection. Under W1 that was 4.6% of the writer thread's
/// samples in `perf` (about 200 pages copied each time) and a sync of the database file of about 1.2 ms
/// (`strace -T`), while the batch that had just committed waited for its answers and the next one for the writer.
///
/// Here the writer connection only asks: its WAL hook, called after each commit, asks the thread for a PASSIVE
/// checkpoint every ``threshold`` frames the log grew by, and the thread checkpoints on a connection of its own,
/// beside the writer's commits. Such a checkpoint copies what was committed when it began; the commits made
/// meanwhile stay in the log, so under a steady stream of commits the log would never start over (a test saw 3,445
/// frames where the limit was 32). Once the log reaches ``limit`` frames the writer therefore checkpoints itself, as
/// SQLite's automatic checkpoint would, copying only what the thread had not.
///
/// Durability and crash safety are SQLite's own: a checkpoint is the same operation whichever connection runs it,
/// and it syncs the log before copying and the database file after. Released, the checkpointer gives the writer
/// SQLite's automatic checkpoint back and stops the thread.
public final class BackgroundCheckpointer: Sendable {
    /// SQLite's automatic checkpoint's own threshold, in frames (a frame is a page and a 24-byte header).
    public static let defaultThreshold = 1000

    /// The log's length, in frames, at which the writer checkpoints itself: about 16 MB with 4 KiB pages. The
    /// writer's own checkpoints come four times less often than SQLite's automatic ones did, and copy what the
    /// thread's left.
    public static let defaultLimit = 4000

    /// The length, in bytes, the log file is cut back to when the log starts over (SQLite's `journal_size_limit`):
    /// twice the longest a busy writer's log gets here (``defaultLimit`` frames, about 16 MB). SQLite starts the log
    /// over from its beginning but keeps the file's length, so a log that a long read (an admin's report, an
    /// export) kept from starting over for a while, and that grew to hundreds of MB meanwhile, kept that space until
    /// the last connection closed. Cutting back only past this length leaves a busy log's file as it is, since
    /// growing it again would cost every commit's sync the file's new length.
    public static let defaultSizeLimit = 32 << 20

    /// How often the thread is asked for a checkpoint, in frames the log grew by.
    public let threshold: Int
    /// The log's length, in frames, at which the writer checkpoints itself.
    public let limit: Int

    private let writer: any DatabaseWriter
    /// The C side's state; its functions other than the stop may be called from any thread.
    nonisolated(unsafe) private let handle: OpaquePointer

    /// Checkpoints run so far.
    public struct Counts: Sendable, Equatable {
        /// By the thread.
        public var background: Int64
        /// By the writer itself, the log having reached ``BackgroundCheckpointer/limit`` frames.
        public var writer: Int64
        /// By the thread, that failed (an I/O error, say; the next one tries again).
        public var failed: Int64
    }

    /// Starts checkpointing the log of `writer`'s database on a thread, and has the writer cut the log's file back to
    /// `sizeLimit` bytes when the log starts over.
    /// - Throws: a database error when the thread's connection cannot open the database.
    public init(
        _ writer: any DatabaseWriter,
        threshold: Int = BackgroundCheckpointer.defaultThreshold,
        limit: Int = BackgroundCheckpointer.defaultLimit,
        sizeLimit: Int = BackgroundCheckpointer.defaultSizeLimit
    ) throws {
        precondition(threshold >= 1 && limit >= threshold, "a checkpoint threshold of at least 1, and a limit past it")
        self.writer = writer
        self.threshold = threshold
        self.limit = limit
        let path = writer.path
        self.handle = try writer.writeWithoutTransaction { db in
            // On the writer: the connection that starts the log over cuts the file back, at that transaction's commit
            try db.execute(sql: "PRAGMA journal_size_limit = \(sizeLimit)")
            var code: Int32 = SQLITE_OK
            guard
                let handle = payments_sqlite_checkpointer_start(
                    db.sqliteConnection,
                    path,
                    Int32(threshold),
                    Int32(limit),
                    &code
                )
            else {
                throw DatabaseError(
                    resultCode: ResultCode(rawValue: code),
                    message: "could not start checkpointing the write-ahead log on a thread of its own"
                )
            }
            return handle
        }
    }

    /// Whether the thread was stopped (by ``finish()``, or on release).
    private let stopped = Mutex(false)

    deinit {
        stop()
    }

    /// Stops the thread and gives the writer SQLite's automatic checkpoint back, once.
    private func stop() {
        guard
            stopped.withLock({ stopped in
                defer { stopped = true }; return !stopped
            })
        else { return }
        // On the writer's queue (GRDB opens connections without SQLite's mutex, and keeps each to one thread at a
        // time), waiting for the write in progress; reentrant, since the last reference may go inside a write.
        let handle = self.handle
        writer.unsafeReentrantWrite { _ in payments_sqlite_checkpointer_stop(handle) }
    }

    /// Ends checkpointing at a clean stop: stops the thread, then has the writer copy the whole log into the
    /// database file, sync it and empty the log (`PRAGMA wal_checkpoint(TRUNCATE)`).
    ///
    /// The process exits without closing its connections, and SQLite checkpoints and deletes the log only when the
    /// last connection closes; without this the committed transactions since the last checkpoint stayed in the
    /// `-wal` file, so a copy of the database file alone, taken after a clean stop, missed them. Writes still work
    /// afterwards, with SQLite's automatic checkpoint.
    /// - Returns: false when a reader (another process's, say) kept part of the log from being copied; that part
    ///   stays in the log, as safe as before.
    @discardableResult
    public func finish() async throws -> Bool {
        stop()
        return try await writer.writeWithoutTransaction { db in
            // One row: whether the checkpoint was kept from finishing (1), the log's frames, the frames copied
            try Int.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)") == 0
        }
    }

    /// Asks the thread for a checkpoint now, whatever the log's length (``SQLiteFiles``: the log's file was removed
    /// under the process, and what the log it has open holds is copied into the database file). Nothing once
    /// stopped.
    public func requestCheckpoint() {
        // Under the lock that ``stop()`` takes, so the handle is not freed meanwhile
        stopped.withLock { stopped in
            if !stopped { payments_sqlite_checkpointer_request(handle) }
        }
    }

    /// Checkpoints run so far.
    public var counts: Counts {
        var (background, writer, failed): (Int64, Int64, Int64) = (0, 0, 0)
        payments_sqlite_checkpointer_counts(handle, &background, &writer, &failed)
        return Counts(background: background, writer: writer, failed: failed)
    }
}
