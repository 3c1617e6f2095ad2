import ArgumentParser
import Foundation
import PaymentsArchive

/// `payments import`: fills a new database of either kind from an archive of `payments export`, all or nothing.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Fill a new, empty database (SQLite or PostgreSQL) from an archive of payments export.",
        discussion: """
            Checks the whole archive first (every table's row count and SHA-256), then the target: it must hold no \
            payment data, and its migrations (after applying the folder's pending ones) must be exactly the \
            archive's. Then migrates it and copies every row in one transaction; on PostgreSQL each rowid identity \
            is set past the highest imported value. Any refusal exits 1 and leaves the target unchanged. Stop the \
            server on both databases while copying.
            """
    )

    @OptionGroup var options: ArchiveDatabaseOptions

    @Option(name: .long, help: "The archive to read.")
    var input: String

    func run() async throws {
        let database = try await options.database()
        let importer = ArchiveImport(database: database, logger: ArchiveCommandOutput.logger)
        // A new SQLite file the import makes (the migrations run before the archive's checks against the target) is
        // removed again when it refuses: "unchanged" is no file, not an empty migrated one
        var created: String?
        if case .sqlite(let path, _) = database, !FileManager.default.fileExists(atPath: path) { created = path }
        do {
            let started = ContinuousClock.now
            let counts = try await importer.run(input: input)
            ArchiveCommandOutput.summary(
                "imported \(input) into \(database.kind) \(database)",
                counts: counts,
                since: started
            )
        } catch let error as ArchiveError {
            if let created { Self.remove(created) }
            throw ArchiveCommandOutput.fail("import", error)
        } catch {
            if let created { Self.remove(created) }
            throw error
        }
    }

    /// Removes the SQLite file at `path` and the files SQLite keeps beside it.
    static func remove(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}
