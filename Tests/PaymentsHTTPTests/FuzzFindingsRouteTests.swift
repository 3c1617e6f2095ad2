import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PaymentsHTTP
import TestSupport
import Testing

/// What `scripts/fuzz` (schemathesis against the OpenAPI description) found, each fixed in the server: bad input gets a
/// clear error in its documented shape, never a 500 or a body larger than the input deserves.
@Suite("Fuzz findings")
struct FuzzFindingsRouteTests {
    /// Runs `test` against the application with the checkout's static files served from `Public/`, as
    /// `payments serve` has them (the static files' middleware looks for a file when no route answered a GET).
    static func withStaticFiles(_ test: @Sendable (WireClient) async throws -> Void) async throws {
        let http = try TestHTTP()
        let services = HTTPServices(
            context: http.environment.context,
            keys: APIKeys(secret: TestHTTP.secretKey, publishable: TestHTTP.publishableKey),
            catalog: .development,
            publicFolder: TestPaths.root.appendingPathComponent("Public").path
        )
        let application = buildApplication(
            .init(port: 0, sweepInterval: 0),
            services: services,
            logger: Logger(label: "payments.test")
        )
        try await application.test(.router) { client in
            try await test(WireClient(client: client, http: http))
        }
    }

    @Test(
        "A path with a broken percent escape is a 400 invalid_request_error, not a 500",
        arguments: ["/checkout/%C2%A", "/health%A"]
    )
    func badPercentEncoding(path: String) async throws {
        try await Self.withStaticFiles { wire in
            // Given the static files are served, as by the binary; when no route answers a GET whose path has a
            // broken escape (the static files' middleware refuses to decode it)
            let response = try await wire.get(path, auth: nil)
            // Then Stripe's error, the client's fault
            #expect(response.status == 400, "\(response.text)")
            #expect(response.error["type"]?.string == "invalid_request_error")
            #expect(response.error["message"]?.string?.isEmpty == false)
            #expect(response.header("Content-Type") == "application/json")
        }
    }

    @Test("An error that quotes an over-long id or parameter name shows at most 5000 characters of it")
    func longQuotesAreClipped() async throws {
        try await withWire { wire in
            // An id in the URL
            let id = "ch_" + String(repeating: "x", count: 6000)
            let missing = try await wire.get("/v1/charges/\(id)")
            #expect(missing.status == 404)
            #expect(missing.error["code"]?.string == "resource_missing")
            let message = try #require(missing.error["message"]?.string)
            #expect(message.count == 5000)
            #expect(message.hasPrefix("No such charge: 'ch_xxx") && message.hasSuffix("…"))
            // An unknown parameter's name in the body
            let name = String(repeating: "p", count: 100_000)
            let unknown = try await wire.post(
                "/v1/payment_intents",
                [("amount", "2000"), ("currency", "usd"), (name, "1")]
            )
            #expect(unknown.status == 400)
            #expect(unknown.error["code"]?.string == "parameter_unknown")
            #expect(unknown.error["message"]?.string?.count == 5000)
            #expect(unknown.error["param"]?.string?.count == 5000)
            #expect(unknown.error["param"]?.string?.hasPrefix("ppp") == true)
            // And nothing was made
            #expect(try await wire.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test(
        "An error before /pay's or /save-card's handler has the seed client's shape",
        arguments: ["/pay", "/save-card"]
    )
    func checkoutErrorsBeforeTheHandler(path: String) async throws {
        try await withWire { wire in
            // An Idempotency-Key over 255 characters
            var headers = HTTPFields()
            headers[.init("Idempotency-Key")!] = String(repeating: "k", count: 256)
            let tooLong = try await wire.send(
                .post,
                path,
                body: #"{"payment_method_id": "pm_card_visa"}"#,
                contentType: "application/json",
                auth: nil,
                headers: headers
            )
            #expect(tooLong.status == 400)
            #expect(tooLong.error["code"]?.string == "idempotency_key_invalid")
            #expect(tooLong.error.has("decline_code"))
            #expect(!tooLong.error.has("type"), "Stripe's shape instead of the seed client's: \(tooLong.text)")
            // A body that is not JSON, read by the idempotency middleware for its fingerprint
            headers[.init("Idempotency-Key")!] = "checkout-bad-json"
            let badJSON = try await wire.send(
                .post,
                path,
                body: "{not json",
                contentType: "application/json",
                auth: nil,
                headers: headers
            )
            #expect(badJSON.status == 400)
            #expect(badJSON.error["message"]?.string?.isEmpty == false)
            #expect(badJSON.error.has("code") && badJSON.error.has("decline_code") && !badJSON.error.has("type"))
            // Nothing was charged or saved
            #expect(try await wire.listCount("/v1/payment_intents") == 0)
            #expect(try await wire.listCount("/v1/customers") == 0)
        }
    }
}
