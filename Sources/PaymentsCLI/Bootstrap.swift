import Foundation
import Logging
import Payments
import PaymentsCore
import PaymentsHTTP
import PaymentsNetwork
import PaymentsStore

/// Opens what every command needs from the resolved settings: the database (migrated), the card network and the
/// use-case context.
struct Bootstrap {
    let settings: ServiceSettings
    let database: PaymentDatabase
    let network: TestModeCardNetwork
    let context: PaymentsContext
    let logger: Logger

    /// Opens the database and the network ledger, applying pending migrations.
    init(settings: ServiceSettings, publicBaseURL: String, label: String = "payments") throws {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: settings.logLevel) ?? .info
        let vault = try CardVault(base64Key: settings.vaultKey)
        let migrations = try MigrationSet(folder: settings.migrations)
        let database = try PaymentDatabase(
            path: settings.db,
            migrations: migrations,
            vault: vault,
            synchronous: settings.synchronous == "NORMAL" ? .normal : .full,
            groupCommit: settings.groupCommit
        )
        let network = try TestModeCardNetwork(
            ledgerPath: settings.networkLedger,
            latency: .milliseconds(max(0, settings.networkLatency))
        )
        self.settings = settings
        self.database = database
        self.network = network
        self.logger = logger
        self.context = PaymentsContext(
            database: database,
            network: network,
            clock: UnixClock { Int64(Date().timeIntervalSince1970) },
            settings: .init(confirmationWindow: settings.confirmationWindow, publicBaseURL: publicBaseURL),
            logger: logger,
            faults: Self.faultInjector(settings.faultPoint)
        )
    }

    /// Crash tests' fault point: debug builds only, so a release binary can never be told to die mid-payment.
    static func faultInjector(_ point: String?) -> FaultInjector {
        #if DEBUG
            guard let point, let armed = FaultInjector.Point(rawValue: point) else { return .inert }
            return FaultInjector(armed: armed) { reached in
                FileHandle.standardError.write(Data("fault injected at \(reached.rawValue)\n".utf8))
                kill(getpid(), SIGKILL)
            }
        #else
            return .inert
        #endif
    }

    /// Settles the attempts a crash left pending, by asking the network again under the same attempt ids.
    /// - Returns: how many were settled.
    func recoverPendingAttempts() async throws -> Int {
        let intents = PaymentIntents(context: context)
        // In batches until none is left, so the server takes requests only once nothing is pending; each settled
        // attempt stops being pending, so every batch is new work.
        let batch = 1000
        var settled = 0
        while true {
            let orphans = try await intents.orphanedAttempts(limit: batch)
            for charge in orphans {
                let (intent, _) = try await intents.recover(charge: charge)
                logger.notice(
                    "recovered a pending attempt",
                    metadata: [
                        "charge": .string(charge), "payment_intent": .string(intent.id),
                        "status": .string(intent.status.rawValue),
                    ]
                )
            }
            settled += orphans.count
            if orphans.count < batch { return settled }
        }
    }
}
