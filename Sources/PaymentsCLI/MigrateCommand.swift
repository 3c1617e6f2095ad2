import ArgumentParser
import Logging
import PaymentsStore

/// `payments migrate`: applies pending migrations and exits.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending migrations from migrations/ and exit."
    )

    @OptionGroup var options: DatabaseOptions

    func run() async throws {
        let settings = try await ServiceSettings.load(options.overrides)
        // The store alone: the card network's ledger is not opened, so none is made (an empty one left in the working
        // folder by a migration of a PostgreSQL database was found there by a later `serve`)
        var logger = Logger(label: "payments.migrate")
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        let store = try await Bootstrap.openStore(settings, logger: logger)
        let unknown = try await store.unknownMigrations()
        let applied = try await store.appliedMigrations().filter { !unknown.contains($0) }
        try await store.close()
        let now = store.migrationsAppliedAtOpen
        var lines = [
            "Database \(settings.databaseName) is at migration \(applied.last ?? "none") (\(applied.count) applied).",
            // What this run changed: the same line as above said nothing of whether the schema just moved
            now.isEmpty
                ? "Nothing to apply."
                : "Applied \(now.count) migration(s) now: \(now.joined(separator: ", ")).",
        ]
        if let message = Self.newerBuildNote(unknown) { lines.append(message) }
        // As the other commands' results: `print` said nothing of an output it could not write (`> /dev/full`
        // exited 0), and a reader gone ends it by SIGPIPE
        try StandardOutput.write(lines.joined(separator: "\n") + "\n", command: "migrate")
    }

    /// What `migrate` and `serve` say of migrations a newer build applied (``StoreAdministration/unknownMigrations()``),
    /// or nil when there are none.
    static func newerBuildNote(_ unknown: [String]) -> String? {
        guard !unknown.isEmpty else { return nil }
        return
            "It also has \(unknown.count) migration(s) this build does not know (\(unknown.joined(separator: ", "))): "
            + "a newer build migrated it. This build leaves them alone and runs on it, as during a rolling deploy; "
            + "run the newer build."
    }
}
