import CSQLiteWAL
import GRDB

/// The write-ahead log's writes of a transaction gathered into one `pwrite` per 124 KiB (`Sources/CSQLiteWAL`).
///
/// SQLite writes each frame of the log in two calls, its 24-byte header and its page, so a group commit of a dozen
/// W1 payments made about 70 `pwrite` calls, each a trip through the kernel's file system: 11% of the writer thread's
/// samples in `perf`. The VFS installed here wraps SQLite's default one and hands the log's contiguous writes to the
/// file together, when SQLite syncs the log or writes a transaction's commit frame (before it marks the
/// transaction committed), or reads, sizes or truncates the file. Durability is unchanged: a transaction is visible
/// and acknowledged only after its commit frame is in the file, and with `synchronous=FULL` synced, as before.
public enum WALWriteBuffer {
    /// Makes the buffering VFS SQLite's default, once per process. Connections opened before keep the plain one
    /// (both lock the files the same way, so they share a database safely).
    public static func install() {
        _ = installed
    }

    private static let installed: Bool = {
        let result = payments_sqlite_wal_buffer_install()
        precondition(result == 0, "registering the WAL write buffer failed: SQLite error \(result)")
        return true
    }()

    /// For the write-ahead log of `db`'s connection: how many writes SQLite asked of it, and how many the buffer made
    /// to the file, since the connection opened it; nil when the log is not open or not open through the buffer.
    public static func counts(_ db: Database) -> (flushes: Int64, writes: Int64)? {
        var flushes: Int64 = 0
        var writes: Int64 = 0
        guard payments_sqlite_wal_buffer_counts(db.sqliteConnection, &flushes, &writes) == 1 else { return nil }
        return (flushes, writes)
    }
}
