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
        let settings = try await ServiceSettings.load(
            .init(config: options.config, db: options.db, migrations: options.migrations)
        )
        let bootstrap = try await Bootstrap(settings: settings, publicBaseURL: "")
        let applied = try bootstrap.database.appliedMigrations()
        print("Database \(settings.db) is at migration \(applied.last ?? "none") (\(applied.count) applied).")
    }
}
