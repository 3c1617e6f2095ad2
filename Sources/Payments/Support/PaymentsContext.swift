import Logging
import PaymentsCore

/// What every use case needs: the database, the card network, the time, ids and the service's settings.
public struct PaymentsContext: Sendable {
    /// Where the state lives (the SQLite store by default), as the use cases see it: each write transaction
    /// made while a request holds a new idempotency key claims that key first (see ``KeyClaim``), and records the
    /// events of the changes it makes (see ``EventRecordingTransaction``).
    public let database: any PaymentStore
    /// Seals and opens card numbers, and keys the fingerprints of cards and requests.
    public let vault: CardVault
    /// The card network, each call limited to ``Settings/networkTimeout``.
    public let network: any CardNetwork
    public private(set) var clock: UnixClock
    /// The real time, where `clock` is a time given in its place (`payments sweep --now`): what events are stamped
    /// with, and what a network's answer recorded by such a pass is dated with. `clock` otherwise.
    public let realClock: UnixClock
    public let ids: IDGenerator
    public let settings: Settings
    /// Where the use cases log: the service's logger, or a request's (``logging(to:)``), which names the request.
    public private(set) var logger: Logger
    /// The attempts this process is waiting on the network for.
    public let attempts: AttemptRegistry
    /// Crash-test hooks; inert in normal runs.
    public let faults: FaultInjector
    /// The finished idempotency keys this process has read, so their replays skip the database.
    public let finishedKeys: FinishedKeys
    /// Keeps the leases of this process's requests in flight alive.
    public let leaseRenewal: LeaseRenewal

    /// Settings the use cases follow.
    public struct Settings: Sendable {
        /// How long after a confirmation attempt the customer and server have to finish it (seconds). Stripe's
        /// seed guide: confirm again within one hour.
        public var confirmationWindow: Int64
        /// The absolute base URL of this server, for the 3-D Secure challenge page's address.
        public var publicBaseURL: String
        /// How long a request's idempotency key (or recharge reference) stays held after its holder was last heard
        /// of, before anyone else may take it over (seconds). A live request renews its lease every third of its
        /// length less one second (``LeaseRenewal``), however long it runs; a crashed one keeps its key at most this
        /// long, so retries after a crash get 409 for up to this long.
        public var idempotencyLease: Int64
        /// How long a card network call may take before the request gives up on it (it stays resumable).
        public var networkTimeout: Duration
        /// How long a sweeper pass holds a rule's lease (seconds) before anyone else may take it over
        /// (``Sweeper``): renewed between batches, released when the rule is done; a pass that died keeps its
        /// rules this long.
        public var sweeperLease: Int64
        /// How long a request keeps trying to record what the card network has already done for it (a capture, a
        /// cancel's release) while the store refuses the write for a passing reason, before it answers the error and
        /// leaves the record to the background (``PaymentIntents/recordingNetworkOutcome(of:done:_:later:)``).
        public var outcomePatience: Duration

        /// The default lease: 6 s. A key left by a crash is free again within it, before the official libraries'
        /// retries give up (with `max_network_retries=5`, their waits add up to 6.25 to 12.5 s); a live request,
        /// renewing every 1.67 s, keeps its key through two missed renewals.
        public static let defaultIdempotencyLease: Int64 = 6
        /// The default network timeout: 10 s, far above the network's usual answer (milliseconds).
        public static let defaultNetworkTimeout: Duration = .seconds(10)
        /// The default sweeper lease: 30 s, far above a batch's time (milliseconds; a batch's network calls are
        /// renewed under it as they go), while a rule left by a killed pass is free again within half a minute.
        public static let defaultSweeperLease: Int64 = 30
        /// The default patience: 20 s, three of SQLite's 5 s lock waits and more, well inside the official
        /// libraries' 80 s request timeout.
        public static let defaultOutcomePatience: Duration = .seconds(20)

        /// Creates settings.
        public init(
            confirmationWindow: Int64 = 3600,
            publicBaseURL: String,
            idempotencyLease: Int64 = Settings.defaultIdempotencyLease,
            networkTimeout: Duration = Settings.defaultNetworkTimeout,
            sweeperLease: Int64 = Settings.defaultSweeperLease,
            outcomePatience: Duration = Settings.defaultOutcomePatience
        ) {
            self.confirmationWindow = confirmationWindow
            self.publicBaseURL = publicBaseURL
            self.idempotencyLease = idempotencyLease
            self.networkTimeout = networkTimeout
            self.sweeperLease = max(1, sweeperLease)
            self.outcomePatience = outcomePatience
        }
    }

    /// Creates a context.
    /// - Parameter eventClock: the clock the events are stamped with, when not `clock`: `payments sweep --now` decides
    ///   as of its given time, while its events say when they were written. An event's `created` never goes back
    ///   in commit order (each is raised to the newest stored), so one event stamped in the future would stamp every
    ///   later event with that time.
    public init(
        database: any PaymentStore,
        vault: CardVault,
        network: any CardNetwork,
        clock: UnixClock,
        ids: IDGenerator = .secure,
        settings: Settings,
        logger: Logger = Logger(label: "payments"),
        faults: FaultInjector = .inert,
        eventClock: UnixClock? = nil
    ) {
        self.faults = faults
        // Writes claim the running request's new idempotency key first (``KeyClaim``) and record their events; a
        // context made from another's store wraps the underlying store once.
        self.database = UseCaseStore(
            base: (database as? UseCaseStore)?.base ?? database,
            ids: ids,
            clock: eventClock ?? clock
        )
        self.vault = vault
        // A context made from another's network (`payments sweep --now`) limits the underlying network once.
        let base = (network as? TimeLimitedCardNetwork)?.base ?? network
        let store = self.database
        self.network = TimeLimitedCardNetwork(
            base: base,
            timeout: settings.networkTimeout,
            logger: logger,
            claimKey: { try await store.claimPendingKey() }
        )
        self.clock = clock
        self.realClock = eventClock ?? clock
        self.ids = ids
        self.settings = settings
        self.logger = logger
        self.attempts = AttemptRegistry()
        self.finishedKeys = FinishedKeys()
        self.leaseRenewal = LeaseRenewal(
            store: (database as? UseCaseStore)?.base ?? database,
            clock: clock,
            lease: settings.idempotencyLease,
            networkTimeout: settings.networkTimeout,
            logger: logger
        )
    }
}

extension PaymentsContext {
    /// This context, logging to `logger`: the HTTP layer hands a use case the request's logger this way, so the
    /// lines the use case logs carry the request's id. Everything else (the store, the network, the attempt
    /// registry) is the same.
    public func logging(to logger: Logger) -> PaymentsContext {
        var copy = self
        copy.logger = logger
        return copy
    }

    /// This context, telling the real time (``realClock``): for what records the network's answers, which happen
    /// now whatever time a pass treats as now. Shares everything else, this process's attempts in flight included.
    public func inRealTime() -> PaymentsContext {
        var copy = self
        copy.clock = realClock
        return copy
    }
}
