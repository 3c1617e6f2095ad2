import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import PaymentsStore

/// A real SQLite database, ledger and use-case context in a fresh temporary folder.
public struct TestEnvironment: Sendable {
    public let folder: URL
    public let database: PaymentDatabase
    public let network: TestModeCardNetwork
    public let clock: TestClock
    public let context: PaymentsContext

    /// The development vault key the tests use.
    public static let vaultKey = "ZGV2ZWxvcG1lbnQtdmF1bHQta2V5LWRvLW5vdC11c2U="
    /// The base URL the tests' challenge links use.
    public static let baseURL = "http://127.0.0.1:4242"

    /// Opens a fresh environment.
    public init(
        confirmationWindow: Int64 = 3600,
        clock: TestClock = TestClock(),
        ids: IDGenerator = .secure,
        network: (any CardNetwork)? = nil,
        idempotencyLease: Int64 = PaymentsContext.Settings.defaultIdempotencyLease,
        outcomePatience: Duration = PaymentsContext.Settings.defaultOutcomePatience,
        faults: FaultInjector = .inert
    ) throws {
        let folder = try TestPaths.temporaryFolder()
        let database = try PaymentDatabase(
            path: folder.appendingPathComponent("payments.sqlite").path,
            migrations: MigrationSet(folder: TestPaths.migrations)
        )
        let ledger = try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("card-network.sqlite").path)
        self.folder = folder
        self.database = database
        self.network = ledger
        self.clock = clock
        self.context = PaymentsContext(
            database: database,
            vault: try CardVault(base64Key: Self.vaultKey),
            network: network ?? ledger,
            clock: clock.unixClock,
            ids: ids,
            settings: .init(
                confirmationWindow: confirmationWindow,
                publicBaseURL: Self.baseURL,
                idempotencyLease: idempotencyLease,
                outcomePatience: outcomePatience
            ),
            faults: faults
        )
    }

    /// The intents use case over this environment.
    public var intents: PaymentIntents { PaymentIntents(context: context) }
    /// The setup intents use case over this environment.
    public var setupIntents: SetupIntents { SetupIntents(context: context) }
    /// The payment methods use case over this environment.
    public var paymentMethods: PaymentMethods { PaymentMethods(context: context) }
    /// The owner of idempotency keys over this environment.
    public var idempotency: IdempotencyKeys { IdempotencyKeys(context: context) }
    /// The customers use case over this environment.
    public var customers: Customers { Customers(context: context) }
    /// The refunds use case over this environment.
    public var refunds: Refunds { Refunds(context: context) }

    /// This environment's context with its database behind `store` (a wrapper that fails as a test needs), and
    /// `faults` armed: its vault, network, clock and settings.
    public func context(over store: any PaymentStore, faults: FaultInjector = .inert) -> PaymentsContext {
        PaymentsContext(
            database: store,
            vault: context.vault,
            network: context.network,
            clock: clock.unixClock,
            settings: context.settings,
            faults: faults
        )
    }
}
