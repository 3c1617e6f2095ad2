import ArgumentParser
import Foundation
import Logging
import PaymentsCore
import PaymentsStore

/// `payments report NAME`: prints one admin report (a `report_*` view) as a table, CSV or JSON, through a read-only
/// connection that never holds up the server.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print an admin report (one of the database's report_* views).",
        discussion: """
            NAME is the view's name without report_, e.g. daily_volume, declines, open_intents, refunds_daily, \
            expiring_authorizations, payments, events_by_day; --list prints the names this database has. The database is \
            opened read-only and is never changed.
            """
    )

    /// How a report is printed.
    enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// Columns aligned under a header, numbers right-aligned.
        case table
        /// RFC 4180: a header row, fields quoted when needed, CRLF line ends.
        case csv
        /// An array of objects, one per row, keyed by column; integers as numbers, NULL as null.
        case json
    }

    @OptionGroup var options: DatabaseOptions

    @Argument(help: "The report to print: a view's name without report_ (see --list).")
    var name: String?

    @Option(name: .long, help: "table, csv or json.")
    var format: Format = .table

    @Flag(name: .long, help: "List the reports and exit (in csv or json with --format).")
    var list = false

    func validate() throws {
        if !list && name == nil { throw ValidationError("Name a report, or pass --list to see the reports.") }
    }

    func run() async throws {
        var overrides = options.overrides
        overrides.usesKeys = false
        overrides.usesLedger = false
        let settings = try await ServiceSettings.load(overrides)
        // Exit status 2 as the other commands give it (ReportError's databaseMissing exited 1)
        try Bootstrap.requireDatabase(settings, command: "payments report")
        do {
            if settings.databaseURL != nil {
                // PostgreSQL: opened without migrating, so a report changes nothing; one snapshot per report.
                var logger = Logger(label: "payments.report")
                logger.logLevel = .error
                let store = try await Bootstrap.openStore(settings, logger: logger, migrations: .ignore)
                let output = try await output(
                    list: list,
                    names: { try await store.reportNames() },
                    report: { try await store.report(name ?? "") }
                )
                try await store.close()
                try StandardOutput.write(output, command: "report")
                return
            }
            let reader = try ReportReader(path: settings.db)
            let output = try await output(
                list: list,
                names: { try reader.reportNames() },
                report: { try reader.report(name ?? "") }
            )
            try StandardOutput.write(output, command: "report")
        } catch let error as ReportError {
            FileHandle.standardError.write(Data("payments report: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// What the command prints: the report names (one a line; in csv or json, a table of one column, `name`), or
    /// the report in the chosen format.
    private func output(
        list: Bool,
        names: () async throws -> [String],
        report: () async throws -> ReportTable
    ) async throws -> String {
        if list {
            let names = try await names()
            guard format != .table else { return names.map { $0 + "\n" }.joined() }
            return ReportTable(name: "reports", columns: ["name"], rows: names.map { [.text($0)] }).rendered(as: format)
        }
        return try await report().rendered(as: format)
    }
}
