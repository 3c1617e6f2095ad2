import GRDB
import PaymentsCore

extension PaymentDatabase: StoreAdministration {
    /// Why the database is not ready for requests (the store-neutral ``StoreReadinessProblem``).
    public typealias ReadinessProblem = StoreReadinessProblem

    /// The database file's path.
    public var displayName: String { path }

    /// Nothing to do: GRDB closes the pool's connections when the last copy of the database is released.
    public func close() async throws {}

    /// Copies the whole write-ahead log into the database file and empties it (``BackgroundCheckpointer/finish()``),
    /// so that after `serve`'s clean stop the file alone holds every committed write.
    ///
    /// Only `serve` asks for it, at its stop: such a checkpoint holds back other processes' writes while it waits for
    /// their reads to end, which a short command beside a running server (`payments migrate`) must not do to it.
    ///
    /// Not when the path no longer leads to the file opened (``DatabaseFile``): the checkpoint would copy the log into
    /// the file that was there, which no longer has a name, and empty the `-wal` file beside the path, so a clean stop
    /// after `cp p.sqlite x; mv x p.sqlite` lost every payment since the last checkpoint, answered 200 and approved at
    /// the card network, where a SIGKILL lost none (the next start copies the log into the file it finds). The log is
    /// left as it is, and the stop says so.
    /// - Throws: ``StoreError/unavailable(_:)`` when the file was removed or replaced, saying the log was kept.
    public func emptyLogAtStop() async throws {
        guard file.isInPlace else {
            throw StoreError.unavailable(
                "The database file \(path) was removed or replaced while the server ran, so its write-ahead log "
                    + "(\(path)-wal) was not copied into it: the log holds the payments committed since the last "
                    + "checkpoint, and is left as it is. Keep the -wal file: put the database file back (or the copy "
                    + "you moved there) before starting the server on it, which copies the log in."
            )
        }
        try await checkpointer.finish()
    }

    /// Checks that the database takes requests now: every migration applied, and a write transaction commits (it
    /// takes SQLite's write lock, so it waits behind another process's transaction, and with group commit it waits
    /// for the writer thread: a stuck writer is not ready).
    ///
    /// The transaction writes a page: it sets the file header's `user_version` to the value it has (nothing reads
    /// it), which puts the page in the write-ahead log. A transaction that changed nothing wrote nothing, so on a
    /// full disk every payment failed while the check still passed, and a load balancer kept sending payments.
    /// - Throws: ``ReadinessProblem/migrationsPending``, or the database's error.
    public func checkReady() async throws {
        // A file deleted, moved or replaced under the running process: SQLite keeps writing to the open one, which no
        // restart will find, so every payment answered from now on would be lost. A replaced file (a copy moved over
        // it) is a file at the path too: asked only whether one exists, the check went on to the write, which the
        // writer's own check refused, and the answer was `database_unwritable`, as for a full disk.
        switch file.displaced() {
        case .database?:
            throw ReadinessProblem.databaseMissing
        case .log?:
            // The log the server has open still holds the commits since the last checkpoint: copied into the database
            // file now (the thread was asked too), so that a crash loses none of them
            _ = try? await writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            throw ReadinessProblem.databaseLogMissing
        case nil:
            break
        }
        let migrator = migrations.migrator
        guard try await writer.read({ db in try migrator.hasCompletedMigrations(db) }) else {
            throw ReadinessProblem.migrationsPending
        }
        @Sendable func writePage(_ db: Database) throws {
            let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
            try db.execute(sql: "PRAGMA user_version = \(version)")
        }
        do {
            if let groupCommit {
                // A full disk can leave room for this check's one page in the write-ahead log while every payment's
                // commit fails (a probe saw 399 payments of 400 answered 500 and the check pass each time): a
                // commit that failed for the disk in the last 5 s, with none committed since, fails the check. Once
                // none has failed for 5 s (no traffic), the check's own write decides again.
                if groupCommit.recentDiskFailure(within: .seconds(5)) { throw DatabaseError(resultCode: .SQLITE_FULL) }
                try await groupCommit.write(writePage)
            } else {
                try await writer.write(writePage)
            }
        } catch {
            // The log may be what filled the disk: a long read (an admin's report) kept it from starting over, and
            // once the read ends the log starts over only after a checkpoint has copied it, which commits ask for
            // and none commits now. Copy what can be copied, so that a later write can start the log over.
            _ = try? await writer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            throw error
        }
    }
}
