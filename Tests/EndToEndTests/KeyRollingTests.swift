import Foundation
import GRDB
import TestSupport
import Testing

/// Rolling an API key with the built binary: the old key alone, then old and new together, then the new alone;
/// a keyed request retried under the new key replays. And production's refusals of keys that cannot be secret.
@Suite("API keys: rolling and production refusals, end to end")
struct KeyRollingTests {
    /// A key of a production key's shape: the prefix and 32 random letters and digits.
    static func newKey(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    @Test("old and new secret keys both work while rolling; a retry under the new key replays; the old one then 401s")
    func rollSecretKey() async throws {
        let old = ServerProcess.Keys.random()
        let new = Self.newKey("sk_test_new_")
        let form: [(String, String)] = [
            ("amount", "2100"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ]
        let idempotencyKey = UUID().uuidString
        // Given a payment made with the old key
        let before = try await ServerProcess.start(keys: old)
        defer { before.kill() }
        let paid = try await before.client.postForm(
            "/v1/payment_intents",
            form,
            auth: before.secret,
            headers: ["Idempotency-Key": idempotencyKey]
        )
        #expect(paid.status == 200, "\(paid)")
        _ = await before.stop()

        // When the server runs with both keys (PAYMENTS_SECRET_KEY the old, PAYMENTS_SECRET_KEYS the new)
        let rolling = try await ServerProcess.start(
            folder: before.folder,
            keys: old,
            environment: ["PAYMENTS_SECRET_KEYS": new]
        )
        defer { rolling.kill() }
        // Then both keys work, and the request retried with the new key replays the first answer
        for key in [old.secret, new] {
            let list = try await rolling.client.get("/v1/payment_intents", auth: .bearer(key))
            #expect(list.status == 200, "\(list)")
        }
        let retried = try await rolling.client.postForm(
            "/v1/payment_intents",
            form,
            auth: .bearer(new),
            headers: ["Idempotency-Key": idempotencyKey]
        )
        #expect(retried.status == 200, "\(retried)")
        #expect(retried.header("Idempotent-Replayed") == "true", "\(retried)")
        #expect(retried.body == paid.body)
        let intents = try await rolling.client.get("/v1/payment_intents", auth: .bearer(new)).json()
        #expect(intents["data"]?.array?.count == 1, "\(intents)")
        _ = await rolling.stop()

        // And once the old key is removed it is refused with a 401 that names no configured key
        let after = try await ServerProcess.start(
            folder: before.folder,
            keys: .init(secret: new, publishable: old.publishable)
        )
        defer { after.kill() }
        let refused = try await after.client.get("/v1/payment_intents", auth: .bearer(old.secret))
        #expect(refused.status == 401)
        #expect(try refused.json()["error"]?["type"]?.string == "invalid_request_error")
        #expect(!refused.text.contains(new) && !refused.text.contains(new.suffix(8)), "\(refused)")
        #expect(!refused.text.contains(old.secret), "\(refused)")
        let replayed = try await after.client.postForm(
            "/v1/payment_intents",
            form,
            auth: .bearer(new),
            headers: ["Idempotency-Key": idempotencyKey]
        )
        #expect(replayed.header("Idempotent-Replayed") == "true" && replayed.body == paid.body)
        after.kill()
        after.removeFiles()
    }

    @Test("keys given as lists alone: the config file's development keys still work beside them, and serve says so")
    func listsBesideDevelopmentKeys() async throws {
        // Given a development server whose keys are given as lists only (the file's single keys left as they are)
        let (secret, publishable) = (Self.newKey("sk_test_listed_"), Self.newKey("pk_test_listed_"))
        let server = try await ServerProcess.start(
            keys: .init(secret: "", publishable: ""),
            environment: ["PAYMENTS_SECRET_KEYS": secret, "PAYMENTS_PUBLISHABLE_KEYS": publishable]
        )
        defer { server.kill() }
        // Then the development secret key works beside the listed one, and the start says so, naming it (it is
        // public); the listed keys are never printed
        let development = "sk_test_development_51PaymentsLocalKeyDoNotUse"
        #expect(try await server.client.get("/v1/customers", auth: .bearer(development)).status == 200)
        #expect(try await server.client.get("/v1/customers", auth: .bearer(secret)).status == 200)
        #expect(
            server.output.contains("the development secret key is accepted too: \(development)"),
            "\(server.output)"
        )
        #expect(server.output.contains("the development publishable key is accepted too"), "\(server.output)")
        #expect(!server.output.contains(secret) && !server.output.contains(publishable), "\(server.output)")
        server.kill()
        server.removeFiles()

        // And with PAYMENTS_SECRET_KEY set empty it is refused, and nothing more is said of it
        let refusing = try await ServerProcess.start(
            keys: .init(secret: "", publishable: ""),
            environment: [
                "PAYMENTS_SECRET_KEYS": secret, "PAYMENTS_PUBLISHABLE_KEYS": publishable, "PAYMENTS_SECRET_KEY": "",
            ]
        )
        defer { refusing.kill() }
        #expect(try await refusing.client.get("/v1/customers", auth: .bearer(development)).status == 401)
        #expect(!refusing.output.contains("development secret key is accepted"), "\(refusing.output)")
        refusing.kill()
        refusing.removeFiles()
    }

    @Test("a publishable key list rolls too: the first listed is the one the checkout page hands out")
    func rollPublishableKey() async throws {
        let old = ServerProcess.Keys.random()
        let new = Self.newKey("pk_test_new_")
        let server = try await ServerProcess.start(keys: old, environment: ["PAYMENTS_PUBLISHABLE_KEYS": new])
        defer { server.kill() }
        for key in [old.publishable, new] {
            let created = try await server.client.postForm(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                ],
                auth: .bearer(key)
            )
            #expect(created.status == 200, "\(created)")
            // A publishable key is still only a publishable key
            let list = try await server.client.get("/v1/payment_intents", auth: .bearer(key))
            #expect(list.status == 401, "\(list)")
        }
        let config = try await server.client.get("/checkout/config.json")
        #expect(config.text.contains(new) && !config.text.contains(old.publishable), "\(config)")
        server.kill()
        server.removeFiles()
    }

    /// A config file for production that names no key (they come from the environment in each case).
    static func productionConfig(_ folder: URL) throws -> URL {
        let file = folder.appendingPathComponent("production.json")
        let json = """
            {"payments": {"environment": "production", "db": "\(folder.appendingPathComponent("p.sqlite").path)",
             "networkLedger": "\(folder.appendingPathComponent("n.sqlite").path)", "catalog": "config/catalog.json"}}
            """
        try json.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// One refused production configuration: the environment it sets, and the setting its message must name.
    struct Refusal: Sendable, CustomTestStringConvertible {
        let name: String
        let environment: [String: String]
        let names: String

        var testDescription: String { name }
    }

    // Production's own keys: long, and random-looking (eight different characters at least after `sk_live_`)
    static let goodSecret = "sk_live_" + String(repeating: "a1B2c3D4e5F6g7H8", count: 2)
    static let goodPublishable = "pk_live_" + String(repeating: "Z9y8X7w6V5u4T3s2", count: 2)
    static let goodVault = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
    static let developmentSecret = "sk_test_development_51PaymentsLocalKeyDoNotUse"
    static let developmentPublishable = "pk_test_development_51PaymentsLocalKeyDoNotUse"
    static let developmentVault = "ZGV2ZWxvcG1lbnQtdmF1bHQta2V5LWRvLW5vdC11c2U="

    static func production(_ changes: [String: String?]) -> [String: String] {
        var environment = [
            "PAYMENTS_SECRET_KEY": goodSecret, "PAYMENTS_PUBLISHABLE_KEY": goodPublishable,
            "PAYMENTS_VAULT_KEY": goodVault,
        ]
        for (name, value) in changes { environment[name] = value }
        return environment
    }

    static let refusals: [Refusal] = [
        Refusal(
            name: "the development secret key, among others",
            environment: production(["PAYMENTS_SECRET_KEYS": "\(goodSecret)x,\(developmentSecret)"]),
            names: "PAYMENTS_SECRET_KEYS"
        ),
        Refusal(
            name: "the development publishable key",
            environment: production(["PAYMENTS_PUBLISHABLE_KEY": developmentPublishable]),
            names: "PAYMENTS_PUBLISHABLE_KEY"
        ),
        Refusal(
            name: "the development vault key",
            environment: production(["PAYMENTS_VAULT_KEY": developmentVault]),
            names: "PAYMENTS_VAULT_KEY"
        ),
        Refusal(
            name: "the development vault key as an old key",
            environment: production(["PAYMENTS_VAULT_OLD_KEYS": developmentVault]),
            names: "PAYMENTS_VAULT_OLD_KEYS"
        ),
        Refusal(
            name: "no secret key",
            environment: production(["PAYMENTS_SECRET_KEY": nil]),
            names: "PAYMENTS_SECRET_KEY"
        ),
        Refusal(
            name: "no vault key",
            environment: production(["PAYMENTS_VAULT_KEY": nil]),
            names: "PAYMENTS_VAULT_KEY"
        ),
        Refusal(
            name: "a secret key shorter than 32 characters",
            environment: production(["PAYMENTS_SECRET_KEY": "sk_live_short1234567"]),
            names: "PAYMENTS_SECRET_KEY"
        ),
        // Of the length, but not random (they started: a probe)
        Refusal(
            name: "a secret key of sk_ and 32 zeros",
            environment: production(["PAYMENTS_SECRET_KEY": "sk_" + String(repeating: "0", count: 32)]),
            names: "PAYMENTS_SECRET_KEY"
        ),
        Refusal(
            name: "a secret key of sk_live_ and abc repeated",
            environment: production(["PAYMENTS_SECRET_KEY": "sk_live_" + String(repeating: "abc", count: 11)]),
            names: "PAYMENTS_SECRET_KEY"
        ),
        Refusal(
            name: "a vault key of 32 zero bytes",
            environment: production(["PAYMENTS_VAULT_KEY": Data(count: 32).base64EncodedString()]),
            names: "PAYMENTS_VAULT_KEY"
        ),
        Refusal(
            name: "a secret key without sk_",
            environment: production(["PAYMENTS_SECRET_KEY": "rk_live_" + String(repeating: "x9", count: 16)]),
            names: "PAYMENTS_SECRET_KEY"
        ),
        // Not a key, but the same kind of mistake: the 3-D Secure links named http://0.0.0.0:PORT, which no
        // customer's browser opens
        Refusal(
            name: "host 0.0.0.0 without publicBaseURL",
            environment: production(["PAYMENTS_HOST": "0.0.0.0"]),
            names: "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) is required in production when host is '0.0.0.0'"
        ),
        // Other spellings of every address, which a list of two spellings let through
        Refusal(
            name: "host 0 without publicBaseURL",
            environment: production(["PAYMENTS_HOST": "0"]),
            names: "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) is required in production when host is '0'"
        ),
        Refusal(
            name: "host ::0 without publicBaseURL",
            environment: production(["PAYMENTS_HOST": "::0"]),
            names: "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) is required in production when host is '::0'"
        ),
        Refusal(
            name: "host ::ffff:0.0.0.0 without publicBaseURL",
            environment: production(["PAYMENTS_HOST": "::ffff:0.0.0.0"]),
            names: "publicBaseURL (PAYMENTS_PUBLIC_BASE_URL) is required in production when host is '::ffff:0.0.0.0'"
        ),
        Refusal(
            name: "an old vault key that is not 32 bytes of base64",
            environment: production(["PAYMENTS_VAULT_OLD_KEYS": "\(goodVault),bm90IGEga2V5"]),
            names: "PAYMENTS_VAULT_OLD_KEYS"
        ),
    ]

    @Test("production refuses to start, naming the setting and printing no key", arguments: refusals)
    func productionRefuses(_ refusal: Refusal) async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-production")
        let config = try Self.productionConfig(folder)
        let run = try await runToCompletion(
            try PaymentsBinary.path(),
            ["serve", "--config", config.path, "--port", "0"],
            environment: PaymentsBinary.environment(refusal.environment),
            in: folder,
            timeout: .seconds(60)
        )
        #expect(run.termination.reason == .exit && run.termination.status != 0, "\(run)")
        #expect(run.output.contains(refusal.names), "\(run.output)")
        #expect(!run.output.contains("payments listening"), "\(run.output)")
        for (name, value) in refusal.environment where value.count >= 12 && name.contains("KEY") {
            #expect(!run.output.contains(value), "a key was printed: \(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("p.sqlite").path))
        try? FileManager.default.removeItem(at: folder)
    }

    @Test("production's report, export and import read and copy rows without its API keys or vault key")
    func readingCommandsNeedNoKeys() async throws {
        // Given a production database, migrated with its keys, and a config file holding the example's placeholders
        let folder = try TestPaths.temporaryFolder("payments-e2e-production")
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = folder.appendingPathComponent("production.json")
        let json = """
            {"payments": {"environment": "production", "db": "\(folder.appendingPathComponent("p.sqlite").path)",
             "networkLedger": "\(folder.appendingPathComponent("n.sqlite").path)", "catalog": "config/catalog.json",
             "secretKey": "set PAYMENTS_SECRET_KEY in the environment", "vaultKey": "set PAYMENTS_VAULT_KEY"}}
            """
        try json.write(to: config, atomically: true, encoding: .utf8)
        let binary = try PaymentsBinary.path()
        func run(_ arguments: [String], _ environment: [String: String]) async throws -> (Termination, String) {
            let run = try await runToCompletion(
                binary,
                arguments + ["--config", config.path],
                environment: PaymentsBinary.environment(environment),
                in: folder,
                timeout: .seconds(60)
            )
            return (run.termination, run.output)
        }
        let migrated = try await run(["migrate"], Self.production([:]))
        #expect(migrated.0.status == 0, "\(migrated.1)")
        // When an operator without the secrets reports, exports, and imports the archive into a new file
        let archive = folder.appendingPathComponent("backup.archive").path
        let copy = folder.appendingPathComponent("copy.sqlite").path
        let report = try await run(["report", "daily_volume"], [:])
        let export = try await run(["export", "--output", archive], [:])
        let imported = try await run(["import", "--input", archive, "--db", copy], [:])
        // Then each runs (it refused for want of an sk_ key, then of the vault key, which none of them uses)
        for (termination, output) in [report, export, imported] {
            #expect(termination == Termination(reason: .exit, status: 0), "\(output)")
            #expect(!output.contains("PAYMENTS_SECRET_KEY") && !output.contains("PAYMENTS_VAULT_KEY"), "\(output)")
        }
        #expect(report.1.contains("gross_amount"), "\(report.1)")
        #expect(FileManager.default.fileExists(atPath: copy))
        // And serve, which uses them, still refuses to start without them
        let serve = try await run(["serve", "--port", "0"], [:])
        #expect(serve.0.reason == .exit && serve.0.status != 0, "\(serve.1)")
        #expect(serve.1.contains("Production needs a publishable key"), "\(serve.1)")
    }

    @Test("production starts with keys of its own, and prints none of them")
    func productionStarts() async throws {
        let folder = try TestPaths.temporaryFolder("payments-e2e-production")
        let config = try Self.productionConfig(folder)
        let environment = Self.production([
            "PAYMENTS_SECRET_KEYS": "sk_live_" + String(repeating: "e5F6g7H8i9J0k1L2", count: 2)
        ])
        let server = try await ServerProcess.start(
            folder: folder,
            keys: .init(secret: Self.goodSecret, publishable: Self.goodPublishable),
            environment: environment,
            arguments: ["--config", config.path]
        )
        defer { server.kill() }
        let list = try await server.client.get("/v1/payment_intents", auth: server.secret)
        #expect(list.status == 200, "\(list)\n\(server.diagnostics)")
        #expect(server.output.contains("API keys: configured (not shown)"))
        for value in environment.values { #expect(!server.output.contains(value)) }
        server.kill()
        server.removeFiles()
    }
}
