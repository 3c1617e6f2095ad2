import Foundation
import GRDB
import PaymentsCore

extension PaymentDatabase: StoreAdministration {
    /// Why the database is not ready for requests (the store-neutral ``StoreReadinessProblem``).
    public typealias ReadinessProblem = StoreReadinessProblem

    /// The database file's path.
    public var displayName: String { path }

    /// Nothing to do: GRDB closes the pool's connections when the last copy of the database is released.
    public func close() async throws {}

    /// Checks that the database takes requests now: every migration applied, and a write transaction that changes
    /// nothing commits (it takes SQLite's write lock, so it waits behind another process's transaction, and with
    /// group commit it waits for the writer thread: a stuck writer is not ready).
    /// - Throws: ``ReadinessProblem/migrationsPending``, or the database's error.
    public func checkReady() async throws {
        // A file deleted or moved under the running process: SQLite keeps writing to the open one, which no restart
        // will find, so every payment answered from now on would be lost.
        guard FileManager.default.fileExists(atPath: path) else { throw ReadinessProblem.databaseMissing }
        let migrator = migrations.migrator
        guard try await writer.read({ db in try migrator.hasCompletedMigrations(db) }) else {
            throw ReadinessProblem.migrationsPending
        }
        if let groupCommit {
            try await groupCommit.write { _ in () }
        } else {
            try await writer.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) { .rollback }
            }
        }
    }
}
