import ArgumentParser

/// The `payments` executable.
@main
struct PaymentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payments",
        abstract: "A self-hosted, Stripe-compatible card payment service (test mode).",
        subcommands: [
            ServeCommand.self, MigrateCommand.self, SweepCommand.self, RechargeCommand.self, ReportCommand.self,
            VaultCommand.self, ExportCommand.self, ImportCommand.self,
        ],
        defaultSubcommand: ServeCommand.self
    )

    /// Every command starts without core files (``CoreDumps``), then parses its arguments and runs.
    static func main() async {
        CoreDumps.disable()
        await main(nil)
    }
}

/// Options every command that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "The SQLite database file (default data/payments.sqlite, or PAYMENTS_DB); refused beside a database URL."
    )
    var db: String?

    @Option(name: .long, help: "The config file (default config/development.json, or PAYMENTS_CONFIG).")
    var config: String?

    @Option(name: .long, help: "The folder of numbered .sql migrations (default migrations).")
    var migrations: String?

    @Option(
        name: .long,
        help: "A postgres:// URL: use that PostgreSQL database instead of the SQLite file (or PAYMENTS_DATABASE_URL)."
    )
    var databaseURL: String?

    func validate() throws {
        if db != nil && databaseURL != nil { throw ValidationError("Pass --db or --database-url, not both.") }
    }

    /// The settings' overrides these options make.
    var overrides: ServiceSettings.Overrides {
        .init(config: config, db: db, migrations: migrations, databaseURL: databaseURL)
    }
}
