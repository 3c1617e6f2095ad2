import Foundation
import GRDB
import Synchronization

/// The connections reads run on: SQLite connections in WAL mode (each read a snapshot that never waits for the
/// writer), handed out from a free list under a mutex and used on the calling thread.
///
/// GRDB's `DatabasePool` serves readers through a barrier dispatch queue, a semaphore and a dispatch group per read,
/// which under concurrent reads made threads wait on one another: a replay answered without its read took half the
/// CPU of one that read its key row (`perf stat`, W3 in `scripts/bench`). A read here takes a connection from the
/// list (or opens one when every connection is busy: as many exist as reads ever ran at once, at most the threads
/// that call in), runs, and puts it back. Each connection is `query_only`: a read can never write.
final class ReaderConnections: Sendable {
    private let free = Mutex<[DatabaseQueue]>([])
    private let path: String
    private let busyTimeout: TimeInterval
    /// Connections kept when they come back; more are closed (only after a burst of more concurrent reads).
    private let kept: Int

    init(path: String, busyTimeout: TimeInterval, kept: Int) {
        self.path = path
        self.busyTimeout = busyTimeout
        self.kept = kept
    }

    /// Runs `body` on a free connection, on the calling thread.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        let connection = try free.withLock { $0.popLast() } ?? open()
        // A connection left inside a transaction (its ROLLBACK failed) is not lent again: its next BEGIN would fail.
        var reusable = false
        defer {
            if reusable {
                free.withLock { list in
                    if list.count < kept { list.append(connection) }
                }
            }
        }
        return try connection.inDatabase { db in
            defer { reusable = !db.isInsideTransaction }
            return try body(db)
        }
    }

    private func open() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "payments.reader"
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA query_only = ON") }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
