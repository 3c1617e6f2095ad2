import Foundation
import Synchronization

/// The files of an open SQLite database in WAL mode as the file system knows them (device and inode): the database
/// file and its write-ahead log, so that a write can first check that their paths still lead to them.
///
/// A file deleted or replaced under a running process stays open: SQLite goes on writing to the unlinked file, which
/// no restart will find. For the database file, that lost every payment made since (``SQLiteFiles/displaced()``'s
/// `.database`). The log is the same: a `-wal` file deleted under the server (an operator tidying a folder) took
/// every commit since the last checkpoint with it, answered 200 and approved at the card network, and every one after
/// it, as a SIGKILL showed (a probe: 15 payments gone, while readiness said ready and nothing was logged).
///
/// The log is recorded the first time it is seen (it exists from a connection's first read on). SQLite deletes it
/// only when the last connection to the database closes, and a process that holds one open keeps every other from
/// doing so, so while this process runs the log at the path is the one it opened, unless someone else's hand moved
/// it. A log removed still holds, in the file the process has open, the commits since the last checkpoint, while the
/// database file is where it was: finding it gone asks `checkpointer` for a checkpoint, which copies them into the
/// database file from that open log, so a crash after it loses none of them.
public final class SQLiteFiles: Sendable {
    /// The database file's path; its log is beside it, with `-wal` appended.
    public let path: String
    private let database: Identity
    private let log: Mutex<Identity?>
    private let checkpointer: BackgroundCheckpointer

    /// A file that is no longer at its path.
    public enum Displaced: Sendable, Equatable {
        /// The database file: removed, moved, or replaced by another (a copy moved over it).
        case database
        /// The write-ahead log: removed or replaced; the database file is in place.
        case log
    }

    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    /// Records the files at `path` (and its log, if there is one yet), whose log `checkpointer` checkpoints; nil when
    /// there is no file at `path`.
    public init?(path: String, checkpointer: BackgroundCheckpointer) {
        guard let identity = Self.identity(of: path) else { return nil }
        self.path = path
        self.database = identity
        self.log = Mutex(Self.identity(of: path + "-wal"))
        self.checkpointer = checkpointer
    }

    /// Which file is no longer the one opened, or nil when both are in place (asking for a checkpoint when it is the
    /// log). Two `stat` calls.
    public func displaced() -> Displaced? {
        guard Self.identity(of: path) == database else { return .database }
        let current = Self.identity(of: path + "-wal")
        let moved = log.withLock { recorded in
            guard let known = recorded else {
                recorded = current
                return false
            }
            return current != known
        }
        guard moved else { return nil }
        checkpointer.requestCheckpoint()
        return .log
    }

    private static func identity(of path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
