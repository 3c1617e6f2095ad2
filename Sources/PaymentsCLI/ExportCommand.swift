import ArgumentParser
import Foundation
import Logging
import PaymentsArchive
import PaymentsCore

/// `payments export`: writes the whole database, in one snapshot, as a portable archive that `payments import`
/// reads into a database of either kind.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the whole database (SQLite or PostgreSQL) to a portable archive file.",
        discussion: """
            Reads every table in one snapshot and writes a header (format, source, migrations, time), then each \
            table's rows as JSON lines with a row count and SHA-256 per table. The file is written as FILE.<8 hex \
            digits>.tmp and renamed when complete; --output - writes to standard output. Saved cards stay sealed: \
            the archive holds no card number, and the vault key (PAYMENTS_VAULT_KEY) must travel separately. The \
            test-mode card network's ledger is a separate file and is not exported.
            """
    )

    @OptionGroup var options: ArchiveDatabaseOptions

    @Option(name: .long, help: "The archive to write, or - for standard output.")
    var output: String

    func run() async throws {
        let database = try await options.database()
        if case .sqlite(let path, _) = database { try Bootstrap.requireDatabaseFile(path, command: "payments export") }
        let export = ArchiveExport(
            database: database,
            clock: UnixClock { Int64(Date().timeIntervalSince1970) },
            logger: ArchiveCommandOutput.logger
        )
        do {
            let started = ContinuousClock.now
            let counts = try await export.run(output: output)
            ArchiveCommandOutput.summary(
                "exported \(database.kind) \(database) to \(output == "-" ? "standard output" : output)",
                counts: counts,
                since: started
            )
        } catch let error as ArchiveError {
            throw ArchiveCommandOutput.fail("export", error)
        }
    }
}
