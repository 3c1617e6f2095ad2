import Hummingbird
import Logging
import Payments
import ServiceLifecycle
import Synchronization

/// Where and how the application serves.
public struct ApplicationSettings: Sendable {
    /// The address to listen on.
    public var host: String
    /// The port to listen on; 0 lets the system pick one.
    public var port: Int
    /// Seconds between the sweeper's passes; 0 turns the sweeper off (tests move time themselves).
    public var sweepInterval: Int
    /// The most connections held at once (nil: no limit): more wait in the listen backlog until one closes.
    public var maximumConnections: Int?

    /// Creates settings.
    public init(host: String = "127.0.0.1", port: Int = 4242, sweepInterval: Int = 60, maximumConnections: Int? = nil) {
        self.host = host
        self.port = port
        self.sweepInterval = sweepInterval
        self.maximumConnections = maximumConnections
    }
}

/// What `onServerRunning` learns once the server takes requests.
public struct ServerStarted: Sendable {
    /// The port the server listens on (the one the system picked, for port 0).
    public var port: Int
    /// What the start-up recovery settled, and left for the sweeper.
    public var recovery: StartupRecovery.Outcome
}

/// Builds the service's application: the router over `services`, the sweeper beside it in one service group,
/// and the start-up recovery of pending attempts before the server takes its first request.
///
/// `payments serve` runs what this returns, and the HTTP tests drive the same application, so both exercise the
/// same wiring.
public func buildApplication(
    _ settings: ApplicationSettings,
    services: HTTPServices,
    logger: Logger,
    onServerRunning: @escaping @Sendable (ServerStarted) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let recovery = Mutex(StartupRecovery.Outcome())
    var application = Application(
        router: buildRouter(services: services),
        // The parser's own limits: twice the request limits, so a request up to them (and somewhat beyond) reaches
        // RequestLimitsMiddleware and gets a Stripe-style 431, while one far beyond is refused by the parser itself
        // (a bare 400, connection closed) before the server holds it.
        server: .http1(
            configuration: .init(
                additionalChannelHandlers: [
                    RequestArrivalHandler(
                        deadline: services.limits.connectionIdleTimeout,
                        maxBodyBytes: services.limits.maxBodyBytes
                    )
                ],
                idleTimeout: services.limits.connectionIdleTimeout,
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: services.limits.parserHeaderBytes,
                    maxHeaderListSize: services.limits.parserHeaderBytes,
                    maxHeaderFieldCount: services.limits.parserHeaderCount
                )
            )
        ),
        configuration: .init(
            address: .hostname(settings.host, port: settings.port),
            serverName: "payments",
            availableConnectionsDelegate: settings.maximumConnections.map { .maximum($0, logger: logger) }
        ),
        services: [SweeperService(context: services.context, intervalSeconds: settings.sweepInterval)],
        onServerRunning: { channel in
            let outcome = recovery.withLock { $0 }
            await onServerRunning(ServerStarted(port: channel.localAddress?.port ?? settings.port, recovery: outcome))
        },
        logger: logger
    )
    application.beforeServerStarts {
        try await services.keys.adoptLegacyIdempotencyScopes(services.idempotency)
        let outcome = try await StartupRecovery(context: services.context).run()
        recovery.withLock { $0 = outcome }
        // A stop signal that came during the recovery (settling pending attempts waits for the card network): the
        // server listened, said so on standard output for a moment, and stopped; a script waiting for that line
        // was told it was serving
        if Task.isShuttingDownGracefully { throw StoppedBeforeServing() }
    }
    return application
}

/// Thrown instead of listening when a stop signal came during the start-up's recovery: the process stops cleanly,
/// having served nothing.
public struct StoppedBeforeServing: Error {
    public init() {}
}
