import Logging
import PaymentsPostgres
import PostgresNIO
import TestSupport
import Testing

/// The throwaway PostgreSQL cluster of a suite: started before its first test, stopped and removed after its last,
/// whether the tests passed or not (`@Suite(.postgresCluster)`). Each test takes a database of its own.
struct PostgresClusterTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await PostgresServer.started(maxConnections: PostgresCluster.maxConnections)
        defer { server.stop() }
        try await PostgresCluster.$server.withValue(server) {
            try await function()
        }
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// A throwaway PostgreSQL cluster for the suite.
    static var postgresCluster: Self { Self() }
}

/// The running suite's cluster, and what its tests do with it.
enum PostgresCluster {
    @TaskLocal static var server: PostgresServer?

    /// The cluster's `max_connections`. A suite's tests run at once, and a conformance check of two instances opens
    /// two stores with a pool of up to `PostgresPaymentStore.defaultPoolSize` (8) connections each: the 32 checks
    /// together can ask for more than PostgreSQL's default 100 ("sorry, too many clients already").
    static let maxConnections = 400

    /// A logger that writes nothing: PostgresNIO logs every query at debug and trace.
    static let logger = Logger(label: "payments.postgres.tests") { _ in SwiftLogNoOpLogHandler() }

    /// The folder of the service's PostgreSQL migrations.
    static var migrations: String { TestPaths.root.appendingPathComponent("migrations/postgres").path }

    /// A new empty database on the suite's cluster, as settings parsed from its URL.
    static func freshDatabase() async throws -> PostgresSettings {
        let server = try #require(server, "the suite needs the .postgresCluster trait")
        return try PostgresSettings(url: server.url(database: try await server.newDatabase()))
    }

    /// Runs `body` on a new connection to `settings`' database, closing it afterwards.
    static func withConnection<T: Sendable>(
        _ settings: PostgresSettings,
        id: Int = 1,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await settings.connect(id: id, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Whether `name` is a table or view of the connection's database.
    static func exists(_ name: String, on connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("SELECT to_regclass(\(name)) IS NOT NULL", logger: logger)
        for try await found in rows.decode(Bool.self) { return found }
        return false
    }

    /// The single integer `sql` returns.
    static func integer(_ sql: String, on connection: PostgresConnection) async throws -> Int64 {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        throw PostgresMigrationError.failed(name: "test", line: 0, sqlState: nil, message: "no row for \(sql)")
    }
}
