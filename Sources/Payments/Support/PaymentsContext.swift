import Logging
import PaymentsCore
import PaymentsStore

/// What every use case needs: the database, the card network, the time, ids and the service's settings.
public struct PaymentsContext: Sendable {
    public let database: PaymentDatabase
    public let network: any CardNetwork
    public let clock: UnixClock
    public let ids: IDGenerator
    public let settings: Settings
    public let logger: Logger
    /// The attempts this process is waiting on the network for.
    public let attempts: AttemptRegistry
    /// Crash-test hooks; inert in normal runs.
    public let faults: FaultInjector

    /// Settings the use cases follow.
    public struct Settings: Sendable {
        /// How long after a confirmation attempt the customer and server have to finish it (seconds). Stripe's
        /// seed guide: confirm again within one hour.
        public var confirmationWindow: Int64
        /// The absolute base URL of this server, for the 3-D Secure challenge page's address.
        public var publicBaseURL: String

        /// Creates settings.
        public init(confirmationWindow: Int64 = 3600, publicBaseURL: String) {
            self.confirmationWindow = confirmationWindow
            self.publicBaseURL = publicBaseURL
        }
    }

    /// Creates a context.
    public init(
        database: PaymentDatabase,
        network: any CardNetwork,
        clock: UnixClock,
        ids: IDGenerator = .secure,
        settings: Settings,
        logger: Logger = Logger(label: "payments"),
        faults: FaultInjector = .inert
    ) {
        self.faults = faults
        self.database = database
        self.network = network
        self.clock = clock
        self.ids = ids
        self.settings = settings
        self.logger = logger
        self.attempts = AttemptRegistry()
    }
}
