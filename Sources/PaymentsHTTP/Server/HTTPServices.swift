import Payments
import PaymentsCore
import Prometheus

/// Everything the routes use: the use cases, the keys, the catalogue and the public base URL.
public struct HTTPServices: Sendable {
    public let context: PaymentsContext
    public let keys: APIKeys
    public let catalog: Catalog
    public let intents: PaymentIntents
    public let setupIntents: SetupIntents
    public let paymentMethods: PaymentMethods
    public let customers: Customers
    public let refunds: Refunds
    public let events: Events
    public let charges: Charges
    public let lookup: Lookup
    /// The owner of idempotency keys and their leases.
    public let idempotency: IdempotencyKeys
    /// The folder of the checkout's static files (`Public/`), or nil to serve none.
    public let publicFolder: String?
    /// The registry `GET /metrics` shows (the one the process bootstrapped swift-metrics with); nil serves none.
    public let metrics: PrometheusCollectorRegistry?
    /// What one request may be, and the per-client rate limit (see ``HTTPLimits``).
    public var limits = HTTPLimits() {
        didSet { rateLimiter = RateLimiter(limits) }
    }
    /// The per-client token buckets of ``limits``; nil while the rate limit is off. Tests set one on a clock of
    /// their own.
    public var rateLimiter: RateLimiter?
    /// What `GET /health/ready` answers; its store check defaults to a write transaction that changes nothing.
    public var readiness: Readiness

    /// Creates the services over a use-case context.
    public init(
        context: PaymentsContext,
        keys: APIKeys,
        catalog: Catalog,
        publicFolder: String? = nil,
        metrics: PrometheusCollectorRegistry? = nil
    ) {
        self.publicFolder = publicFolder
        self.metrics = metrics
        self.idempotency = IdempotencyKeys(context: context)
        self.context = context
        self.keys = keys
        self.catalog = catalog
        self.intents = PaymentIntents(context: context)
        self.setupIntents = SetupIntents(context: context)
        self.paymentMethods = PaymentMethods(context: context)
        self.customers = Customers(context: context)
        self.refunds = Refunds(context: context)
        self.events = Events(context: context)
        self.charges = Charges(context: context)
        self.lookup = Lookup(database: context.database)
        let database = context.database
        self.readiness = Readiness { try await database.write { _ in () } }
    }

    /// The public base URL of the server, without a trailing slash.
    public var baseURL: String { context.settings.publicBaseURL }
}
