import Logging
import PostgresNIO

extension PostgresSettings {
    /// PostgresNIO's configuration for these settings, TLS included.
    /// - Throws: NIOSSL's error when a TLS context cannot be made.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        var configuration = PostgresConnection.Configuration(
            host: host,
            port: port,
            username: user,
            password: password,
            database: database,
            tls: try tls()
        )
        configuration.options.additionalStartupParameters = [("application_name", Self.applicationName)]
        return configuration
    }

    /// The `application_name` of the service's connections (its pool's, its migrations', an export's), by which an
    /// admin tells them apart in `pg_stat_activity` (they were unnamed: a probe).
    public static let applicationName = "payments"

    /// The TLS behaviour of `sslMode`, with libpq's meaning of each mode.
    private func tls() throws -> PostgresConnection.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .disable:
            return .disable
        case .prefer:
            configuration.certificateVerification = .none
            return .prefer(try NIOSSLContext(configuration: configuration))
        case .require:
            configuration.certificateVerification = .none
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            return .require(try NIOSSLContext(configuration: configuration))
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            return .require(try NIOSSLContext(configuration: configuration))
        }
    }

    /// Opens one connection to the database.
    /// - Parameters:
    ///   - id: PostgresNIO's connection id, for its log lines.
    ///   - logger: where PostgresNIO logs; it never sees the password in a log line (it logs no credentials).
    public func connect(id: Int = 1, logger: Logger) async throws -> PostgresConnection {
        try await PostgresConnection.connect(configuration: try connectionConfiguration(), id: id, logger: logger)
    }
}

extension PostgresSettings {
    /// PostgresNIO's connection pool configuration for these settings (`PostgresClient`), TLS as ``sslMode`` says.
    public func clientConfiguration() -> PostgresClient.Configuration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case .disable:
            tls = .disable
        case .prefer:
            configuration.certificateVerification = .none
            tls = .prefer(configuration)
        case .require:
            configuration.certificateVerification = .none
            tls = .require(configuration)
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
            tls = .require(configuration)
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
            tls = .require(configuration)
        }
        return PostgresClient.Configuration(
            host: host,
            port: port,
            username: user,
            password: password,
            database: database,
            tls: tls
        )
    }
}
