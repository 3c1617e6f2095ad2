import Foundation
import GRDB
import PaymentsCore
import PaymentsSQLite

/// The service's one database: owns the SQLite connection pool, the migrations and every transaction boundary.
///
/// GRDB's AppDatabase pattern: the writer is private, and each write is a named operation (one transaction that
/// keeps an invariant). Reads go through the pool's readers and never wait for the writer (WAL mode).
public struct PaymentDatabase: Sendable {
    let writer: DatabasePool
    /// Folds concurrent writes into shared transactions; nil writes one transaction per call.
    let groupCommit: GroupCommitWriter?
    /// The file opened, checked before each write (``DatabaseFile/check()``).
    let file: DatabaseFile
    /// Checkpoints the write-ahead log beside the writer, instead of on its thread after a commit.
    let checkpointer: BackgroundCheckpointer
    /// The migrations this database was opened with.
    let migrations: MigrationSet
    /// The migrations this open applied (``StoreAdministration/migrationsAppliedAtOpen``).
    public let migrationsAppliedAtOpen: [String]
    /// The connections reads run on (see ``ReaderConnections``).
    let readers: ReaderConnections

    /// How long a connection waits for another process's write lock before failing. One-shot commands
    /// (`sweep`, `recharge`, `migrate`) share the file with a running server; their transactions are short, so
    /// five seconds is far more than any wait that happens in practice.
    static let busyTimeout: TimeInterval = 5

    /// Readers in the pool: reads run on the calling thread (``read(_:)``), so one per thread of the cooperative
    /// pool (one per core) and a few for everything else (the sweeper, reports), so a read never waits for one.
    public static let readerCount = ProcessInfo.processInfo.activeProcessorCount + 4

    /// Opens the pool, trying again while another process holds the lock that switching a new file to WAL needs.
    ///
    /// Setting `journal_mode = WAL` on a new file takes an exclusive lock, and SQLite answers `SQLITE_BUSY` at once
    /// there instead of waiting for the busy timeout: of three `payments migrate` started at once on a new file, about
    /// one in 400 failed with `database is locked - while executing 'PRAGMA journal_mode = WAL'`.
    static func openPool(path: String, configuration: Configuration) throws -> DatabasePool {
        let deadline = ContinuousClock.now + .seconds(busyTimeout)
        while true {
            do {
                return try DatabasePool(path: path, configuration: configuration)
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline
            {
                usleep(10_000)
            }
        }
    }

    /// Applies `migrator`'s pending migrations, beside another process doing the same on a new database.
    ///
    /// Each migration runs in a transaction of its own, after one look at those applied, so two processes started at
    /// once (two `payments migrate`, a `serve` beside one) both saw migration 1 pending and the second failed on
    /// it: `table customers already exists`. A migration that fails is rolled back whole; when meanwhile another
    /// process applied migrations, this one looks again and goes on from there. A migration that fails with nobody
    /// else moving (a broken file, a full disk) still fails.
    /// - Returns: the migrations applied now, in order (by this process, or by another that migrated meanwhile).
    @discardableResult
    static func migrate(_ pool: DatabasePool, _ migrator: DatabaseMigrator) throws -> [String] {
        var applied = try pool.read { db in try migrator.appliedMigrations(db) }
        let before = Set(applied)
        if applied.isEmpty { try refuseForeignDatabase(pool) }
        while true {
            do {
                try migrator.migrate(pool)
                return try pool.read { db in try migrator.appliedMigrations(db) }.filter { !before.contains($0) }
            } catch {
                let now = try pool.read { db in try migrator.appliedMigrations(db) }
                guard now.count > applied.count else { throw error }
                applied = now
            }
        }
    }

    /// Refuses a database that holds tables but none of this service's migrations: another program's file (the card
    /// network's ledger, named by mistake). Migrated, it failed halfway with `table refunds already exists`, printed
    /// the migration's SQL, and left GRDB's bookkeeping table behind in that file.
    ///
    /// Read in one snapshot: each migration commits with its record, so a database another process is migrating never
    /// shows its tables without one. (Read apart, the migrations before another process's first commit and the tables
    /// after it refused one of three `payments migrate` started at once on a new file.)
    static func refuseForeignDatabase(_ pool: DatabasePool) throws {
        let tables = try pool.read { db in try NotAPaymentsDatabase.foreignTables(in: db) }
        guard tables.isEmpty else { throw NotAPaymentsDatabase(path: pool.path, tables: tables) }
    }

    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// - Parameters:
    ///   - path: the SQLite file; its folder is created if missing.
    ///   - migrations: the folder of numbered `.sql` files.
    ///   - synchronous: SQLite's durability level; `FULL` survives power loss as well as process crashes.
    ///   - groupCommit: fold concurrent writes into shared commits (``GroupCommitWriter``).
    ///   - writerNiceness: added to the group commit writer's thread's nice value (0 keeps the process's).
    ///   - migrationPolicy: what to do about migrations the file has not applied (by default, apply them).
    public init(
        path: String,
        migrations: MigrationSet,
        synchronous: SynchronousLevel = .full,
        groupCommit: Bool = true,
        writerNiceness: Int = 0,
        migrationPolicy: MigrationPolicy = .apply
    ) throws {
        let role = "The database (--db, PAYMENTS_DB)"
        try SQLiteFilePath.prepare(path, role: role)
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "payments"
        configuration.maximumReaderCount = Self.readerCount
        WALWriteBuffer.install()
        let pool = try SQLiteFilePath.opening(path, role: role) {
            try Self.openPool(path: path, configuration: configuration)
        }
        // GRDB sets `synchronous = NORMAL` on pools after `prepareDatabase`; set ours afterwards so it sticks.
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous.rawValue)")
        }
        var appliedAtOpen: [String] = []
        switch migrationPolicy {
        case .apply:
            appliedAtOpen = try Self.migrate(pool, migrations.migrator)
        case .require:
            let migrator = migrations.migrator
            let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
            // Another program's file (the card network's ledger) is named as such, not sent to `payments migrate`,
            // which refuses it
            if applied.isEmpty { try Self.refuseForeignDatabase(pool) }
            let pending = migrator.migrations.filter { !applied.contains($0) }
            if !pending.isEmpty { throw MigrationsPending(database: path, pending: pending) }
        case .ignore:
            break
        }
        try pool.writeWithoutTransaction { db in
            // Group commit runs a batch's writes each in a savepoint when one of them threw (see
            // `GroupCommitWriter`), and SQLite keeps a copy of each page a savepoint changes in a sub-journal
            // (statements that may abort halfway keep one too), spilled to a temporary file past 64 KiB. When
            // every write ran in a savepoint, `strace` of a 5,000-row recharge showed 864 MB written to /var/tmp
            // in 400,000 `pwrite` calls (beside 142 MB of WAL), and a sweeper pass 28 MB. Those copies only serve
            // a rollback and are never read after a crash, so they can stay in memory (the writer's only, a few MB
            // at most per transaction): durability is unchanged. Set after the migrations, which keep SQLite's
            // temporary files: a migration that rebuilds a table copies all of it in one transaction, and in
            // memory that took as much as the table (0010 over 100,000 idempotency keys: 480 MB of memory,
            // against 21 MB with the files).
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        self.writer = pool
        self.migrations = migrations
        self.migrationsAppliedAtOpen = appliedAtOpen
        self.readers = ReaderConnections(path: path, busyTimeout: Self.busyTimeout, kept: Self.readerCount)
        let checkpointer = try BackgroundCheckpointer(pool)
        self.checkpointer = checkpointer
        let file = try DatabaseFile(path: path, checkpointer: checkpointer)
        self.file = file
        self.groupCommit =
            groupCommit
            ? GroupCommitWriter(pool, label: "payments", niceness: writerNiceness, beforeBatch: file.check) : nil
    }

    /// SQLite's `synchronous` levels this service may run with.
    public enum SynchronousLevel: String, Sendable {
        /// Each commit is fsynced: committed data survives a power loss.
        case full = "FULL"
        /// WAL commits are fsynced at checkpoints: survives a process crash, may lose the last commits on power
        /// loss.
        case normal = "NORMAL"
    }

    /// The `synchronous` level the writer connection actually runs with (1 = NORMAL, 2 = FULL).
    public func synchronousLevel() throws -> Int {
        try writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    /// The migrations applied to this file, in order.
    public func appliedMigrations() throws -> [String] {
        try writer.read { db in try migrations.migrator.appliedMigrations(db) }
    }

    /// The migrations the database has and this build's set lacks, sorted (GRDB's `appliedMigrations` leaves them out).
    public func unknownMigrations() throws -> [String] {
        let migrator = migrations.migrator
        return try writer.read { db in
            try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
        }
    }

    /// The database file's path.
    public var path: String { writer.path }
}

/// A SQLite file with tables of another program's and none of this service's migrations, refused before anything is
/// written to it.
public struct NotAPaymentsDatabase: Error, CustomStringConvertible {
    /// The file.
    public let path: String
    /// Some of its tables (at most 4).
    public let tables: [String]

    public var description: String { "\(path) \(reason)" }

    /// Up to four of `db`'s tables when it has none of the service's migrations (another program's file: the card
    /// network's ledger, named by mistake); empty for the service's database, and for an empty file.
    static func foreignTables(in db: Database) throws -> [String] {
        if try db.tableExists("grdb_migrations"),
            try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") ?? 0 > 0
        {
            return []
        }
        return try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                + "AND name <> 'grdb_migrations' ORDER BY name LIMIT 4"
        )
    }

    /// The description without the file's name.
    public var reason: String {
        "is not a payments database: it holds other tables (\(tables.joined(separator: ", "))) and none of this "
            + "service's migrations, so nothing was changed. Name the service's database with --db (or PAYMENTS_DB); "
            + "the card network's ledger is a file of its own."
    }
}
