import Foundation

/// Where and how to reach the PostgreSQL database: the parts of a
/// `postgres://user:password@host:port/database?sslmode=disable` URL.
///
/// Parsing is pure (no I/O), so every rule is unit-tested. The password is kept for connecting only: the
/// description, and every parse error, leave it out, so that settings can be logged.
public struct PostgresSettings: Sendable, Equatable {
    /// libpq's `sslmode` values this service understands.
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain TCP otherwise, no certificate check (libpq's default).
        case prefer
        /// TLS always, no certificate check.
        case require
        /// TLS always, the server's certificate checked against the system's trusted roots, not its host name.
        case verifyCA = "verify-ca"
        /// TLS always, the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    /// The port PostgreSQL listens on unless the URL names another.
    public static let defaultPort = 5432

    public var host: String
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var sslMode: SSLMode

    /// Settings from their parts.
    public init(
        host: String,
        port: Int = Self.defaultPort,
        user: String,
        password: String?,
        database: String,
        sslMode: SSLMode = .prefer
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.sslMode = sslMode
    }

    /// The URL without its password (`***` in its place): safe to log and to show.
    public var redactedURL: String {
        var text = "postgres://" + Self.encode(user)
        if password != nil { text += ":***" }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        text += "@\(hostPart):\(port)/\(Self.encode(database))?sslmode=\(sslMode.rawValue)"
        return text
    }

    /// Percent-encodes `part` for the user or database position of a URL.
    private static func encode(_ part: String) -> String {
        var allowed = CharacterSet.urlUserAllowed
        allowed.remove(charactersIn: ":@/?#[]")
        return part.addingPercentEncoding(withAllowedCharacters: allowed) ?? part
    }
}

// MARK: - CustomStringConvertible

extension PostgresSettings: CustomStringConvertible, CustomDebugStringConvertible {
    /// The redacted URL: never the password.
    public var description: String { redactedURL }
    /// The redacted URL: never the password, even in `dump` or string interpolation of the value.
    public var debugDescription: String { "PostgresSettings(\(redactedURL))" }
}
