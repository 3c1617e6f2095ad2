import Payments
import PaymentsCore
import Prometheus

/// Everything the routes use: the use cases, the keys, the catalogue and the public base URL.
///
/// The services that never change sit in one shared object (``Shared``), so that copying the value (which Swift does
/// into the frame of every asynchronous handler and middleware that holds it) retains one reference instead of
/// each use case's context: the copies and releases of the full struct were 3% of a retrieve's CPU in `perf`.
public struct HTTPServices: Sendable {
    /// The services fixed at start.
    final class Shared: Sendable {
        let context: PaymentsContext
        let keys: APIKeys
        let catalog: Catalog
        let intents: PaymentIntents
        let setupIntents: SetupIntents
        let paymentMethods: PaymentMethods
        let customers: Customers
        let refunds: Refunds
        let events: Events
        let charges: Charges
        let lookup: Lookup
        let idempotency: IdempotencyKeys
        let publicFolder: String?
        let metrics: PrometheusCollectorRegistry?

        init(
            context: PaymentsContext,
            keys: APIKeys,
            catalog: Catalog,
            publicFolder: String?,
            metrics: PrometheusCollectorRegistry?
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
        }
    }

    private let shared: Shared

    public var context: PaymentsContext { shared.context }
    public var keys: APIKeys { shared.keys }
    public var catalog: Catalog { shared.catalog }
    public var intents: PaymentIntents { shared.intents }
    public var setupIntents: SetupIntents { shared.setupIntents }
    public var paymentMethods: PaymentMethods { shared.paymentMethods }
    public var customers: Customers { shared.customers }
    public var refunds: Refunds { shared.refunds }
    public var events: Events { shared.events }
    public var charges: Charges { shared.charges }
    public var lookup: Lookup { shared.lookup }
    /// The owner of idempotency keys and their leases.
    public var idempotency: IdempotencyKeys { shared.idempotency }
    /// The folder of the checkout's static files (`Public/`), or nil to serve none.
    public var publicFolder: String? { shared.publicFolder }
    /// The registry `GET /metrics` shows (the one the process bootstrapped swift-metrics with); nil serves none.
    public var metrics: PrometheusCollectorRegistry? { shared.metrics }
    /// What one request may be, and the per-client rate limit (see ``HTTPLimits``).
    public var limits = HTTPLimits() {
        didSet { rateLimiter = RateLimiter(limits) }
    }
    /// The per-client token buckets of ``limits``; nil while the rate limit is off. Tests set one on a clock of
    /// their own.
    public var rateLimiter: RateLimiter?
    /// What `GET /health/ready` answers; its store check defaults to a write transaction that changes nothing.
    public var readiness: Readiness
    /// Records the figures read at each scrape of `GET /metrics` (the write-ahead logs' sizes), before it answers.
    public var beforeMetricsScrape: (@Sendable () -> Void)? = nil

    /// Creates the services over a use-case context.
    public init(
        context: PaymentsContext,
        keys: APIKeys,
        catalog: Catalog,
        publicFolder: String? = nil,
        metrics: PrometheusCollectorRegistry? = nil
    ) {
        self.shared = Shared(
            context: context,
            keys: keys,
            catalog: catalog,
            publicFolder: publicFolder,
            metrics: metrics
        )
        let database = context.database
        self.readiness = Readiness { try await database.write { _ in () } }
    }

    /// The public base URL of the server, without a trailing slash.
    public var baseURL: String { context.settings.publicBaseURL }
}
