import Foundation
import GRDB
import Logging
import PaymentsPostgres
import PaymentsStore
import PostgresNIO

/// `payments import`: an archive into a new database of either kind, all or nothing.
///
/// Before anything is written the whole archive is read once and checked (every table's row count and SHA-256,
/// the archive's own), and the target is checked without writing: it holds no payment data, and the archive's
/// migrations are the folder's, or its first ones (an older version's archive), with none the target has applied
/// beyond them. Then the target is migrated to the archive's migrations, and the rows go in one transaction that
/// checks all of it again (another process may have written meanwhile) and commits only after the archive's last
/// line. An older version's rows are then brought up to date by the folder's later migrations.
public struct ArchiveImport: Sendable {
    public let database: ArchiveDatabase
    public let logger: Logger

    public init(database: ArchiveDatabase, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// What an import did.
    public struct Outcome: Sendable {
        /// Each table and its row count, in the archive's order.
        public var counts: [(table: String, rows: Int64)]
        /// The migrations applied to an older version's rows once they were in, in order (empty for an archive of
        /// this version).
        public var laterMigrations: [String]
    }

    /// Imports the archive at `input`.
    /// - Returns: each table and its row count, in the archive's order.
    /// - Throws: ``ArchiveError``; the target is then as it was (bar migrations, which only a target that passed
    ///   the checks receives).
    public func run(input: String) async throws -> [(table: String, rows: Int64)] {
        try await importing(input: input).counts
    }

    /// Imports the archive at `input`, as ``run(input:)``, saying also which later migrations brought an older
    /// version's rows up to date.
    public func importing(input: String) async throws -> Outcome {
        do {
            let checked = try ArchiveReader(path: input)
            _ = try checked.verify()
            let archive = checked.header.migrations.sorted()
            switch database {
            case .sqlite(let path, let folder):
                let all = try MigrationSet(folder: folder)
                // An older version's archive goes into the target migrated to its level, then the rest apply
                let level = try Self.level(of: archive, folder: all.migrations.map(\.name)).map {
                    all.prefix(through: $0)!
                }
                if FileManager.default.fileExists(atPath: path) {
                    let queue = try SQLiteArchive.readOnlyQueue(path)
                    let (applied, counts) = try await queue.read { db in
                        let applied = try SQLiteArchive.appliedMigrations(db)
                        return (applied, applied.isEmpty ? [] : try SQLiteArchive.rowCounts(db))
                    }
                    try check(archive: archive, applied: applied, folder: all.migrations.map(\.name), counts: counts)
                } else {
                    try check(archive: archive, applied: [], folder: all.migrations.map(\.name), counts: [])
                }
                let existed = FileManager.default.fileExists(atPath: path)
                do {
                    _ = try PaymentDatabase(path: path, migrations: level ?? all)
                } catch {
                    if !existed { Self.removeIfEmpty(path, madeAs: nil) }
                    throw error
                }
                let made = existed ? nil : ArchiveExport.FileIdentity(path)
                // One import at a time into a file, from its check that the file is empty to its removal of a new
                // file it made: two imports into one new file ran at once, and the one refused (its wait for the
                // other's write lock ran past the busy timeout) found the file empty, the other's rows not yet
                // committed, and removed it; the other then exited 0 with every row in a removed file.
                let lock = try ImportLock(path)
                defer { lock.release() }
                let counts: [(table: String, rows: Int64)]
                do {
                    counts = try SQLiteArchive.importArchive(try ArchiveReader(path: input), into: path)
                } catch {
                    if let made { Self.removeIfEmpty(path, madeAs: made) }
                    throw error
                }
                // The rows are in, at the archive's level: this version's later migrations bring them up to date,
                // as they bring up a database the older version made
                var later: [String] = []
                if level != nil {
                    do {
                        later = try PaymentDatabase(path: path, migrations: all).migrationsAppliedAtOpen
                    } catch {
                        throw laterMigrationsFailed(counts, error)
                    }
                }
                return Outcome(counts: counts, laterMigrations: later)
            case .postgres(let settings, let folder):
                let all = try PostgresMigrationSet(folder: folder)
                let level = try Self.level(of: archive, folder: all.migrations.map(\.name)).map {
                    all.prefix(through: $0)!
                }
                try await onConnection(settings) { connection in
                    let applied = try await PostgresArchive.appliedMigrations(connection, logger: logger)
                    let counts = try await PostgresArchive.rowCounts(connection, logger: logger)
                    try check(archive: archive, applied: applied, folder: all.migrations.map(\.name), counts: counts)
                    _ = try await PostgresMigrator(migrations: level ?? all).migrate(on: connection, logger: logger)
                }
                let counts = try await PostgresArchive.importArchive(
                    try ArchiveReader(path: input),
                    into: settings,
                    logger: logger
                )
                var later: [String] = []
                if level != nil {
                    do {
                        try await onConnection(settings) { connection in
                            later = try await PostgresMigrator(migrations: all).migrate(on: connection, logger: logger)
                                .applied
                        }
                    } catch {
                        throw laterMigrationsFailed(counts, error)
                    }
                }
                return Outcome(counts: counts, laterMigrations: later)
            }
        } catch let error as ArchiveError {
            throw error
        } catch {
            // The database's own refusal (a constraint, a type, a connection): the rows' one transaction was rolled
            // back, and the refusal said so no more than it said why the archive could hold such rows (a probe's
            // edited archive, its checksums recomputed, got SQLite's "UNIQUE constraint failed: customers.rowid")
            let refusal = ArchiveError.wrapping(error, database: database).description
            throw ArchiveError.database(refusal + Self.refusedRowsHint(error) + " Nothing was imported.")
        }
    }

    /// Why a database refuses an archive's rows that passed its checksums, when it is a constraint or a type: the
    /// archive was changed after its export (and its checksums computed again), or is not an export of this service.
    static func refusedRowsHint(_ error: any Error) -> String {
        let refusedRows: Bool
        switch error {
        case let error as DatabaseError:
            refusedRows = [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH].contains(error.resultCode)
        case let error as PSQLError:
            // Classes 22 (data exception) and 23 (integrity constraint violation)
            let state = error.serverInfo?[.sqlState] ?? ""
            refusedRows = state.hasPrefix("22") || state.hasPrefix("23")
        default:
            refusedRows = false
        }
        guard refusedRows else { return "" }
        return " The archive holds rows this database's schema refuses (a row twice, a value of another type, a row "
            + "whose parent row is missing): it was changed after its export, or is not an export of this service."
    }

    /// Runs `body` on a new connection to `settings`' database, closed afterwards however `body` ends.
    private func onConnection(_ settings: PostgresSettings, _ body: (PostgresConnection) async throws -> Void)
        async throws
    {
        let connection = try await settings.connect(logger: logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The error of an older archive's import whose later migrations failed (`error`) once its rows (`counts`) were in.
    private func laterMigrationsFailed(_ counts: [(table: String, rows: Int64)], _ error: any Error) -> ArchiveError {
        .laterMigrationsFailed(
            rows: counts.reduce(0) { $0 + $1.rows },
            reason: ArchiveError.wrapping(error, database: database).description
        )
    }

    /// Removes the SQLite file at `path` (and the files SQLite keeps beside it) that a refused import made, so that
    /// "unchanged" is no file rather than an empty migrated one; only while it is still the file the import made
    /// (`madeAs`, when known) and holds no payment data.
    ///
    /// Another process may have opened the new file meanwhile: a second import that filled it, or a server started on
    /// the path, which took payments. A refused import removed the file whatever it held, and with it a server's
    /// acknowledged payments. A file holding data now stays; a server that opened an empty file removed here refuses
    /// its next write (its file check) rather than write into a removed file.
    static func removeIfEmpty(_ path: String, madeAs made: ArchiveExport.FileIdentity?) {
        guard let now = ArchiveExport.FileIdentity(path), made == nil || made == now else { return }
        let counts = try? SQLiteArchive.readOnlyQueue(path).read { db in try SQLiteArchive.rowCounts(db) }
        guard let counts, counts.allSatisfy({ $0.rows == 0 }) else { return }
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// The last migration of an older version's archive, whose migrations are the first of this version's
    /// `folder` (in order); nil for an archive of this version's set.
    /// - Throws: ``ArchiveError/newerArchive(unknown:)`` for a newer version's archive (it names migrations the folder
    ///   lacks), ``ArchiveError/archiveMigrationsOutOfOrder(archive:folder:)`` for any other set: its rows would not
    ///   fit this version's tables. Both said the target was at the folder's migrations, where there may be no target
    ///   yet, and named no migration this version lacks.
    static func level(of archive: [String], folder: [String]) throws -> String? {
        if archive == folder.sorted() { return nil }
        let unknown = archive.filter { !folder.contains($0) }
        guard unknown.isEmpty else { throw ArchiveError.newerArchive(unknown: unknown) }
        guard let last = archive.last, archive.count < folder.count, Array(folder.prefix(archive.count)) == archive
        else { throw ArchiveError.archiveMigrationsOutOfOrder(archive: archive, folder: folder.sorted()) }
        return last
    }

    /// Refuses a target that holds payment data, or that is migrated past the archive (or to another set): the rows
    /// go into tables at the archive's level, before this version's later migrations apply, so the target may hold
    /// only migrations the archive has (a new database holds none).
    private func check(archive: [String], applied: [String], folder: [String], counts: [(table: String, rows: Int64)])
        throws
    {
        let after = Set(applied).union(folder).sorted()
        guard after == folder.sorted(), Set(applied).isSubset(of: archive) else {
            throw ArchiveError.migrationsDiffer(archive: archive, target: applied.isEmpty ? after : applied.sorted())
        }
        if let full = counts.first(where: { $0.rows > 0 }) {
            throw ArchiveError.targetNotEmpty(table: full.table, rows: full.rows)
        }
    }
}

/// An exclusive `flock` on the SQLite file an import fills, which every import takes (SQLite's own locks are `fcntl`
/// locks, apart from it). Taken after the file is made and migrated, released once the import is done or the file
/// it made is removed.
struct ImportLock {
    private let descriptor: Int32

    /// Waits for the lock on the file at `path`.
    /// - Throws: when the file cannot be opened, or was removed or replaced while this waited (another import's new
    ///   file, removed when that import was refused): the lock is then on a file that is no longer the target.
    init(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ArchiveError.database("Cannot open \(path) (\(String(cString: strerror(errno)))).")
        }
        var waited: Int32
        repeat { waited = flock(descriptor, LOCK_EX) } while waited != 0 && errno == EINTR
        var locked = stat()
        var named = stat()
        guard waited == 0, fstat(descriptor, &locked) == 0, stat(path, &named) == 0,
            locked.st_dev == named.st_dev, locked.st_ino == named.st_ino
        else {
            close(descriptor)
            throw ArchiveError.database(
                "\(path) was removed or replaced while this import waited for another import into it; nothing was "
                    + "imported. Look at what the file holds now before running the import again."
            )
        }
        self.descriptor = descriptor
    }

    /// Releases the lock. Every SQLite connection of the import to the file is closed by then: closing a descriptor
    /// of a file drops the process's `fcntl` locks on it, SQLite's too.
    func release() { close(descriptor) }
}
