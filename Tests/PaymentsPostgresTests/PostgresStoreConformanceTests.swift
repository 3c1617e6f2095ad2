import PaymentsCore
import PaymentsPostgres
import Synchronization
import TestSupport
import Testing

/// The store conformance suite (``StoreConformance``) against the PostgreSQL store: a fresh database per check on
/// the suite's cluster; checks of two instances open a second store (its own pool) on the same database.
@Suite("PostgreSQL store conformance", .postgresCluster)
struct PostgresStoreConformanceTests {
    @Test("Conforms", arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        let settings = try await PostgresCluster.freshDatabase()
        let migrations = try PostgresMigrationSet(folder: PostgresCluster.migrations)
        let store = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: migrations,
            logger: PostgresCluster.logger
        )
        let second = SecondStore()
        do {
            try await check.run(store) {
                let opened = try await PostgresPaymentStore.open(
                    settings: settings,
                    migrations: migrations,
                    logger: PostgresCluster.logger
                )
                second.set(opened)
                return opened
            }
        } catch {
            try? await second.close()
            try? await store.close()
            throw error
        }
        try await second.close()
        try await store.close()
    }
}

/// The second instance a check opened, closed after the check.
final class SecondStore: Sendable {
    private let store = Mutex<PostgresPaymentStore?>(nil)

    func set(_ opened: PostgresPaymentStore) { store.withLock { $0 = opened } }

    func close() async throws {
        try await store.withLock { $0 }?.close()
    }
}
