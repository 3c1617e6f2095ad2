/// What the commands need of a store beyond the use cases' ``PaymentStore``: readiness, the migrations applied, the
/// admin reports and a clean shutdown. The SQLite store (`PaymentDatabase`) and the PostgreSQL store
/// (`PostgresPaymentStore`) both provide it, so that `payments serve`, `migrate` and `report` hold
/// `any StoreAdministration` and never know which database they run on.
public protocol StoreAdministration: PaymentStore {
    /// The database as start lines and messages name it: a file's path, or a URL without its password.
    var displayName: String { get }

    /// Checks that the database takes requests now: every migration applied, and a write transaction that changes
    /// nothing commits.
    /// - Throws: ``StoreReadinessProblem/migrationsPending``, or the database's error.
    func checkReady() async throws

    /// The migrations applied to the database, in the order they were applied.
    func appliedMigrations() async throws -> [String]

    /// The migrations this store applied when it opened, in order (empty when the database was up to date, or when
    /// it was opened without migrating): what `migrate` and `serve` report, so an operator sees when the schema
    /// changed.
    var migrationsAppliedAtOpen: [String] { get }

    /// The migrations applied to the database that this build does not have, sorted: a newer build's. They are left
    /// alone (an older instance runs beside a newer one during a rolling deploy), and `migrate` and `serve` say so.
    func unknownMigrations() async throws -> [String]

    /// The names of the reports (views named `report_*`, without the prefix), sorted.
    func reportNames() async throws -> [String]

    /// Runs the report `name` (with or without `report_`) on one snapshot.
    /// - Throws: ``ReportError/unknownReport(_:available:)`` unless `name` is one of ``reportNames()``.
    func report(_ name: String) async throws -> ReportTable

    /// Ends the store's work: waits for transactions in flight, then closes its connections.
    func close() async throws
}

/// Why a store is not ready for requests.
public enum StoreReadinessProblem: Error, Sendable, Equatable {
    /// A migration this process knows is not applied to the database (it was replaced or restored underneath).
    case migrationsPending
    /// The database's file is no longer at its path (deleted, moved, or replaced by another file while the process
    /// runs): writes still commit to the open file, and are lost with it when the process ends.
    case databaseMissing
    /// The database's write-ahead log (its `-wal` file) is no longer the one the process opened (deleted or replaced
    /// while it runs): the same, for the log; what the open log holds is copied into the database file.
    case databaseLogMissing
}
