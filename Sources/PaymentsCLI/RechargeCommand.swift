import ArgumentParser
import Foundation
import Metrics
import Payments
import PaymentsArchive
import PaymentsCore
import Prometheus

/// `payments recharge`: off-session charges of saved cards from a CSV file, one per row, idempotent per row's
/// `reference`.
///
/// Input header: `customer,amount,currency,reference` and optionally `payment_method,description`. Output:
/// `reference,payment_intent,status,decline_code,error`, in input order, to `--output` or standard output.
/// Exit status: 0 when every row was charged or declined, 1 when some row was an error, 2 when the run stopped
/// before charging any row: the input cannot be read (a missing file, not UTF-8, not CSV), an output cannot be
/// written, or the settings or the database are wrong or out of reach.
struct RechargeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recharge",
        abstract: "Charge saved cards off-session from a CSV file (idempotent per reference).",
        discussion: """
            Input columns: customer,amount,currency,reference[,payment_method,description]. Each row charges the \
            customer's given (or default, or only) saved card. Running the same file again, or after a crash, \
            charges no row twice. Exit status: 0 every row charged or declined; 1 some row was an error; 2 nothing \
            was charged (the input cannot be read, an output cannot be written, or the settings or the database are \
            wrong or out of reach).
            """
    )

    @OptionGroup var options: DatabaseOptions

    @Option(name: .long, help: "The CSV file of charges to make.")
    var input: String

    @Option(name: .long, help: "Where to write the results (default: standard output).")
    var output: String?

    @Option(
        name: .long,
        help: "How many rows to charge at once (results stay in input order; concurrent rows share commits)."
    )
    var concurrency: Int = 32

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Write the run's metrics here at the end, in Prometheus's text format (for node_exporter's textfile "
                + "collector).",
            valueName: "path"
        )
    )
    var metricsFile: String?

    /// The most rows charged at once: each is a task holding its row's reference (its key's lease) while it runs.
    static let concurrencyLimit = 1_000

    func validate() throws {
        // 0 ran one row at a time, as 1 does: a typo for 10 or 100 is said, as for every other count of a command
        guard (1...Self.concurrencyLimit).contains(concurrency) else {
            throw ValidationError("--concurrency must be between 1 and \(Self.concurrencyLimit), not \(concurrency).")
        }
    }

    /// The columns every input must have.
    static let requiredColumns = ["customer", "amount", "currency", "reference"]
    /// Every column an input may have.
    static let columns = requiredColumns + ["payment_method", "description"]

    func run() async throws {
        MemoryAllocator.configureForServer()
        let started = Date()
        let rows: [Row]
        let (results, metrics): (OutputFile?, OutputFile?)
        do {
            rows = try Self.readInput(input)
            (results, metrics) = try Self.checkOutputs(input: input, output: output, metricsFile: metricsFile)
        } catch {
            FileHandle.standardError.write(Data("payments recharge: \(error)\n".utf8))
            throw ExitCode(2)
        }
        // Exit status 1 says some row was an error; a run that stops before its first row (its settings, its
        // database) charged nothing, as one refused for its input does: 2, so a job's wrapper can tell them apart.
        let settings: ServiceSettings
        let bootstrap: Bootstrap
        do {
            settings = try await ServiceSettings.load(options.overrides)
        } catch {
            FileHandle.standardError.write(Data("payments recharge: \(error) Nothing was charged.\n".utf8))
            throw ExitCode(2)
        }
        do {
            // The results renamed over the database replaced it: the charges just made were no longer on record
            let database = settings.databaseURL == nil ? settings.db : nil
            for (path, what) in [(output, "the results"), (metricsFile, "the metrics")] {
                guard let path else { continue }
                try ArchiveExport.refuseDatabaseFiles([path], sqliteDatabase: database, writing: what)
            }
        } catch {
            FileHandle.standardError.write(Data("payments recharge: \(error) Nothing was charged.\n".utf8))
            throw ExitCode(2)
        }
        // A batch job is not scraped: its counters (rows by outcome, and the attempts and challenges the use cases
        // count) go to a file a textfile collector picks up, written once the run is done.
        let registry = PrometheusCollectorRegistry()
        if metricsFile != nil { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
        do {
            bootstrap = try await Bootstrap(
                settings: settings,
                publicBaseURL: "",
                label: "payments.recharge",
                existing: true
            )
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("payments recharge: \(error) Nothing was charged.\n".utf8))
            throw ExitCode(2)
        }
        let charges = OffSessionCharges(context: bootstrap.context, instance: "rch_" + bootstrap.context.ids.token(16))
        let progress = Progress(total: rows.count)
        // SIGTSTP (Ctrl-Z) too: a run paused while it held the database's write lock (most of the time, at full
        // speed) held up every payment of the server beside it until it was resumed (429 `lock_timeout` after 5 s,
        // readiness `database_timeout`). It stops as on SIGTERM instead, and the same file run again goes on.
        let signals = RunSignals(signals: [SIGTERM, SIGINT, SIGHUP, SIGTSTP]) { signalNumber in
            let name = [SIGINT: "SIGINT", SIGHUP: "SIGHUP", SIGTSTP: "SIGTSTP"][signalNumber] ?? "SIGTERM"
            let paused =
                signalNumber == SIGTSTP
                ? " (a paused run would hold the database's write lock and stop the server's payments, so this run "
                    + "stops instead; run the same file again to go on)" : ""
            let message =
                "payments recharge: \(name)\(paused): starting no more rows; finishing the rows being charged and "
                + "writing the results (again to stop at once)\n"
            FileHandle.standardError.write(Data(message.utf8))
        }
        let outcomes = await Self.chargeAll(
            rows,
            charges: charges,
            concurrency: concurrency,
            progress: progress,
            stopped: { signals.stopSignal != nil }
        )
        progress.finish()

        var text = CSV.line(["reference", "payment_intent", "status", "decline_code", "error"])
        for (row, outcome) in zip(rows, outcomes) {
            text += CSV.line([
                row.reference, outcome.paymentIntent ?? "", outcome.status, outcome.declineCode ?? "",
                outcome.error ?? "",
            ])
        }
        if let output, let results {
            do {
                try results.write(Data(text.utf8))
            } catch {
                // Checked writable before the first charge, so something changed since (a full disk, a folder
                // removed): the charges stand, so the results must not be lost with the file.
                let message = """
                    payments recharge: cannot write the results to \(output): \(FileNames.reason(error)). The charges \
                    were made; running the same file again replays them (nothing is charged twice). The results \
                    follow on standard output.

                    """
                FileHandle.standardError.write(Data(message.utf8))
                try StandardOutput.write(text, command: "recharge")
            }
        } else {
            try StandardOutput.write(text, command: "recharge")
        }
        let summary = Summary(outcomes)
        FileHandle.standardError.write(Data(summary.text.utf8))
        if let metricsFile, let metrics {
            // Every outcome, 0 included, so that an alert on one finds its series after any run
            var rowCounts = Dictionary(uniqueKeysWithValues: Self.metricOutcomes.map { ($0, 0) })
            for outcome in outcomes { rowCounts[Self.metricOutcome(outcome), default: 0] += 1 }
            for (outcome, count) in rowCounts {
                Counter(label: "payments_recharge_rows_total", dimensions: [("outcome", outcome)]).increment(by: count)
            }
            // When the run ended and how long it took: the file holds one run's counts, which a collector cannot
            // tell from the last run's when two runs count the same (an `increase()` over them read 0), nor tell that
            // no run came at all
            let ended = Date()
            Gauge(label: "payments_recharge_last_run_timestamp_seconds").record(ended.timeIntervalSince1970)
            Gauge(label: "payments_recharge_last_run_duration_seconds").record(ended.timeIntervalSince(started))
            // Replaced whole (a new file renamed over the old one), so a collector never reads half a file.
            do {
                try metrics.write(Data(registry.emitToBuffer()))
            } catch {
                // Checked writable before the first charge, as the results' file was: the rows decide the status.
                let message = """
                    payments recharge: cannot write the metrics to \(metricsFile): \(FileNames.reason(error)). The \
                    charges were made and their results written.

                    """
                FileHandle.standardError.write(Data(message.utf8))
            }
        }
        // Stopped by a signal: its usual status (130, 143), now that the results are written
        if let signalNumber = signals.stopSignal { throw ExitCode(128 + signalNumber) }
        if summary.errors > 0 { throw ExitCode(1) }
    }

    /// The outcomes `payments_recharge_rows_total` counts.
    static let metricOutcomes = ["succeeded", "declined", "error", "replayed"]

    /// A row's outcome in `payments_recharge_rows_total`: `succeeded` (or authorized, for manual capture),
    /// `declined`, `error`, or `replayed` (an earlier run's outcome, nothing charged by this run).
    static func metricOutcome(_ outcome: OffSessionCharges.Outcome) -> String {
        if outcome.replayed { return "replayed" }
        switch outcome.status {
        case "succeeded", "requires_capture": return "succeeded"
        case "declined": return "declined"
        default: return "error"
        }
    }

    // MARK: - Rows

    /// One input row: a charge to make, or the reason it cannot be.
    struct Row: Sendable {
        var reference: String
        var request: OffSessionCharges.Request?
        var problem: String?
    }

    /// Reads and checks the input file.
    /// - Throws: when the file cannot be read or lacks a required column (exit status 2).
    static func readInput(_ path: String) throws -> [Row] {
        // Foundation reads a device as "permission denied", even one anyone may read (`/dev/null`)
        switch (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType {
        case .typeDirectory?:
            throw ValidationError("cannot read \(path): it is a folder; name the CSV file")
        case .typeCharacterSpecial?, .typeBlockSpecial?, .typeSocket?:
            throw ValidationError(
                "cannot read \(path): it is not a regular file (a device or a socket); name the CSV file"
            )
        default:
            break
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            // With the reason: "cannot read" alone left a missing file and an unreadable one to be told apart
            throw ValidationError("cannot read \(path): \(ServiceSettings.fileProblem(error))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            // A spreadsheet's export in a legacy encoding (Latin-1, Windows-1252) is the usual cause
            throw ValidationError("\(path) is not UTF-8 text; save it as CSV UTF-8 and run again")
        }
        var table: [[CSV.Cell]]
        do {
            table = try CSV.parseCells(text)
        } catch {
            // Not CSV: its rows cannot be told apart reliably (an unclosed quote swallows the ones after it), so no
            // row is charged
            throw ValidationError("\(path): \(error); nothing was charged")
        }
        // Blank lines, and the rows of empty cells a spreadsheet exports (`,,,`), are not rows
        table.removeAll { cells in cells.allSatisfy { $0.value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        }
        guard !table.isEmpty else { throw ValidationError("\(path) is empty; expected a header row") }
        let firstRow = table.removeFirst()
        let header = firstRow.map { $0.value.trimmingCharacters(in: .whitespaces).lowercased() }
        for column in requiredColumns where !header.contains(column) {
            // The first line quoted as written (customer ids are case-sensitive), with a hint when it holds the
            // columns under another separator
            let written = firstRow.map(\.value).joined(separator: ",")
            let separator = [";", "\t"].first { mark in
                requiredColumns.allSatisfy { written.lowercased().contains($0) }
                    && written.contains(mark)
            }
            let hint = separator.map { mark in
                "; its columns are separated by \(mark == "\t" ? "tabs" : "'\(mark)'"), and must be by commas"
            }
            let shown =
                CardNumber.appears(in: written)
                ? "(not shown: it holds a card number)"
                : written.count > 200 ? String(written.prefix(200)) + "..." : written
            throw ValidationError("\(path) has no '\(column)' column (first line: \(shown))\(hint ?? "")")
        }
        // A misspelt column (`payment_method_id`) was ignored, and its rows charged the customer's default card
        // instead of the one named; a repeated one let its first copy win. Either is a file to fix, not to guess at.
        if let unknown = header.first(where: { !columns.contains($0) }) {
            // A card number pasted into the header is named without its digits; an empty name is most often a
            // comma a spreadsheet left at the end of the header
            let name =
                unknown.isEmpty
                ? "with no name (a comma at the end of the header, or two in a row?)"
                : CardNumber.appears(in: unknown) ? "(a card number)" : "'\(unknown)'"
            throw ValidationError(
                "\(path) has an unknown column \(name); the columns are \(columns.joined(separator: ",")); "
                    + "nothing was charged"
            )
        }
        if let repeated = header.enumerated().first(where: { header.firstIndex(of: $0.element) != $0.offset }) {
            throw ValidationError("\(path) has the column '\(repeated.element)' twice; nothing was charged")
        }
        func index(_ name: String) -> Int? { header.firstIndex(of: name) }
        return table.map { cells in
            let fields = cells.map(\.value)
            func value(_ name: String) -> String? {
                guard let i = index(name), i < fields.count else { return nil }
                let text = fields[i].trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : text
            }
            // A card number is never stored in plain text: in a description or a reference it would be, in the
            // intent, its events and the reference's key, and it is repeated in no result
            if let column = zip(header, fields).first(where: { CardNumber.appears(in: $0.1) })?.0 {
                let reference = value("reference").map { CardNumber.appears(in: $0) ? "" : $0 } ?? ""
                return Row(
                    reference: reference,
                    problem: "\(column) looks like a card number; a recharge file names saved cards (customer, "
                        + "payment_method) and never holds card numbers, so this row was not charged"
                )
            }
            let reference = value("reference") ?? ""
            // Fewer fields were charged with the columns after a missing comma shifted: a payment_method read as
            // the description, and the customer's default card charged instead of the one named
            guard fields.count == header.count else {
                return Row(
                    reference: reference,
                    problem:
                        "row has \(fields.count) fields; the header has \(header.count) (a row names every column, "
                        + "empty where it has no value)"
                )
            }
            guard !reference.isEmpty else { return Row(reference: "", problem: "missing reference") }
            guard let customer = value("customer") else {
                return Row(reference: reference, problem: "missing customer")
            }
            // Digits only: `Int64("+1000")` took a sign the error below says an amount has not
            guard let amountText = value("amount"), amountText.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                let amount = Int64(amountText), amount > 0
            else {
                return Row(reference: reference, problem: "amount must be a positive integer in minor units")
            }
            guard let currencyText = value("currency") else {
                return Row(reference: reference, problem: "missing currency")
            }
            guard let currency = Currency(code: currencyText) else {
                return Row(reference: reference, problem: "unknown currency '\(currencyText)'")
            }
            do throws(AmountError) {
                _ = try Money.validateCharge(amount: amount, currency: currency)
            } catch {
                return Row(reference: reference, problem: error.message)
            }
            return Row(
                reference: reference,
                request: .init(
                    customer: customer,
                    amount: amount,
                    currency: currency.code,
                    reference: reference,
                    paymentMethod: value("payment_method"),
                    description: value("description"),
                    referenceReadBefore: index("reference").flatMap { cells[$0].textReadBefore }
                )
            )
        }
    }

    /// Checks the run's output files before anything is charged: each can be written (``OutputFile``), and no two of
    /// the input, the results and the metrics are one file. The results written over the input replaced the only
    /// list of the rows still to charge; the metrics written over the results replaced the results.
    /// - Returns: the results' file and the metrics' file, when named.
    /// - Throws: a `ValidationError` saying which and why (exit status 2).
    static func checkOutputs(input: String, output: String?, metricsFile: String?) throws -> (OutputFile?, OutputFile?)
    {
        let results = try output.map { try OutputFile($0, holding: "the results") }
        let metrics = try metricsFile.map { try OutputFile($0, holding: "the metrics") }
        for file in [results, metrics].compactMap({ $0 }) where file.isSameFile(as: input) {
            throw ValidationError("cannot write to \(file.path): it is the input file \(input); nothing was charged")
        }
        if let results, let metrics, metrics.isSameFile(as: results.target) {
            throw ValidationError(
                "cannot write the metrics to \(metrics.path): the results go to that file; nothing was charged"
            )
        }
        return (results, metrics)
    }

    /// Charges every row, `concurrency` at a time, returning outcomes in input order. Rows repeating an earlier
    /// row's reference run after all others, so they replay its outcome instead of racing it. Once `stopped` says so
    /// no row is started; the rows being charged finish, and those never started are ``notStarted`` error rows.
    static func chargeAll(
        _ rows: [Row],
        charges: OffSessionCharges,
        concurrency: Int,
        progress: Progress,
        stopped: @escaping @Sendable () -> Bool = { false }
    ) async -> [OffSessionCharges.Outcome] {
        var outcomes = [OffSessionCharges.Outcome?](repeating: nil, count: rows.count)
        var seen = Set<String>()
        var firstPass: [Int] = []
        var repeats: [Int] = []
        for (index, row) in rows.enumerated() {
            if let problem = row.problem {
                outcomes[index] = .init(status: "error", error: problem)
                progress.advance(outcomes[index])
            } else if seen.insert(row.reference).inserted {
                firstPass.append(index)
            } else {
                repeats.append(index)
            }
        }
        for batch in [firstPass, repeats] {
            await withTaskGroup(of: (Int, OffSessionCharges.Outcome).self) { group in
                var iterator = batch.makeIterator()
                func addNext() -> Bool {
                    guard !stopped(), let index = iterator.next(), let request = rows[index].request else {
                        return false
                    }
                    group.addTask { (index, await charges.charge(request)) }
                    return true
                }
                for _ in 0..<concurrency where !addNext() { break }
                while let (index, outcome) = await group.next() {
                    outcomes[index] = outcome
                    progress.advance(outcome)
                    _ = addNext()
                }
            }
        }
        return outcomes.map { $0 ?? .init(status: "error", error: notStarted) }
    }

    /// The error of a row a stop signal kept from starting: nothing was charged for it.
    static let notStarted = "not charged: the run was stopped before this row; run the same file again to charge it"

    // MARK: - Summary

    /// The counts printed at the end.
    struct Summary {
        var succeeded = 0
        var declined: [String: Int] = [:]
        var errors = 0
        var replayed = 0

        init(_ outcomes: [OffSessionCharges.Outcome]) {
            for outcome in outcomes {
                if outcome.replayed { replayed += 1 }
                switch outcome.status {
                case "succeeded", "requires_capture": succeeded += 1
                case "declined": declined[outcome.declineCode ?? "unknown", default: 0] += 1
                default: errors += 1
                }
            }
        }

        var text: String {
            let declinedTotal = declined.values.reduce(0, +)
            var lines = ["recharge: \(succeeded) succeeded, \(declinedTotal) declined, \(errors) errors"]
            for (code, count) in declined.sorted(by: { $0.key < $1.key }) {
                lines.append("  declined \(code): \(count)")
            }
            if replayed > 0 {
                // Counted above by their outcome; the metrics file counts them as `replayed` only (what this run did)
                lines.append(
                    "  \(replayed) of these \(replayed == 1 ? "was" : "were") answered by an earlier run or an "
                        + "earlier row with the same reference (replayed: nothing charged or declined again)"
                )
            }
            return lines.joined(separator: "\n") + "\n"
        }
    }
}
