import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import NIOCore
import Payments
import PaymentsCore
import PaymentsHTTP
import PaymentsLogging
import PaymentsStore
import Prometheus
import ServiceLifecycle

/// `payments serve`: migrates, then runs the application (`buildApplication`: start-up recovery, HTTP, sweeper)
/// until SIGINT/SIGTERM, when it drains gracefully within `shutdownGracePeriod` (see ``GracefulDrain``).
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the HTTP API, the checkout and the 3-D Secure pages (the default command)."
    )

    @OptionGroup var options: DatabaseOptions

    @Option(name: .long, help: "The address to listen on (default 127.0.0.1, or PAYMENTS_HOST).")
    var host: String?

    // Unconditional: `--port -1` was "Missing value for '--port <port>'" (the parser took -1 for an option), where
    // the settings' own check says which ports there are
    @Option(
        name: .long,
        parsing: .unconditional,
        help: "The port to listen on (default 4242, or PAYMENTS_PORT; 0 picks a free one)."
    )
    var port: Int?

    func run() async throws {
        // First: a stop signal during the start-up is kept, not the process killed halfway through it
        let signals = StartupSignals()
        MemoryAllocator.configureForServer()
        // swift-metrics goes to one Prometheus registry, which `GET /metrics` shows; bootstrapped before anything
        // makes its metrics (the database's group commit does, as it opens).
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        ServiceMetrics.startAtZero()
        var loaded = try await ServiceSettings.load(
            .init(
                config: options.config,
                db: options.db,
                host: host,
                port: port,
                migrations: options.migrations,
                databaseURL: options.databaseURL,
                logsUnknownSettings: true
            )
        )
        // Every logger made from here on (the service's, Hummingbird's and the service group's) writes the chosen
        // format at the chosen level; a setting that names neither is refused before anything starts.
        do {
            LogOutput.bootstrap(
                format: try LogOutput.format(loaded.logFormat),
                level: try LogOutput.level(loaded.logLevel)
            )
        } catch let error as LogOutput.InvalidSetting {
            throw ServiceSettings.SettingsError.invalid(error.description)
        }
        // A host that names no address is refused before anything is opened: NIO's words at bind
        // (`SocketAddressError.UnknownHost: Name or service not known (error -2) for host 999.1.1.1, port 4242`)
        // named no setting, and came after the database and the ledger were made
        try Self.resolveHost(loaded.host, port: loaded.port)
        // A port another server holds (the old release's, still running at an upgrade) is refused before the
        // database is opened: the bind came after the migrations, the start-up's recovery (a charge at the network)
        // and a sweeper pass, and its refusal read as if nothing had happened
        if PortCheck.inUse(host: loaded.host, port: loaded.port) { throw Self.portInUse(loaded) }
        if loaded.port == 0 {
            // Pick the free port now, so the challenge URLs built from it name the port actually served.
            loaded.port = try FreePort.find(host: loaded.host)
        }
        let settings = loaded
        // An open files limit too small to serve is refused before the database is opened, as a port in use is
        let (files, connections) = try Self.connectionsWithinOpenFilesLimit(settings)
        // Before anything starts an event loop (the PostgreSQL pool, the HTTP server): SwiftNIO takes it only then.
        NIOSingletons.groupLoopCountSuggestion = settings.eventLoops
        // An IPv6 address goes in brackets in a URL (`http://[::1]:4242`). A host that names every address (refused
        // without publicBaseURL in production) gives links to this machine's loopback, which a browser can open.
        let linkHost =
            ServiceSettings.isWildcard(settings.host)
            ? (settings.host.contains(":") ? "::1" : "127.0.0.1") : settings.host
        let host = linkHost.contains(":") ? "[\(linkHost)]" : linkHost
        let base = settings.publicBaseURL ?? "http://\(host):\(settings.port)"
        try await Bootstrap.faultInjector(settings.faultPoint, action: settings.faultAction).reach(.beforeMigrations)
        let bootstrap = try await Bootstrap(
            settings: settings,
            publicBaseURL: base.hasSuffix("/") ? String(base.dropLast()) : base
        )
        for sentence in settings.unknownSettings { bootstrap.logger.warning("\(sentence)") }
        if signals.stopRequested { return try await Self.stopBeforeServing(bootstrap) }
        // A folder that is not there serves nothing: the checkout, its script and its styles answer 404. Said at
        // start, as the API works without them (a merchant may use only the API).
        var isFolder: ObjCBool = false
        if !FileManager.default.fileExists(atPath: settings.publicFolder, isDirectory: &isFolder) || !isFolder.boolValue
        {
            bootstrap.logger.warning(
                "the checkout's files folder does not exist: /checkout/ and its files answer 404",
                metadata: [
                    "public_folder": "\(settings.publicFolder)", "setting": "publicFolder (PAYMENTS_PUBLIC_FOLDER)",
                ]
            )
        }
        var services = HTTPServices(
            context: bootstrap.context,
            keys: APIKeys(secret: settings.secretKeys, publishable: settings.publishableKeys),
            catalog: settings.catalog,
            publicFolder: settings.publicFolder,
            metrics: registry
        )
        services.limits = settings.limits
        let (database, network) = (bootstrap.store, bootstrap.network)
        // The files whose file system must keep `minimumFreeDisk` free: the SQLite database's, and the ledger's
        let stored = (settings.databaseURL == nil ? [settings.db] : []) + [settings.networkLedger]
        let minimumFreeDisk = Int64(settings.minimumFreeDisk)
        services.readiness = Readiness {
            // A full disk fails every payment, while the check's own small write could still pass between them
            for file in stored where minimumFreeDisk > 0 {
                if let free = DiskSpace.available(beside: file), free < minimumFreeDisk {
                    throw Readiness.Failure(reason: "disk_full")
                }
            }
            do {
                try await database.checkReady()
            } catch StoreReadinessProblem.migrationsPending {
                throw Readiness.Failure(reason: "migrations_pending")
            } catch StoreReadinessProblem.databaseMissing {
                throw Readiness.Failure(reason: "database_missing")
            } catch StoreReadinessProblem.databaseLogMissing {
                throw Readiness.Failure(reason: "database_log_missing")
            }
            // The ledger's file or its log removed or replaced under the server: every payment fails at the network
            switch await network.displaced() {
            case .database?: throw Readiness.Failure(reason: "card_network_missing")
            case .log?: throw Readiness.Failure(reason: "card_network_log_missing")
            case nil: break
            }
            // The card network's ledger is a file of its own, maybe on its own disk: when its commits fail for the
            // disk every payment fails (a 5xx, card_network_unavailable) while the database above takes its write,
            // and the check passed between the failures (a probe on a full disk)
            if await network.recentDiskFailure(within: .seconds(5)) {
                throw Readiness.Failure(reason: "card_network_unwritable")
            }
            // Another process holds the ledger's write lock (an admin's open write transaction): the same
            if network.recentLockOut(within: .seconds(5)) {
                throw Readiness.Failure(reason: "card_network_locked")
            }
        }
        // The write-ahead logs' sizes at each scrape: a log grows while a long read (an admin's open `sqlite3`
        // transaction) keeps it from starting over, and nothing showed it
        let logs =
            (settings.databaseURL == nil ? [("payments", settings.db)] : []) + [
                ("card-network", settings.networkLedger)
            ]
        services.beforeMetricsScrape = {
            for (database, file) in logs {
                let size = (try? FileManager.default.attributesOfItem(atPath: file + "-wal"))?[.size] as? Int ?? 0
                Gauge(label: "payments_wal_bytes", dimensions: [("database", database)]).record(size)
            }
        }
        // Only the built-in development keys are printed (they are public anyway); configured keys never are.
        let developmentKeys =
            settings.secretKeys == [ServiceSettings.developmentSecretKey]
            && settings.publishableKeys == [ServiceSettings.developmentPublishableKey]
        let newerMigrations = try await bootstrap.store.unknownMigrations()
        let appliedNow = bootstrap.store.migrationsAppliedAtOpen
        if !appliedNow.isEmpty {
            // When the schema changed, in the log as well as on the start lines
            bootstrap.logger.notice(
                "applied migrations",
                metadata: ["migrations": .array(appliedNow.map { .string($0) })]
            )
        }
        if let files, let connections {
            bootstrap.logger.info(
                "connections held at once: at most \(connections), within the open files limit",
                metadata: ["open_files_limit": .stringConvertible(files)]
            )
        }
        let app = buildApplication(
            .init(
                host: settings.host,
                port: settings.port,
                sweepInterval: settings.sweepInterval,
                maximumConnections: connections
            ),
            services: services,
            logger: bootstrap.logger
        ) { started in
            // The URL a browser on this machine opens; a wildcard host is said to be every address, and a public URL
            // named (the line showed 127.0.0.1 alone for a server bound to 0.0.0.0, as if it were local only: a probe)
            var notes = ["database \(settings.databaseName)"]
            if ServiceSettings.isWildcard(settings.host) {
                notes.append("bound to every address, \(settings.host)")
            }
            if let publicBaseURL = settings.publicBaseURL { notes.append("public URL \(publicBaseURL)") }
            var lines = [
                "payments listening on http://\(host):\(started.port) (\(notes.joined(separator: "; ")))"
            ]
            if !appliedNow.isEmpty {
                lines.append("applied \(appliedNow.count) migration(s): \(appliedNow.joined(separator: ", "))")
            }
            if let note = MigrateCommand.newerBuildNote(newerMigrations) { lines.append(note) }
            // Pending at start: left by a crash, or in flight in another process on the database (a recharge)
            if started.recovery.settled > 0 {
                lines.append("settled \(started.recovery.settled) pending attempt(s) with the card network")
            }
            if started.recovery.left > 0 {
                lines.append(
                    "\(started.recovery.left) pending attempt(s) could not be settled yet; the sweeper retries"
                )
            }
            if started.recovery.refundsSettled > 0 {
                lines.append("settled \(started.recovery.refundsSettled) pending refund(s) with the card network")
            }
            if started.recovery.refundsLeft > 0 {
                lines.append(
                    "\(started.recovery.refundsLeft) pending refund(s) could not be settled yet; the sweeper retries"
                )
            }
            if developmentKeys {
                lines.append(
                    "development keys: secret \(ServiceSettings.developmentSecretKey)  publishable "
                        + "\(ServiceSettings.developmentPublishableKey)"
                )
            } else {
                lines.append("API keys: configured (not shown)")
                // Keys given as lists alone leave the config file's single development key in use beside them: say
                // so, as the development keys are said whenever they work (they are public)
                let accepted = [
                    ("secret", ServiceSettings.developmentSecretKey, settings.secretKeys, "PAYMENTS_SECRET_KEY"),
                    (
                        "publishable", ServiceSettings.developmentPublishableKey, settings.publishableKeys,
                        "PAYMENTS_PUBLISHABLE_KEY"
                    ),
                ].filter { $0.2.contains($0.1) }
                for (kind, key, _, setting) in accepted {
                    lines.append(
                        "the development \(kind) key is accepted too: \(key) (set \(setting) to empty to refuse it)"
                    )
                }
            }
            // Written straight to the file descriptor so scripts waiting for this line see it at once.
            // Not stopped by an output that is gone: its logs go to standard error
            StandardOutput.writeAll(lines.joined(separator: "\n") + "\n")
        }
        // SIGTERM and SIGINT drain the server (see GracefulDrain) within the grace period, then it exits 0. So does
        // SIGHUP: the terminal or ssh session that started it closed (its default action killed the process, cutting
        // the requests in flight); the service has nothing to reload.
        let drain = GracefulDrain(
            base: app,
            readiness: services.readiness,
            gracePeriod: settings.shutdownGracePeriod,
            logger: bootstrap.logger
        )
        let group = ServiceGroup(
            configuration: .init(
                services: [drain],
                gracefulShutdownSignals: [.sigterm, .sigint, .sighup],
                logger: bootstrap.logger
            )
        )
        guard signals.handOver(to: group, logger: bootstrap.logger) else {
            return try await Self.stopBeforeServing(bootstrap)
        }
        do {
            try await group.run()
        } catch is StoppedBeforeServing {
            return try await Self.stopBeforeServing(bootstrap)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            // Taken between the check before the database and the bind. NIO's words (`bind(descriptor:ptr:bytes:):
            // Address already in use) (errno: 98)`) named neither the address nor the setting
            throw Self.portInUse(settings, afterStart: true)
        } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL {
            // An address, but another machine's: NIO's words (`Cannot assign requested address`) named no setting
            throw ServiceSettings.SettingsError.invalid(
                "Cannot listen on \(settings.host):\(settings.port): \(settings.host) is not an address of this "
                    + "machine. \(Self.hostAdvice)"
            )
        }
        // Drained: no request is in flight
        try await Self.close(bootstrap)
    }

    /// The refusal of a port another process listens on, naming the address and the setting; `afterStart` when the
    /// database was opened (and migrated, and its pending attempts settled) before the bind found it taken.
    static func portInUse(_ settings: ServiceSettings, afterStart: Bool = false) -> ServiceSettings.SettingsError {
        .invalid(
            "Cannot listen on \(settings.host):\(settings.port): another process is listening there. Stop it, or "
                + "choose another port (--port, PAYMENTS_PORT; 0 lets the system pick a free one). "
                + (afterStart
                    ? "The database was opened before the port was taken: its migrations and start-up recovery ran."
                    : "Nothing was changed.")
        )
    }

    /// Raises the open files limit (``OpenFilesLimit``) and says how many connections to hold within it; refuses a
    /// limit that leaves fewer than ``OpenFilesLimit/minimumConnections`` beside the service's own files.
    /// - Returns: the limit and the connections, nil where the limit cannot be read or is unlimited.
    static func connectionsWithinOpenFilesLimit(_ settings: ServiceSettings) throws -> (Int?, Int?) {
        guard let files = OpenFilesLimit.raise(), files != Int.max else { return (nil, nil) }
        let pool = settings.databaseURL == nil ? 0 : settings.databasePoolSize
        let headroom = OpenFilesLimit.headroom(readers: PaymentDatabase.readerCount, poolConnections: pool)
        let inUse = OpenFilesLimit.openNow() ?? 0
        let connections = OpenFilesLimit.connections(files: files, inUse: inUse, headroom: headroom)
        guard connections >= OpenFilesLimit.minimumConnections else {
            throw ServiceSettings.SettingsError.invalid(
                "The open files limit (\(files), soft and hard) is too small to serve: the service has \(inUse) files "
                    + "open and keeps \(headroom) for the ones it opens (its databases, their readers, logs"
                    + (pool > 0 ? ", the PostgreSQL pool's \(pool) connections" : "")
                    + "), which leaves room for \(max(0, connections)) connections, fewer than "
                    + "\(OpenFilesLimit.minimumConnections). Raise the limit to at least "
                    + "\(files - connections + OpenFilesLimit.minimumConnections) (ulimit -n, or LimitNOFILE in a "
                    + "systemd unit)"
                    + (pool > 0 ? ", or make the pool smaller (databasePoolSize, PAYMENTS_DATABASE_POOL_SIZE)" : "")
                    + ". Nothing was changed."
            )
        }
        return (files, connections)
    }

    /// What to set when the host cannot be listened on.
    static let hostAdvice =
        "Set the address to listen on (--host, PAYMENTS_HOST) to one of this machine's: 127.0.0.1 (the default), "
        + "::1, or 0.0.0.0 for every interface."

    /// Refuses a host that is neither an IP address nor a name this machine resolves, naming it and its setting.
    static func resolveHost(_ host: String, port: Int) throws {
        guard !host.allSatisfy(\.isWhitespace) else {
            // (`PAYMENTS_HOST=` was "Cannot listen on :4242:  is neither an IP address nor a name ...")
            throw ServiceSettings.SettingsError.invalid("The address to listen on is set empty. \(hostAdvice)")
        }
        do {
            _ = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch let error as SocketAddressError.UnknownHost {
            // Port 0 is picked after this check: the address alone, then
            let address = port == 0 ? host : "\(host):\(port)"
            throw ServiceSettings.SettingsError.invalid(
                "Cannot listen on \(address): \(host) is neither an IP address nor a name this machine resolves "
                    + "(\(error.errorDescription)). \(hostAdvice)"
            )
        }
    }

    /// Ends a `serve` whose stop signal came during its start-up, before it served: the start-up's step finished (the
    /// database is migrated), the files are closed as at a clean stop, and the command exits 0.
    static func stopBeforeServing(_ bootstrap: Bootstrap) async throws {
        bootstrap.logger.info("stopped before serving: a stop signal came during start-up (the database is migrated)")
        try await close(bootstrap)
    }

    /// Closes the store (PostgreSQL's pool closes cleanly with no request in flight) and copies the SQLite files'
    /// logs into them, so that each file alone holds what was committed.
    ///
    /// Emptying a log is a tidy-up, not a write of anything new: what was committed is in the log and stays there
    /// for the next open. So a log that cannot be emptied (the copy needs room in the file, and the disk is full) is
    /// a warning, and the stop stays clean (it exited 1, which a supervisor records as a failed stop).
    static func close(_ bootstrap: Bootstrap) async throws {
        try await bootstrap.store.close()
        let logs: [(file: String, empty: () async throws -> Void)] = [
            ("the database", { try await bootstrap.sqlite?.emptyLogAtStop() }),
            ("the card network's ledger", { try await bootstrap.network.emptyLogAtStop() }),
        ]
        for log in logs {
            do {
                try await log.empty()
            } catch StoreError.unavailable(let reason) {
                // The file was removed or replaced: the log was kept on purpose, and the operator must know why
                bootstrap.logger.error("\(reason)")
            } catch {
                bootstrap.logger.warning(
                    """
                    could not copy the write-ahead log into \(log.file) at stop; the committed writes stay in the log \
                    (its -wal file: keep it beside the file), and the next start copies them
                    """,
                    metadata: ["error": "\(error)"]
                )
            }
        }
    }
}
