import ArgumentParser
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
        let bootstrap = try await Bootstrap(settings: settings, publicBaseURL: "")
        let applied = try await bootstrap.store.appliedMigrations()
        try await bootstrap.store.close()
        print(
            "Database \(settings.databaseName) is at migration \(applied.last ?? "none") (\(applied.count) applied)."
        )
    }
}
