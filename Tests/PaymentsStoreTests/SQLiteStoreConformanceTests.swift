import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

/// The store conformance suite (``StoreConformance``) against the SQLite store: a fresh database file per check.
@Suite("SQLite store conformance")
struct SQLiteStoreConformanceTests {
    @Test("Conforms", arguments: StoreConformance.checks)
    func conforms(_ check: StoreConformance.Check) async throws {
        let folder = try TestPaths.temporaryFolder()
        let store = try PaymentDatabase(
            path: folder.appendingPathComponent("payments.sqlite").path,
            migrations: MigrationSet(folder: TestPaths.migrations)
        )
        let path = folder.appendingPathComponent("payments.sqlite").path
        try await check.run(store) {
            try PaymentDatabase(path: path, migrations: MigrationSet(folder: TestPaths.migrations))
        }
    }
}
