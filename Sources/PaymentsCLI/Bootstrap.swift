import ArgumentParser
import Foundation
import Logging
import Payments
import PaymentsCore
import PaymentsHTTP
import PaymentsNetwork
import PaymentsPostgres
import PaymentsSQLite
import PaymentsStore
import Synchronization

/// Opens what every command needs from the resolved settings: the database (migrated), the card network and the
/// use-case context.
///
/// The store is the PostgreSQL one when `databaseURL` is set, the SQLite file otherwise; the use cases, the HTTP
/// layer and the commands hold it as `any StoreAdministration` and never know which.
struct Bootstrap {
    let settings: ServiceSettings
    /// The store every command works on.
    let store: any StoreAdministration
    /// The SQLite store, when that is the store: for what only SQLite has (`sweep --explain`'s query plans).
    let sqlite: PaymentDatabase?
    let network: TestModeCardNetwork
    let context: PaymentsContext
    let logger: Logger

    /// Opens the database and the network ledger, applying pending migrations, and the card vault with its keys
    /// and the database's fingerprint keys.
    /// - Parameters:
    ///   - existing: for the commands that work on a database that already holds the service's data (`sweep`,
    ///     `recharge`; the `vault` commands through ``openVault(_:label:)``): a SQLite file that does not exist is
    ///     refused (``requireDatabase(_:command:)``) instead of made empty.
    init(
        settings: ServiceSettings,
        publicBaseURL: String,
        label: String = "payments",
        existing: Bool = false
    ) async throws {
        let (store, logger) = try await Self.openData(settings, label: label, existing: existing)
        // A ledger that does not hold the database's payments is refused, before an empty one is made for it
        let approved = try await Self.newestApprovedCharges(of: store)
        if !FileManager.default.fileExists(atPath: settings.networkLedger) {
            try Self.refuseForeignLedger(nil, approved: approved, of: store, path: settings.networkLedger)
        }
        let network = try TestModeCardNetwork(
            ledgerPath: settings.networkLedger,
            latency: .milliseconds(max(0, settings.networkLatency)),
            writerNiceness: settings.writerNiceness
        )
        try Self.refuseForeignLedger(network, approved: approved, of: store, path: settings.networkLedger)
        if let warning = try await Self.unknownToTheDatabase(network, of: store, path: settings.networkLedger) {
            // In the log, which every command writes to standard error (printed besides, it came twice)
            logger.warning("\(warning)")
        }
        let vault = try await Self.loadVault(settings, store: store)
        self.settings = settings
        self.store = store
        self.sqlite = store as? PaymentDatabase
        self.network = network
        self.logger = logger
        self.context = PaymentsContext(
            database: store,
            vault: vault,
            network: network,
            clock: UnixClock { Int64(Date().timeIntervalSince1970) },
            settings: .init(
                confirmationWindow: settings.confirmationWindow,
                publicBaseURL: publicBaseURL,
                idempotencyLease: settings.idempotencyLease,
                networkTimeout: .milliseconds(Int64(settings.networkTimeout * 1000)),
                sweeperLease: settings.sweeperLease
            ),
            logger: logger,
            faults: Self.faultInjector(settings.faultPoint, action: settings.faultAction)
        )
    }

    /// What the `vault` commands work on: the store (migrated, as ``init(settings:publicBaseURL:label:existing:)`` opens
    /// it), the card vault with its keys, and the fault point. Not the card network's ledger: opening it made an
    /// empty `card-network.sqlite` beside the database, and a `sweep` or `serve` there then found a ledger that did not
    /// hold the database's payments instead of none.
    static func openVault(_ settings: ServiceSettings, label: String) async throws -> (
        store: any StoreAdministration, vault: CardVault, faults: FaultInjector
    ) {
        let (store, _) = try await openData(settings, label: label, existing: true)
        let vault = try await loadVault(settings, store: store)
        return (store, vault, faultInjector(settings.faultPoint, action: settings.faultAction))
    }

    /// The store of a command on existing data, opened without its vault (``openData(_:label:existing:)``).
    static func openExisting(_ settings: ServiceSettings, label: String) async throws -> any StoreAdministration {
        try await openData(settings, label: label, existing: true).store
    }

    /// The store, opened and migrated, with the command's logger (`existing`: refusing a SQLite file that does not
    /// exist, ``requireDatabase(_:command:)``, and one with migrations still to apply, exit status 2).
    private static func openData(_ settings: ServiceSettings, label: String, existing: Bool) async throws -> (
        store: any StoreAdministration, logger: Logger
    ) {
        if existing { try requireDatabase(settings, command: label.replacingOccurrences(of: ".", with: " ")) }
        // A write past a file size limit (`ulimit -f`) fails with EFBIG, which SQLite reports, instead of killing the
        // process with SIGXFSZ in the middle of a commit
        signal(SIGXFSZ, SIG_IGN)
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        // The commands on existing data leave migrating to `migrate` and `serve`: a cron job's `sweep` (or a `vault
        // status`) with a new version's binary rebuilt tables beside the old version's running server, saying nothing
        do {
            return (try await openStore(settings, logger: logger, migrations: existing ? .require : .apply), logger)
        } catch let pending as MigrationsPending {
            FileHandle.standardError.write(
                Data("\(label.replacingOccurrences(of: ".", with: " ")): \(pending)\n".utf8)
            )
            throw ExitCode(2)
        }
    }

    /// The card vault with the configured keys and the database's fingerprint keys.
    private static func loadVault(_ settings: ServiceSettings, store: any StoreAdministration) async throws -> CardVault
    {
        try await CardVault.load(currentKey: settings.vaultKey, oldKeys: settings.vaultOldKeys, store: store)
    }

    /// The newest approved charges of `store` (of its newest 100): each has its authorization in the card network's
    /// ledger, which records an approval before the database does (``refuseForeignLedger(_:approved:of:path:)``).
    static func newestApprovedCharges(of store: any StoreAdministration) async throws -> [String] {
        try await store.read { tx in
            try tx.charges(customer: nil, paymentIntent: nil, created: nil, page: PageRequest(limit: 100)).items
                .filter { $0.authorizationCode != nil }.map(\.id)
        }
    }

    /// Refuses a card network ledger that does not hold the database's `approved` charges (a ledger `network` nil
    /// does not exist yet). A database imported without its ledger started on an empty one, and the network then
    /// answered a capture of an approved authorization as released, canceling the intent, and failed every refund
    /// after recording it pending.
    static func refuseForeignLedger(
        _ network: TestModeCardNetwork?,
        approved: [String],
        of store: any StoreAdministration,
        path: String
    ) throws {
        guard !approved.isEmpty else { return }
        let known = try network?.approvedAttempts(approved) ?? []
        let missing = approved.filter { !known.contains($0) }
        guard let first = missing.first else { return }
        let problem =
            network == nil
            ? "does not exist, and \(store.displayName) holds approved charges (\(first) among them)"
            : "does not hold \(missing.count) of the \(approved.count) newest approved charges of \(store.displayName) "
                + "(\(first) among them)"
        throw ServiceSettings.SettingsError.invalid(
            "The card network's ledger \(path) \(problem): it is not this database's ledger, or a copy older than the "
                + "database's (a backup must copy the database first, then the ledger). After `payments import`, copy "
                + "the ledger (card-network.sqlite) of the server the archive came from beside the database, or name "
                + "it with networkLedger (PAYMENTS_NETWORK_LEDGER). Captures, cancels and refunds of these payments "
                + "cannot be made without it."
        )
    }

    /// A warning when the ledger's newest approved authorizations (of its 100 newest) include some the database has no
    /// charge for; nil otherwise. A charge is written before the network is asked for it, so every approval has one:
    /// one missing means the database lost rows the ledger kept, as a database restored from a backup older than the
    /// ledger does. It started without a word, and a client retrying a payment made after the backup with its key
    /// paid again. Not refused: restoring an older backup may be the operator's only way on.
    static func unknownToTheDatabase(
        _ network: TestModeCardNetwork,
        of store: any StoreAdministration,
        path: String
    ) async throws -> String? {
        let newest = try network.newestApprovedAttempts(limit: 100)
        guard !newest.isEmpty else { return nil }
        let unknown = try await store.read { tx in try newest.filter { try tx.charge($0) == nil } }
        guard let first = unknown.first else { return nil }
        let hasCharges = try await store.read { tx in
            try !tx.charges(customer: nil, paymentIntent: nil, created: nil, page: PageRequest(limit: 1)).items.isEmpty
        }
        if !hasCharges {
            // A database with no payment at all beside a ledger with approvals: not a backup older than the ledger
            // (which the warning below said of a new database), but another database's ledger, most often that of
            // another database in the same folder, whose default ledger this is too (a probe)
            return "the card network's ledger \(path) holds approved charges (\(first) among them) and "
                + "\(store.displayName) holds none: the ledger is shared with another database, most likely one in the "
                + "same folder (every database uses card-network.sqlite beside it unless networkLedger, "
                + "PAYMENTS_NETWORK_LEDGER, names another). Sharing it is safe; to keep this database's approvals "
                + "apart, give it a ledger of its own, or a folder of its own."
        }
        return
            "the card network's ledger \(path) holds \(unknown.count) of its \(newest.count) newest approved charges "
            + "that \(store.displayName) does not have (\(first) among them): the database was restored from a backup "
            + "older than the ledger, or lost recent writes. Those payments are unknown here: a client retrying one "
            + "with its Idempotency-Key pays again, and they cannot be captured, canceled or refunded through this "
            + "service. Restore the database and the ledger from the same backup (the database copied first) if you "
            + "can."
    }

    /// Opens the store the settings select: PostgreSQL at `databaseURL` with the migrations of `migrations/postgres`,
    /// or the SQLite file `db` with those of `migrations`.
    ///
    /// A migrations folder that lacks the newest migration this build's code needs (an older release's folder) is
    /// refused before the database is opened (``RequiredMigrations``), unless the migrations are ignored.
    /// - Parameter migrations: what to do about migrations the database has not applied: apply them (`migrate`,
    ///   `serve`), refuse to go on (the commands on existing data), or ignore them (`payments report`, which reads
    ///   without migrating, and so needs no migrations folder on PostgreSQL).
    static func openStore(_ settings: ServiceSettings, logger: Logger, migrations: MigrationPolicy = .apply)
        async throws -> any StoreAdministration
    {
        if let url = settings.databaseURL {
            // Opened without migrating (`payments report`), it reads the migrations from nowhere: a report run
            // outside the repository's folder failed for want of its migrations, as the SQLite one did not
            var set = PostgresMigrationSet.none
            if migrations != .ignore {
                set = try PostgresMigrationSet(folder: settings.postgresMigrations)
                try RequiredMigrations.check(set, folder: settings.postgresMigrations)
            }
            return try await PostgresPaymentStore.open(
                settings: url,
                migrations: set,
                poolSize: settings.databasePoolSize,
                migrationPolicy: migrations,
                logger: logger
            )
        }
        let set = try MigrationSet(folder: settings.migrations)
        if migrations != .ignore { try RequiredMigrations.check(set, folder: settings.migrations) }
        return try PaymentDatabase(
            path: settings.db,
            migrations: set,
            synchronous: settings.synchronous == "NORMAL" ? .normal : .full,
            groupCommit: settings.groupCommit,
            writerNiceness: settings.writerNiceness,
            migrationPolicy: migrations
        )
    }

    /// Crash tests' fault point: debug builds only, so a release binary can never be told to die mid-payment.
    ///
    /// - Parameter action: `kill` (the default) kills the process with SIGKILL at the point, every time; `fail`
    ///   makes the step there fail once with ``PaymentError/cardNetworkUnavailable(_:)``, as a network that does
    ///   not answer; `pause` waits 100 ms there, every time, so a test can overlap something with a batch job
    ///   that would otherwise finish first; `block` holds the thread that got there for 20 s, every time, as a
    ///   request stuck in synchronous work does (so a test can hold every thread of Swift's cooperative pool);
    ///   `hold:FILE` keeps whatever got there waiting until FILE exists, every time, so a test decides exactly how
    ///   long a request stays in flight instead of betting on a slow network outlasting a busy machine's stalls.
    static func faultInjector(_ point: String?, action: String?) -> FaultInjector {
        #if DEBUG
            guard let point, let armed = FaultInjector.Point(rawValue: point) else { return .inert }
            if let action, action.hasPrefix("hold:") {
                let file = String(action.dropFirst("hold:".count))
                return FaultInjector(armed: armed) { reached in
                    FileHandle.standardError.write(Data("fault point \(reached.rawValue): holding\n".utf8))
                    while !FileManager.default.fileExists(atPath: file) { try await Task.sleep(for: .milliseconds(10)) }
                }
            }
            if action == "pause" {
                return FaultInjector(armed: armed) { _ in try await Task.sleep(for: .milliseconds(100)) }
            }
            if action == "block" {
                return FaultInjector(armed: armed) { _ in _ = sleep(20) }
            }
            if action == "fail" {
                let fired = Mutex(false)
                return FaultInjector(armed: armed) { reached in
                    let first = fired.withLock { done in
                        defer { done = true }
                        return !done
                    }
                    guard first else { return }
                    FileHandle.standardError.write(Data("fault injected at \(reached.rawValue): failing\n".utf8))
                    throw PaymentError.cardNetworkUnavailable("fault injected at \(reached.rawValue)")
                }
            }
            return FaultInjector(armed: armed) { reached in
                FileHandle.standardError.write(Data("fault injected at \(reached.rawValue)\n".utf8))
                kill(getpid(), SIGKILL)
            }
        #else
            return .inert
        #endif
    }

    /// Refuses a SQLite database that does not exist: a mistyped `--db` made a new empty database (and its card
    /// network ledger) beside the real one, and the command reported nothing to do with exit status 0. A cron sweep
    /// pointed there never swept; `vault status` said no card was sealed under an old key, the step before removing
    /// it. Prints why and exits with status 2, as `report` and `export` refuse such a path.
    static func requireDatabase(_ settings: ServiceSettings, command: String) throws {
        guard settings.databaseURL == nil else { return }
        try requireDatabaseFile(settings.db, command: command)
    }

    /// ``requireDatabase(_:command:)`` for the SQLite file at `path`.
    static func requireDatabaseFile(_ path: String, command: String) throws {
        // A removed file whose log is still there is that, not a database to create by starting the server
        try SQLiteFilePath.refuseOrphanedLog(path, role: "The database (--db, PAYMENTS_DB)")
        guard !FileManager.default.fileExists(atPath: path) else { return }
        FileHandle.standardError.write(
            Data(
                ("\(command): there is no database at '\(path)'. Pass --db (or set PAYMENTS_DB) to the "
                    + "service's database, or start the server once to create it. Nothing was changed.\n").utf8
            )
        )
        throw ExitCode(2)
    }
}
