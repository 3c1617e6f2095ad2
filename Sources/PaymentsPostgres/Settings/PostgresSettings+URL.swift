import Foundation

extension PostgresSettings {
    /// Why a database URL was refused. No case holds the URL or its password.
    public enum URLError: Error, Equatable, CustomStringConvertible {
        /// Not a URL at all, or not one of the `postgres://` / `postgresql://` scheme.
        case notPostgresURL
        /// No host after the `@` (or after `//`).
        case missingHost
        /// No user name before the `@`: PostgreSQL has no default the service could assume.
        case missingUser
        /// The port is not a number from 1 to 65535.
        case badPort
        /// No database name as the URL's path, or a path with more than one part.
        case missingDatabase
        /// An `sslmode` this service does not know.
        case unsupportedSSLMode(String)
        /// A query parameter other than `sslmode`.
        case unknownParameter(String)

        public var description: String {
            let shape = "Expected postgres://user:password@host:port/database?sslmode=disable."
            return switch self {
            case .notPostgresURL:
                "The database URL is not a postgres:// URL. \(shape)"
            case .missingHost:
                "The database URL names no host. \(shape)"
            case .missingUser:
                "The database URL names no user. \(shape)"
            case .badPort:
                "The database URL's port is not a number from 1 to 65535. \(shape)"
            case .missingDatabase:
                "The database URL names no database (its path must be one name). \(shape)"
            case .unsupportedSSLMode(let mode):
                "The database URL's sslmode '\(mode)' is not one of "
                    + SSLMode.allCases.map(\.rawValue).joined(separator: ", ") + "."
            case .unknownParameter(let name):
                "The database URL's parameter '\(name)' is not supported (only sslmode is)."
            }
        }
    }

    /// Parses a `postgres://user:password@host:port/database?sslmode=MODE` URL (`postgresql://` too, as libpq
    /// accepts). User, password and database are percent-decoded; an IPv6 host is written in brackets; the port
    /// defaults to 5432 and `sslmode` to `prefer`, as libpq's do.
    /// - Throws: ``URLError``, which never holds the password.
    public init(url text: String) throws(URLError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else { throw .notPostgresURL }
        // URLComponents takes `postgres:/x` (no authority) too: a host is required anyway.
        guard let rawHost = components.percentEncodedHost, !rawHost.isEmpty,
            let host = rawHost.removingPercentEncoding
        else { throw .missingHost }
        guard let user = components.user, !user.isEmpty else { throw .missingUser }
        let port: Int
        if let parsed = components.port {
            guard (1...65_535).contains(parsed) else { throw .badPort }
            port = parsed
        } else if Self.hasEmptyPort(text) {
            throw .badPort
        } else {
            port = Self.defaultPort
        }
        let path = components.percentEncodedPath
        let encodedDatabase = path.hasPrefix("/") ? String(path.dropFirst()) : path
        guard !encodedDatabase.isEmpty, !encodedDatabase.contains("/"),
            let database = encodedDatabase.removingPercentEncoding
        else { throw .missingDatabase }
        var sslMode = SSLMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { throw .unknownParameter(item.name) }
            guard let mode = SSLMode(rawValue: item.value ?? "") else {
                throw .unsupportedSSLMode(item.value ?? "")
            }
            sslMode = mode
        }
        // Brackets are URL syntax, not part of an IPv6 address.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(
            host: bare,
            port: port,
            user: user,
            password: components.password,
            database: database,
            sslMode: sslMode
        )
    }

    /// Whether the authority ends in a `:` with no digits after it (URLComponents reads that as no port).
    private static func hasEmptyPort(_ text: String) -> Bool {
        guard let start = text.range(of: "://")?.upperBound else { return false }
        let authority = text[start...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last ?? authority[...]
        return hostPort.hasSuffix(":")
    }
}
