import ArgumentParser
import Foundation
import Payments
import PaymentsCore
import PaymentsStore

/// `payments sweep`: one sweeper pass, as of now or of `--now`, then prints what it did.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run one sweeper pass and exit.",
        discussion: """
            Expires confirmation attempts (of payments and of card setups) left past the confirmation window, \
            cancels authorizations left uncaptured for 7 days, prunes idempotency keys older than 24 hours and \
            events older than 30 days, settles attempts and refunds a crash left pending, and asks the card network \
            again about refunds whose status it said would change (test cards 4000000000007726 and \
            4000000000005126). Safe to run beside a running server: each rule runs in one pass at a time, and a rule \
            another pass holds (its lease, PAYMENTS_SWEEPER_LEASE seconds) is skipped and named.
            """
    )

    @OptionGroup var options: DatabaseOptions

    // Unconditional: the argument after --now is its value even when it starts with a dash (`--now -1h`, a time
    // before now), which the parser otherwise took for an option and answered "Missing value for '--now <now>'"
    @Option(
        name: .long,
        parsing: .unconditional,
        help: """
            The time the pass treats as now: unix seconds, ISO 8601, or a time from now such as +2m, +7d or -1h \
            (default: the current time).
            """
    )
    var now: TimeArgument?

    @Flag(name: .long, help: "Print each rule's query plan (SQLite's EXPLAIN QUERY PLAN) instead of sweeping.")
    var explain = false

    @Option(
        name: .long,
        help: """
            Rows per batch, and so per write transaction; smaller batches hold the write lock for less time beside a \
            busy server.
            """
    )
    var batchSize: Int = Sweeper.defaultBatchSize

    /// The largest batch: a transaction of a million rows already holds the write lock for seconds beside a server.
    static let batchSizeLimit = 1_000_000

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1.") }
        guard batchSize <= Self.batchSizeLimit else {
            throw ValidationError("--batch-size must be at most \(Self.batchSizeLimit).")
        }
        if let now, !now.isInBounds(now: Int64(Date().timeIntervalSince1970)) {
            throw ValidationError("--now must fall between 1970-01-01 and 9999-12-31 UTC.")
        }
    }

    func run() async throws {
        MemoryAllocator.configureForServer()
        let settings = try await ServiceSettings.load(
            options.overrides
        )
        let bootstrap = try await Bootstrap(
            settings: settings,
            publicBaseURL: "",
            label: "payments.sweep",
            existing: true
        )
        if explain {
            guard let sqlite = bootstrap.sqlite else {
                FileHandle.standardError.write(
                    Data(
                        ("payments sweep --explain prints SQLite's query plans; it is not available on PostgreSQL "
                            + "(run EXPLAIN on the queries in psql instead).\n").utf8
                    )
                )
                throw ExitCode.failure
            }
            for query in SweeperQuery.allCases {
                print("\(query.rawValue) (index \(query.index)):")
                for line in try await sqlite.queryPlan(query) { print("  \(line)") }
            }
            return
        }
        var context = bootstrap.context
        // The rules' leases are taken in real time, whatever time the pass treats as now.
        let holder = SweeperLeaseHolder(seconds: context.settings.sweeperLease, clock: context.clock)
        if let now {
            // What the pass writes (failed attempts' times, cancellations) is stamped with the given time; its events
            // with the real one, when they were written (see `PaymentsContext.init`'s `eventClock`).
            context = PaymentsContext(
                database: context.database,
                vault: context.vault,
                network: context.network,
                clock: .fixed(now.seconds(now: context.clock.now())),
                settings: context.settings,
                logger: context.logger,
                faults: context.faults,
                eventClock: context.clock
            )
        }
        let time = context.clock.now()
        let started = ContinuousClock.now
        let report: SweepReport
        do {
            report = try await Sweeper(context: context, batchSize: batchSize, holder: holder).sweep(now: time)
        } catch let error where Self.isLockTimeout(error) {
            // A command, not a request: the API's advice about idempotency keys and PaymentIntents is no answer here
            FileHandle.standardError.write(
                Data(
                    ("payments sweep: another process held the database's write lock (an admin's open write "
                        + "transaction, say) for longer than the sweep waits for it (5 s). What the pass wrote before "
                        + "stands, and nothing is done twice: run it again once the lock is free.\n").utf8
                )
            )
            throw ExitCode.failure
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let lines: [(String, String)] = [
            ("attempts expired", "\(report.attemptsExpired)"),
            ("setup attempts expired", "\(report.setupAttemptsExpired)"),
            ("authorizations canceled", "\(report.authorizationsCanceled)"),
            // Expired authorizations the network had captured (a capture whose write a crash lost): recorded as
            // captured, which the summary left out
            ("captures recorded", "\(report.capturesRecorded)"),
            ("idempotency keys pruned", "\(report.idempotencyKeysPruned)"),
            ("pending charges recovered", "\(report.pendingChargesRecovered)"),
            // Captures and cancels the network made for requests that did not record them (they were counted as
            // pending charges recovered)
            ("settlements recorded", "\(report.settlementsRecorded)"),
            ("pending refunds settled", "\(report.pendingRefundsSettled)"),
            ("refunds updated", "\(report.refundsUpdated)"),
            ("events pruned", "\(report.eventsPruned)"),
            ("skipped", "\(report.skipped)"),
            ("rows examined", "\(report.examined)"),
            ("rules skipped", "\(report.rulesSkipped.count)"),
            ("time", String(format: "%.1f ms", milliseconds)),
        ]
        let width = lines.map(\.0.count).max() ?? 0
        var text = "sweep as of \(TimeArgument.iso8601(time)) (\(time)) on \(settings.databaseName)\n"
        for (label, value) in lines {
            text += "  " + label + ":" + String(repeating: " ", count: width - label.count + 1) + value + "\n"
        }
        if !report.rulesSkipped.isEmpty {
            text += "  leased elsewhere: " + report.rulesSkipped.map(\.rawValue).joined(separator: ", ") + "\n"
        }
        if report.skipped > 0 {
            // A pass that left due rows (on a full disk, every one) exited 0, so a cron job could not tell it from one
            // that did its work (a probe)
            text +=
                "  \(report.skipped) due row(s) left for a later pass: the card network did not answer, or the "
                + "answer could not be written (the log above says which); nothing was done twice. Run the sweep "
                + "again once that is mended.\n"
        }
        try StandardOutput.write(text, command: "sweep")
        if report.skipped > 0 { throw ExitCode.failure }
    }

    /// Whether `error` is a write lock another process held past the store's wait, as the store or the use cases
    /// (which turn it into the API's `lock_timeout`) throw it.
    static func isLockTimeout(_ error: any Error) -> Bool {
        if let store = error as? StoreError, case .locked = store { return true }
        return (error as? PaymentError)?.code == PaymentError.lockTimeoutCode
    }
}
