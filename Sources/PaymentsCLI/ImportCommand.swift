import ArgumentParser
import Foundation
import PaymentsArchive
import PaymentsPostgres
import PaymentsStore

/// `payments import`: fills a new database of either kind from an archive of `payments export`, all or nothing.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Fill a new, empty database (SQLite or PostgreSQL) from an archive of payments export.",
        discussion: """
            Checks the whole archive first (every table's row count and SHA-256), then the target: it must hold no \
            payment data, and the archive's migrations must be this version's, or an older version's (the first of \
            them). Then migrates the target to the archive's migrations and copies every row in one transaction; on \
            PostgreSQL each rowid identity is set past the highest imported value. An older version's archive is \
            then brought up to date by this version's later migrations. Any refusal exits 1 with no row imported; \
            a refusal of the archive or the target leaves the target unchanged, and one of the rows (the database \
            refusing one) leaves an existing target migrated, a new file removed. Stop the server on both \
            databases while copying.
            """
    )

    @OptionGroup var options: ArchiveDatabaseOptions

    @Option(name: .long, help: "The archive to read.")
    var input: String

    func run() async throws {
        let database = try await options.database()
        try Self.refuseOlderMigrations(database)
        // A new SQLite file the import makes is removed again when it refuses, while it holds no data (`ArchiveImport`)
        let importer = ArchiveImport(database: database, logger: ArchiveCommandOutput.logger)
        do {
            let started = ContinuousClock.now
            let outcome = try await importer.importing(input: input)
            ArchiveCommandOutput.summary(
                "imported \(input) into \(database.kind) \(database)",
                counts: outcome.counts,
                since: started
            )
            if !outcome.laterMigrations.isEmpty {
                // An older version's archive: it said nothing of bringing the rows up to date
                FileHandle.standardError.write(
                    Data(
                        ("  the archive came from an older version: its rows were brought up to date by "
                            + "\(outcome.laterMigrations.count) later migration(s): "
                            + outcome.laterMigrations.joined(separator: ", ") + "\n").utf8
                    )
                )
            }
        } catch let error as ArchiveError {
            throw ArchiveCommandOutput.fail("import", error)
        }
    }

    /// Refuses a migrations folder older than this build (``RequiredMigrations``) before the target is touched: the
    /// import migrated the target to that folder's newest migration, and a server of this build then failed on it.
    /// A folder that cannot be read is left to the import, which says why.
    static func refuseOlderMigrations(_ database: ArchiveDatabase) throws {
        switch database {
        case .sqlite(_, let folder):
            if let set = try? MigrationSet(folder: folder) { try RequiredMigrations.check(set, folder: folder) }
        case .postgres(_, let folder):
            if let set = try? PostgresMigrationSet(folder: folder) { try RequiredMigrations.check(set, folder: folder) }
        }
    }
}
