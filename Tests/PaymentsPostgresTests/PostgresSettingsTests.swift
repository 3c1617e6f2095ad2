import PaymentsPostgres
import Testing

/// The `postgres://` URL parser: pure, no server.
@Suite("PostgreSQL connection settings")
struct PostgresSettingsTests {
    @Test("a full URL gives every part")
    func fullURL() throws {
        let settings = try PostgresSettings(url: "postgres://payments:s3cret@db.example:6543/ledger?sslmode=disable")
        #expect(
            settings
                == PostgresSettings(
                    host: "db.example",
                    port: 6543,
                    user: "payments",
                    password: "s3cret",
                    database: "ledger",
                    sslMode: .disable
                )
        )
    }

    @Test("port and sslmode default to libpq's (5432, prefer); postgresql:// is accepted; no password is nil")
    func defaults() throws {
        let settings = try PostgresSettings(url: "postgresql://payments@localhost/ledger")
        #expect(settings.port == 5432)
        #expect(settings.sslMode == .prefer)
        #expect(settings.password == nil)
        #expect(settings.host == "localhost")
    }

    @Test("user, password and database are percent-decoded")
    func percentDecoding() throws {
        let settings = try PostgresSettings(url: "postgres://pay%40ments:p%40ss%3Aw%2Ford%23@127.0.0.1:5432/my%20db")
        #expect(settings.user == "pay@ments")
        #expect(settings.password == "p@ss:w/ord#")
        #expect(settings.database == "my db")
    }

    @Test("an IPv6 host is written in brackets and kept without them")
    func ipv6() throws {
        let settings = try PostgresSettings(url: "postgres://u:p@[::1]:5433/db?sslmode=require")
        #expect(settings.host == "::1")
        #expect(settings.port == 5433)
        #expect(settings.sslMode == .require)
        #expect(settings.redactedURL == "postgres://u:***@[::1]:5433/db?sslmode=require")
    }

    @Test("every libpq sslmode the service supports parses", arguments: PostgresSettings.SSLMode.allCases)
    func sslModes(_ mode: PostgresSettings.SSLMode) throws {
        #expect(try PostgresSettings(url: "postgres://u@h/d?sslmode=\(mode.rawValue)").sslMode == mode)
    }

    @Test(
        "bad URLs are refused with the error that names what is wrong",
        arguments: [
            ("mysql://u:p@h/d", PostgresSettings.URLError.notPostgresURL),
            ("not a url at all", .notPostgresURL),
            ("", .notPostgresURL),
            ("postgres:///d", .missingHost),
            ("postgres://h/d", .missingUser),
            ("postgres://:p@h/d", .missingUser),
            ("postgres://u@h:0/d", .badPort),
            ("postgres://u@h:70000/d", .badPort),
            ("postgres://u@h:/d", .badPort),
            ("postgres://u@h:port/d", .notPostgresURL),
            ("postgres://u@h", .missingDatabase),
            ("postgres://u@h/", .missingDatabase),
            ("postgres://u@h/a/b", .missingDatabase),
            ("postgres://u@h/d?sslmode=allow", .unsupportedSSLMode("allow")),
            ("postgres://u@h/d?sslmode=", .unsupportedSSLMode("")),
            ("postgres://u@h/d?connect_timeout=5", .unknownParameter("connect_timeout")),
        ]
    )
    func badURL(_ url: String, _ expected: PostgresSettings.URLError) {
        #expect(throws: expected) { try PostgresSettings(url: url) }
    }

    @Test("the description and the errors never show the password")
    func passwordNeverShown() throws {
        let password = "hunter2-very-secret"
        let settings = try PostgresSettings(url: "postgres://payments:\(password)@db:5432/ledger?sslmode=disable")
        #expect(settings.description == "postgres://payments:***@db:5432/ledger?sslmode=disable")
        #expect(!"\(settings)".contains(password))
        #expect(!String(reflecting: settings).contains(password))
        for bad in [
            "postgres://payments:\(password)@db:99999/ledger", "postgres://payments:\(password)@db/ledger?x=1",
            "postgres://payments:\(password)@db/ledger?sslmode=\(password)",
        ] {
            do {
                _ = try PostgresSettings(url: bad)
                Issue.record("\(bad.count)-character URL accepted")
            } catch {
                #expect(!error.description.contains(password) || error == .unsupportedSSLMode(password))
                #expect(!error.description.contains("payments:"))
            }
        }
    }

    @Test("a URL without a password has none in its description")
    func noPassword() throws {
        let settings = try PostgresSettings(url: "postgres://payments@db/ledger?sslmode=verify-full")
        #expect(settings.redactedURL == "postgres://payments@db:5432/ledger?sslmode=verify-full")
    }
}
