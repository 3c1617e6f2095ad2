import PaymentsPostgres
import PostgresNIO
import Testing

/// Connecting with each `sslmode` to a real server that offers TLS with a self-signed certificate.
@Suite("PostgreSQL connections", .postgresCluster)
struct PostgresConnectionTests {
    /// Whether the connection `settings` opens is encrypted, as the server sees it.
    static func encrypted(_ settings: PostgresSettings) async throws -> Bool {
        try await PostgresCluster.withConnection(settings) { connection in
            let rows = try await connection.query(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                logger: PostgresCluster.logger
            )
            var encrypted = false
            for try await ssl in rows.decode(Bool.self) { encrypted = ssl }
            return encrypted
        }
    }

    @Test(
        "disable connects in plain TCP; prefer and require connect with TLS",
        arguments: [(PostgresSettings.SSLMode.disable, false), (.prefer, true), (.require, true)]
    )
    func modes(_ mode: PostgresSettings.SSLMode, _ expected: Bool) async throws {
        var settings = try await PostgresCluster.freshDatabase()
        settings.sslMode = mode
        #expect(try await Self.encrypted(settings) == expected)
    }

    @Test("verify-full and verify-ca refuse a server whose certificate no trusted root signed")
    func verification() async throws {
        for mode in [PostgresSettings.SSLMode.verifyFull, .verifyCA] {
            var settings = try await PostgresCluster.freshDatabase()
            settings.sslMode = mode
            await #expect(throws: (any Error).self, "\(mode)") {
                _ = try await Self.encrypted(settings)
            }
        }
    }

    @Test("a wrong password is refused by the server")
    func wrongPassword() async throws {
        var settings = try await PostgresCluster.freshDatabase()
        settings.password = "not-the-password"
        let error = await #expect(throws: PSQLError.self) { _ = try await Self.encrypted(settings) }
        #expect(error?.serverInfo?[.sqlState] == "28P01")
    }
}
