import Logging
import NIOCore
import NIOPosix
import PaymentsCore
import PostgresNIO
import Synchronization

/// The service's store on PostgreSQL: the same ``PaymentStore`` as the SQLite store (`PaymentDatabase`), for
/// deployments that run N `payments serve` instances on one database.
///
/// **Synchronous bodies over an asynchronous driver.** A transaction's body is synchronous (the use cases compose
/// the store's operations with pure rules in between). Each transaction leases one connection from a PostgresNIO
/// `PostgresClient` pool and runs its body on a thread of the store's own `NIOThreadPool`, as many threads as
/// connections, so a thread is always free for a leased connection; each statement is sent on the connection's
/// event loop and that thread waits for its answer. Neither Swift's cooperative pool nor an event loop ever blocks.
/// Statements use the extended protocol with every value a bound parameter (never pasted into the SQL text).
///
/// **The pool is the counterpart of SQLite's group commit.** SQLite has one writer, so the SQLite store folds
/// concurrent writes into shared commits. PostgreSQL takes many transactions at once: up to ``poolSize``
/// (default ``defaultPoolSize``) run side by side, and the server's WAL writer folds their commits into shared
/// flushes (its own group commit).
///
/// **Exactly once across instances.** SQLite serialises all writers; PostgreSQL does not, so the invariants are
/// kept with READ COMMITTED writes and explicit locks rather than by one writer:
/// - compare-and-set updates (`UPDATE … WHERE id = $1 AND status = $2`, counting rows): a second writer waits for
///   the first's commit and re-checks the condition on the committed row, so exactly one wins;
/// - every read of one row by its key inside a write is `FOR NO KEY UPDATE`, so a read-then-write decision (a
///   refund against the charge's refunded total, a payment method's attach state, a key's lease) holds the row
///   until the commit;
/// - a new idempotency key is `INSERT … ON CONFLICT DO NOTHING` then `SELECT … FOR NO KEY UPDATE`: of two begins,
///   one inserts, the other waits for its commit and sees the key in flight;
/// - the unique indexes of the migrations (one succeeded charge per intent, one key per scope);
/// - the sweeper's due queries that take rows from the front of the due set are `FOR NO KEY UPDATE SKIP LOCKED`
///   inside a write, so instances split the due rows and none is handed to two; the ones that page after a
///   position lock nothing (a skipped row would be behind the position), and the rule's lease keeps a second pass
///   away while a row's change re-reads it `FOR NO KEY UPDATE`.
/// A transaction PostgreSQL refuses as a serialization failure (40001) or a deadlock (40P01, two transactions
/// locking rows in opposite orders), or whose session ended before its COMMIT was sent (the connection closed, or
/// the backend was ended: `pg_terminate_backend`, a restart; its transaction ended uncommitted), runs again from the
/// start, on another connection, at most ``maximumAttempts`` times: every write
/// body is safe to re-run, because its only effects outside the transaction are its `afterCommit` and `onRollback`
/// actions; the refused attempt's rollback actions run (it did roll back: the attempt registry's claim made inside
/// a confirm's body is undone) and its commit actions are dropped. A read sees one snapshot, as SQLite's read
/// transactions: one statement alone, or several in `REPEATABLE READ READ ONLY` (``read(_:)``).
///
/// `afterCommit` actions run only once COMMIT answered COMMIT; a COMMIT that fails or answers anything else
/// (PostgreSQL answers ROLLBACK to a failed transaction's COMMIT) is an error, never a success.
public final class PostgresPaymentStore: Sendable {
    /// Where the database is (its URL's parts; the description never shows the password).
    public let settings: PostgresSettings
    /// The migrations `checkReady` requires.
    let migrations: PostgresMigrationSet
    /// The migrations the store's opening applied (``StoreAdministration/migrationsAppliedAtOpen``).
    public let migrationsAppliedAtOpen: [String]
    let client: PostgresClient
    let threads: NIOThreadPool
    /// The pool's background work (`PostgresClient.run()`), cancelled by ``close()``.
    let running: Task<Void, Never>
    /// For PostgresNIO: at least `notice`, so it never logs statements.
    let driverLogger: Logger
    /// How many transactions run at once (connections, and threads running their bodies).
    public let poolSize: Int
    /// How long a transaction waits for a connection before it fails with ``StoreError/unavailable(_:)``.
    public let leaseTimeout: Duration
    /// The transactions waiting for a connection, each failed at ``leaseTimeout`` (see ``DeadlineWatch``).
    private let leaseWatch: DeadlineWatch

    /// Connections (and body threads) unless configured: enough transactions in flight to keep a small server's
    /// WAL writer folding commits, few enough that N instances stay well inside PostgreSQL's default
    /// `max_connections` of 100.
    public static let defaultPoolSize = 8

    /// How many times a transaction runs when PostgreSQL keeps refusing it as conflicting (serialization failure or
    /// deadlock), or its session keeps ending before its COMMIT. Each refusal means another transaction committed
    /// or went on, so a few tries always suffice in practice; a bound keeps a pathological livelock from spinning
    /// forever (it surfaces as ``StoreError/conflict(attempts:)``, or as the last lost session's error).
    public static let maximumAttempts = 5

    /// How long one of the store's sessions may sit idle inside a transaction before PostgreSQL ends it
    /// (`idle_in_transaction_session_timeout`), rolling the transaction back and releasing its row locks.
    ///
    /// A body sends its statements back to back, so a session idles inside a transaction only when its process
    /// stopped answering mid-transaction: paused (`SIGSTOP`, a frozen VM) or starved. Without a limit its locks held
    /// every other instance's requests for those rows, and once they filled that instance's pool, its unrelated
    /// requests and `/health/ready` failed too, until the stopped process went on (found by a cross-process probe).
    /// A stopped process can change nothing: its transaction is gone when it wakes, and its next statement fails.
    public static let defaultIdleTransactionTimeout: Duration = .seconds(5)

    /// How long a statement waits for a lock another session holds (PostgreSQL's `lock_timeout`) before the write
    /// fails as ``StoreError/locked(seconds:)``: Stripe's 429 `lock_timeout`, which its libraries retry with their
    /// key, as SQLite's busy timeout answers a write lock held too long.
    ///
    /// A transaction of this service holds its locks for moments (its statements go back to back, and no network call
    /// runs inside one); one that waits longer waits for someone else's: an admin's `BEGIN ... FOR UPDATE` left open.
    /// Without a limit every request for those rows waited as long as it was held, and once they filled the pool the
    /// instance's other requests failed with a generic 500 after the lease timeout (found by a probe).
    public static let lockTimeout: Duration = .seconds(5)

    /// Opens the store on the database of `settings`, first applying pending migrations (under the migrator's
    /// advisory lock, so N instances starting at once migrate once).
    /// - Parameters:
    ///   - migrationPolicy: what to do about migrations the database has not applied (by default, apply them;
    ///     `payments report` opens what is there, and must change nothing).
    ///   - poolSize: connections in the pool, at least 1.
    ///   - leaseTimeout: how long a transaction waits for a connection (``defaultLeaseTimeout``).
    ///   - idleTransactionTimeout: how long a session may idle inside a transaction
    ///     (``defaultIdleTransactionTimeout``).
    /// - Throws: ``PostgresMigrationError``, or the driver's error when the database cannot be reached.
    public static func open(
        settings: PostgresSettings,
        migrations: PostgresMigrationSet,
        poolSize: Int = defaultPoolSize,
        leaseTimeout: Duration = defaultLeaseTimeout,
        idleTransactionTimeout: Duration = defaultIdleTransactionTimeout,
        migrationPolicy: MigrationPolicy = .apply,
        logger: Logger
    ) async throws -> PostgresPaymentStore {
        var driverLogger = logger
        driverLogger.logLevel = max(logger.logLevel, .notice)
        // One connection first, also when not migrating: a database that cannot be reached (a wrong name, host or
        // password) is said at once, with its reason, instead of after the pool's lease timeout as "no database
        // connection within 10.0 seconds" (`payments report` on a mistyped URL)
        let connection: PostgresConnection
        do {
            connection = try await settings.connect(logger: driverLogger)
        } catch {
            // PSQLError's description hides its cause; say where, never with the password.
            throw StoreError.unavailable("cannot connect to \(settings.redactedURL): \(Self.reason(error))")
        }
        var appliedAtOpen: [String] = []
        do {
            let migrator = PostgresMigrator(migrations: migrations)
            switch migrationPolicy {
            case .apply:
                appliedAtOpen = try await migrator.migrate(on: connection, logger: driverLogger).applied
            case .require:
                let applied = Set(try await migrator.appliedMigrations(on: connection, logger: driverLogger))
                let pending = migrations.migrations.map(\.name).filter { !applied.contains($0) }
                if !pending.isEmpty { throw MigrationsPending(database: settings.redactedURL, pending: pending) }
            case .ignore:
                break
            }
            try await connection.close()
        } catch let error as PSQLError {
            // The migrator's own statements (its table, its lock, its records) and the check of what is applied:
            // PSQLError's description hid the server's reason ("permission denied for schema public", "cannot
            // execute CREATE TABLE in a read-only transaction") behind a generic line.
            try? await connection.close()
            throw StoreError.unavailable(
                "cannot prepare the database \(settings.redactedURL) for the service: \(Self.reason(error))"
            )
        } catch {
            try? await connection.close()
            throw error
        }
        let size = max(1, poolSize)
        var configuration = settings.clientConfiguration()
        configuration.options.maximumConnections = size
        configuration.options.minimumConnections = 0
        func milliseconds(_ duration: Duration) -> Int64 {
            max(1, duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000)
        }
        configuration.options.additionalStartupParameters = [
            // Named in `pg_stat_activity`, where an admin counts connections against `max_connections` or ends one
            ("application_name", PostgresSettings.applicationName),
            ("idle_in_transaction_session_timeout", "\(milliseconds(idleTransactionTimeout))ms"),
            // (the pool's sessions only: the migrations' connection waits as long as another instance migrates)
            ("lock_timeout", "\(milliseconds(lockTimeout))ms"),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: driverLogger)
        // The pool lends connections only while `run()` runs: it runs until ``close()`` cancels it.
        let running = Task { await client.run() }
        let threads = NIOThreadPool(numberOfThreads: size)
        threads.start()
        return PostgresPaymentStore(
            settings: settings,
            migrations: migrations,
            client: client,
            running: running,
            threads: threads,
            driverLogger: driverLogger,
            leaseTimeout: leaseTimeout,
            migrationsAppliedAtOpen: appliedAtOpen
        )
    }

    private init(
        settings: PostgresSettings,
        migrations: PostgresMigrationSet,
        client: PostgresClient,
        running: Task<Void, Never>,
        threads: NIOThreadPool,
        driverLogger: Logger,
        leaseTimeout: Duration,
        migrationsAppliedAtOpen: [String]
    ) {
        self.migrationsAppliedAtOpen = migrationsAppliedAtOpen
        self.settings = settings
        self.migrations = migrations
        self.client = client
        self.running = running
        self.threads = threads
        self.driverLogger = driverLogger
        self.poolSize = threads.numberOfThreads
        self.leaseTimeout = leaseTimeout
        self.leaseWatch = DeadlineWatch(timeout: leaseTimeout)
    }

    /// What went wrong connecting, in words that hold no credentials: the driver's error code and the underlying
    /// socket or TLS error, or the server's message (a refused login, a missing database).
    public static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] { return message }
        return error.underlying.map { "\($0)" } ?? "\(error.code)"
    }

    /// Stops the pool: its connections close and later transactions fail; then the body threads end.
    public func close() async throws {
        running.cancel()
        await running.value
        try await threads.shutdownGracefully()
    }

    // MARK: - Transactions

    /// An attempt PostgreSQL refused as conflicting: the write runs again.
    private struct Conflicted: Error {}

    /// An attempt whose session ended before its COMMIT was sent (see ``PostgresTransaction/sessionLost``): nothing
    /// of it was committed, so it runs again, on another connection; `error` is what its statement failed with.
    private struct SessionLost: Error {
        let error: any Error
    }

    /// Runs `body` in one READ COMMITTED write transaction on a pooled connection, again from the start when
    /// PostgreSQL refuses it as conflicting (see the type's notes); its `afterCommit` actions run once COMMIT
    /// answered, its `onRollback` actions when an attempt rolls back.
    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            let hooks = TransactionHooks()
            do {
                let value = try await transaction(isWrite: true, hooks: hooks, body)
                hooks.committed()
                return value
            } catch is Conflicted {
                hooks.rolledBack()
                guard attempt < Self.maximumAttempts else { throw StoreError.conflict(attempts: attempt) }
                attempt += 1
            } catch let lost as SessionLost {
                hooks.rolledBack()
                guard attempt < Self.maximumAttempts else { throw lost.error }
                try await Self.pauseAfterLostSession(attempt)
                attempt += 1
            } catch {
                hooks.rolledBack()
                throw error
            }
        }
    }

    /// Runs `body` on one snapshot.
    ///
    /// Most reads are one statement (a retrieve by id, a page of a list), and one statement alone sees one snapshot,
    /// so the body first runs outside a transaction: one round trip instead of three (`BEGIN`, the statement,
    /// `COMMIT`). A body that asks for a second statement is stopped there and runs again from the start inside
    /// `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`, where all its statements share one snapshot. A read body
    /// only reads, so running it again changes nothing; its result from the first run, if any, is dropped.
    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await transaction(isWrite: false, hooks: TransactionHooks(), body)
            } catch let lost as SessionLost {
                guard attempt < Self.maximumAttempts else { throw lost.error }
                try await Self.pauseAfterLostSession(attempt)
                attempt += 1
            }
        }
    }

    /// A moment before a transaction whose session ended runs again: the pool learns that a connection closed from
    /// the connection's close future, on its event loop, and a transaction run again at once was handed the closed
    /// connection back (each of its five runs failed at once, in a test). 10 ms, then 20, 30, 40: 100 ms at most.
    private static func pauseAfterLostSession(_ attempt: Int) async throws {
        try await Task.sleep(for: .milliseconds(10 * attempt))
    }

    /// Leases a connection and runs BEGIN, `body` and COMMIT on a body thread.
    ///
    /// The lease waits at most ``leaseTimeout`` (default ``defaultLeaseTimeout``): PostgresNIO's pool keeps a request waiting while it retries a
    /// server that does not answer, and a request must fail (500, `StoreError.unavailable`) rather than hang. Only
    /// the wait is bounded: once a connection is leased the body runs to its end, and a lease that comes after the
    /// timeout runs nothing.
    func transaction<T: Sendable>(
        isWrite: Bool,
        hooks: TransactionHooks,
        _ body: @escaping @Sendable (PostgresTransaction) throws -> T
    ) async throws -> T {
        let (client, threads, logger, timeout) = (client, threads, driverLogger, leaseTimeout)
        let lease = LeaseDeadline()
        // The wait for a connection and the body, in a task of their own that the lease's deadline cancels. (A
        // sleeping task per transaction, raced against this one, cost a task, a timer and a wake-up each; see
        // ``DeadlineWatch``.)
        let leased = Task {
            try await client.withConnection { connection in
                guard lease.claim(.leased) else { throw CancellationError() }
                return try await threads.runIfActive {
                    try Self.run(body, on: connection, isWrite: isWrite, hooks: hooks, logger: logger)
                }
            }
        }
        let ticket = leaseWatch.watch {
            if lease.claim(.timedOut) { leased.cancel() }
        }
        defer { leaseWatch.forget(ticket) }
        do {
            return try await withTaskCancellationHandler {
                try await leased.value
            } onCancel: {
                leased.cancel()
            }
        } catch {
            if lease.timedOut { throw StoreError.unavailable("no database connection within \(timeout)") }
            // Leasing the connection failed (the server is down or refused the login): nothing ran.
            if let error = error as? PSQLError { throw PostgresStoreError.map(error).error }
            throw error
        }
    }

    /// How long a transaction waits for a connection of the pool: far longer than a wait behind busy connections
    /// lasts (a transaction takes milliseconds), and well inside the idempotency lease and the clients' own
    /// timeouts (Stripe's libraries wait 80 s), so a database that does not answer fails requests instead of
    /// holding them.
    public static let defaultLeaseTimeout: Duration = .seconds(10)

    /// Which came first for one transaction: its connection, or the end of ``leaseTimeout``.
    final class LeaseDeadline: Sendable {
        enum State { case waiting, leased, timedOut }
        private let state = Mutex(State.waiting)

        /// Whether the deadline came before a connection.
        var timedOut: Bool { state.withLock { $0 == .timedOut } }

        /// Moves from waiting to `outcome`; false when the other outcome came first.
        func claim(_ outcome: State) -> Bool {
            state.withLock { state in
                guard state == .waiting else { return false }
                state = outcome
                return true
            }
        }
    }

    /// One attempt, on the calling (body) thread.
    ///
    /// A read runs first outside a transaction, then (when it asked for a second statement) in REPEATABLE READ, or
    /// (when it asked for a list of events, which must take ``PostgresTransaction/eventOrderLock`` before its
    /// snapshot) in READ COMMITTED.
    private static func run<T>(
        _ body: (PostgresTransaction) throws -> T,
        on connection: PostgresConnection,
        isWrite: Bool,
        hooks: TransactionHooks,
        logger: Logger
    ) throws -> T {
        var ordersEvents = false
        if !isWrite {
            let alone = PostgresTransaction(
                connection: connection,
                hooks: hooks,
                isWrite: false,
                firstStatementAlone: true,
                logger: logger
            )
            do {
                let value = try body(alone)
                if !alone.needsSnapshot && !alone.needsEventOrder { return value }
            } catch {
                if alone.sessionLost { throw SessionLost(error: error) }
                if !alone.needsSnapshot && !alone.needsEventOrder { throw error }
            }
            ordersEvents = alone.needsEventOrder
        }
        do {
            return try runInTransaction(
                body,
                on: connection,
                isWrite: isWrite,
                ordersEvents: ordersEvents,
                hooks: hooks,
                logger: logger
            )
        } catch is PostgresTransaction.EventOrderNeeded where !ordersEvents {
            // A snapshot read that listed events after another statement
            return try runInTransaction(
                body,
                on: connection,
                isWrite: false,
                ordersEvents: true,
                hooks: hooks,
                logger: logger
            )
        }
    }

    /// BEGIN, `body` (then the events it recorded) and COMMIT; ROLLBACK when anything fails.
    private static func runInTransaction<T>(
        _ body: (PostgresTransaction) throws -> T,
        on connection: PostgresConnection,
        isWrite: Bool,
        ordersEvents: Bool,
        hooks: TransactionHooks,
        logger: Logger
    ) throws -> T {
        let tx = PostgresTransaction(
            connection: connection,
            hooks: hooks,
            isWrite: isWrite,
            ordersEvents: ordersEvents,
            logger: logger
        )
        do {
            try tx.execute(
                isWrite
                    ? "BEGIN ISOLATION LEVEL READ COMMITTED"
                    : ordersEvents
                        ? "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
                        : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            )
        } catch {
            // (a connection the pool lent closed: nothing began)
            if tx.sessionLost { throw SessionLost(error: error) }
            throw error
        }
        var commitSent = false
        do {
            let value = try body(tx)
            try tx.writeEventsInCommitOrder()
            // (a body that caught a statement's error and went on may reach here on a session that has ended)
            if tx.sessionLost { throw StoreError.unavailable("the database session ended inside the transaction") }
            commitSent = true
            let answer = try tx.query("COMMIT").metadata.command
            guard answer == "COMMIT" else { throw PostgresStoreError.notCommitted(answer) }
            return value
        } catch {
            do {
                try tx.execute("ROLLBACK")
            } catch {
                // The connection is broken or stuck mid-transaction: close it, so the pool never lends it again.
                let _: EventLoopFuture<Void> = connection.close()
            }
            if tx.conflicted { throw Conflicted() }
            // A session that ended before COMMIT went out took its transaction with it, uncommitted: safe to run
            // again. One that ended while COMMIT was on its way may have committed: that error is the caller's.
            if tx.sessionLost, !commitSent { throw SessionLost(error: error) }
            // Ended while COMMIT was on its way: committed or not, nobody knows. A generic 500 told a client
            // without a key to retry, and the sweeper then completed the first payment too (a probe's proxy)
            if tx.sessionLost { throw StoreError.commitUnknown(String(describing: error)) }
            throw error
        }
    }
}
