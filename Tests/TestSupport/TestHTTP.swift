import Foundation
import Hummingbird
import Logging
import Payments
import PaymentsHTTP

/// The real router over a fresh ``TestEnvironment``, for HummingbirdTesting.
public struct TestHTTP: Sendable {
    public let environment: TestEnvironment
    public var services: HTTPServices

    /// The keys the test router accepts.
    public static let secretKey = "sk_test_router"
    public static let publishableKey = "pk_test_router"

    /// Creates the router's services over a fresh environment (or `environment`), accepting `keys`.
    public init(
        environment: TestEnvironment? = nil,
        keys: APIKeys = APIKeys(secret: Self.secretKey, publishable: Self.publishableKey)
    ) throws {
        let environment = try environment ?? TestEnvironment()
        self.environment = environment
        self.services = HTTPServices(context: environment.context, keys: keys, catalog: .development)
    }

    /// The service's own application (`buildApplication`, as `payments serve` runs it), with the sweeper off.
    ///
    /// It logs warnings and errors only: the line per request (at `info`) would bury a failing test's output.
    public func application() -> some ApplicationProtocol {
        var logger = Logger(label: "payments.test")
        logger.logLevel = .warning
        return buildApplication(.init(port: 0, sweepInterval: 0), services: services, logger: logger)
    }

    /// `Authorization` for the secret key.
    public static let secretAuth = "Bearer \(secretKey)"
    /// `Authorization` for the publishable key.
    public static let publishableAuth = "Bearer \(publishableKey)"
}
