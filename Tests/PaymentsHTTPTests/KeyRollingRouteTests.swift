import Foundation
import HTTPTypes
import Payments
import PaymentsCore
import PaymentsHTTP
import TestSupport
import Testing

/// Several API keys of each kind at once (rolling a key), through the real application.
@Suite("API keys: several of each kind")
struct KeyRollingRouteTests {
    static let secrets = ["sk_test_rolling_old_0123456789abcdef", "sk_test_rolling_new_fedcba9876543210"]
    static let publishables = ["pk_test_rolling_old_0123456789abcdef", "pk_test_rolling_new_fedcba9876543210"]

    /// Runs `test` against the application with both keys of each kind, over `environment` (a fresh one when nil).
    @discardableResult
    static func withKeys<T: Sendable>(
        _ secrets: [String] = secrets,
        _ publishables: [String] = publishables,
        environment: TestEnvironment? = nil,
        _ test: @Sendable (WireClient) async throws -> T
    ) async throws -> T {
        let http = try TestHTTP(environment: environment, keys: APIKeys(secret: secrets, publishable: publishables))
        return try await http.application().test(.router) { client in
            try await test(WireClient(client: client, http: http))
        }
    }

    @Test("every configured key authenticates as its kind")
    func everyKeyWorks() async throws {
        try await Self.withKeys { api in
            for key in Self.secrets {
                let list = try await api.get("/v1/payment_intents", auth: "Bearer \(key)")
                #expect(list.status == 200, "\(list.text)")
            }
            for key in Self.publishables {
                let list = try await api.get("/v1/payment_intents", auth: "Bearer \(key)")
                #expect(list.status == 401 && list.error["code"]?.string == "secret_key_required", "\(list.text)")
                let created = try await api.post(
                    "/v1/payment_methods",
                    [
                        ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                        ("card[exp_year]", "2034"),
                    ],
                    auth: "Bearer \(key)"
                )
                #expect(created.status == 200, "\(created.text)")
            }
        }
    }

    @Test("a wrong key's 401 is the same whatever keys exist, and shows none of them")
    func wrongKeyRevealsNothing() async throws {
        // A guess sharing a configured key's prefix, its last four, or all of it but one character
        let near = String(Self.secrets[1].dropLast()) + "1"
        let guesses = ["sk_test_rolling_new_0000000000003210", near, "sk_test_" + String(repeating: "z", count: 28)]
        var bodies: [[String]] = []
        for keys in [Self.secrets, [Self.secrets[0]]] {
            let texts = try await Self.withKeys(keys) { api in
                var texts: [String] = []
                for guess in guesses {
                    let response = try await api.get("/v1/payment_intents", auth: "Bearer \(guess)")
                    #expect(response.status == 401)
                    #expect(response.error["type"]?.string == "invalid_request_error")
                    #expect(response.error["code"]?.string == "api_key_invalid")
                    let masked = String(guess.prefix(8)) + "****" + String(guess.suffix(4))
                    #expect(response.error["message"]?.string == "Invalid API Key provided: \(masked)")
                    for key in Self.secrets + Self.publishables {
                        #expect(!response.text.contains(key) && !response.text.contains(key.dropFirst(8).prefix(12)))
                    }
                    texts.append(response.text)
                }
                return texts
            }
            bodies.append(texts)
        }
        #expect(bodies[0] == bodies[1], "a 401's body differs with the keys configured")
    }

    @Test("a keyed request sent with one secret key and retried with another replays the same object")
    func retryUnderAnotherKeyReplays() async throws {
        try await Self.withKeys { api in
            let key: HTTPFields = [.init("Idempotency-Key")!: "roll-\(UUID().uuidString)"]
            let first = try await api.post(
                "/v1/customers",
                [("email", "roll@example.com")],
                auth: "Bearer \(Self.secrets[0])",
                headers: key
            )
            let retried = try await api.post(
                "/v1/customers",
                [("email", "roll@example.com")],
                auth: "Bearer \(Self.secrets[1])",
                headers: key
            )
            #expect(first.status == 200 && retried.status == 200)
            #expect(retried.header("Idempotent-Replayed") == "true")
            #expect(retried.text == first.text)
            // A publishable key's requests keep a scope of their own
            let publishable = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2034"),
                ],
                auth: "Bearer \(Self.publishables[1])",
                headers: key
            )
            #expect(publishable.status == 200 && publishable.header("Idempotent-Replayed") == nil)
        }
    }

    @Test("a key stored before keys were scoped by kind (under a hash of its API key) still replays after")
    func legacyScopeReplays() async throws {
        let environment = try TestEnvironment()
        let key: HTTPFields = [.init("Idempotency-Key")!: "legacy-\(UUID().uuidString)"]
        // Given a request answered, and its key moved back to where the code before this change stored it
        let first = try await Self.withKeys(environment: environment) { api in
            try await api.post(
                "/v1/customers",
                [("email", "legacy@example.com")],
                auth: "Bearer \(Self.secrets[0])",
                headers: key
            )
        }
        let legacy = IdempotencyKeys.legacyScope(forAPIKey: Self.secrets[0])
        let moved = try await environment.database.write { tx in
            try tx.rescopeIdempotencyKeys(from: IdempotencyKeys.secretKeyScope, to: legacy, after: "", limit: 10)
        }
        #expect(moved.moved == 1)
        // When the application starts again, and the request is retried with the other secret key
        try await Self.withKeys(environment: environment) { api in
            let retried = try await api.post(
                "/v1/customers",
                [("email", "legacy@example.com")],
                auth: "Bearer \(Self.secrets[1])",
                headers: key
            )
            // Then it replays the first answer
            #expect(retried.status == 200)
            #expect(retried.header("Idempotent-Replayed") == "true")
            #expect(retried.text == first.text)
            let customers = try await api.get("/v1/customers", auth: "Bearer \(Self.secrets[0])")
            #expect(customers.json.ids.count == 1, "\(customers.text)")
        }
    }
}
