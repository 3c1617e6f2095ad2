import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

@testable import PaymentsHTTP

/// Runs `test` against the real router with `limits`.
private func withLimits(_ limits: HTTPLimits, _ test: @Sendable (WireClient) async throws -> Void) async throws {
    var http = try TestHTTP()
    http.services.limits = limits
    let configured = http
    try await configured.application().test(.router) { client in
        try await test(WireClient(client: client, http: configured))
    }
}

/// Each request limit: just under passes, just over gets a Stripe-style error and stores nothing.
@Suite("Request limits (router)")
struct LimitsRouteTests {
    /// `metadata[k0]=v ... metadata[k(n-1)]=v`.
    static func metadata(keys: Int, key: (Int) -> String = { "k\($0)" }, value: String = "v") -> [(String, String)] {
        (0..<keys).map { ("metadata[\(key($0))]", value) }
    }

    @Test("maxFormParameters: 12 parameters pass, 13 are a 400 parameters_too_many (form and JSON)")
    func formParameters() async throws {
        try await withLimits(HTTPLimits(maxFormParameters: 12)) { api in
            // amount + currency + 10 metadata keys = 12
            let under = try await api.createIntent(Self.metadata(keys: 10))
            #expect(under.status == 200, "\(under.text)")
            let over = try await api.createIntent(Self.metadata(keys: 11))
            #expect(over.status == 400, "\(over.text)")
            #expect(over.error["type"]?.string == "invalid_request_error")
            #expect(over.error["code"]?.string == "parameters_too_many")
            // The same limit on a keyed request (parsed by the idempotency middleware) and on a query string
            let keyed = try await api.post(
                "/v1/payment_intents",
                [("amount", "2000"), ("currency", "usd")] + Self.metadata(keys: 11),
                headers: [.init("Idempotency-Key")!: "too-many"]
            )
            #expect(keyed.error["code"]?.string == "parameters_too_many", "\(keyed.text)")
            let query = try await api.get("/v1/payment_intents", (0..<13).map { ("expand[]", "data.customer\($0)") })
            #expect(query.error["code"]?.string == "parameters_too_many", "\(query.text)")
            let json = try await api.postJSON(
                "/pay",
                "{" + (0..<13).map { #""k\#($0)": "v""# }.joined(separator: ",") + "}",
                auth: nil
            )
            #expect(json.status == 400, "\(json.text)")
            #expect(json.error["code"]?.string == "parameters_too_many", "\(json.text)")
            #expect(try await api.listCount("/v1/payment_intents") == 1)
        }
    }

    @Test("maxBodyBytes: a body of exactly the limit passes, one byte more is a 413 request_too_large")
    func body() async throws {
        let limit = 2048
        try await withLimits(HTTPLimits(maxBodyBytes: limit)) { api in
            #expect(SampleRequests.createBody(bytes: limit).utf8.count == limit)
            let under = try await api.send(.post, "/v1/payment_intents", body: SampleRequests.createBody(bytes: limit))
            #expect(under.status == 200, "\(under.text)")
            let over = try await api.send(
                .post,
                "/v1/payment_intents",
                body: SampleRequests.createBody(bytes: limit + 1)
            )
            #expect(over.status == 413, "\(over.text)")
            #expect(over.error["type"]?.string == "invalid_request_error")
            #expect(over.error["code"]?.string == "request_too_large")
            #expect(try await api.listCount("/v1/payment_intents") == 1)
        }
    }

    @Test("maxHeaderCount and maxHeaderBytes: at the limit passes, over is a 431 with Stripe's error object")
    func headers() async throws {
        try await withLimits(HTTPLimits(maxHeaderBytes: 1024, maxHeaderCount: 10)) { api in
            // The test client sends Host (localhost), Authorization, Content-Type and Content-Length: 4 fields, whose
            // bytes count too.
            let body = "amount=2000&currency=usd"
            let base =
                "Host".utf8.count + "localhost".utf8.count + "Authorization".utf8.count + WireClient.secret.utf8.count
                + "Content-Type".utf8.count
                + "application/x-www-form-urlencoded".utf8.count + "Content-Length".utf8.count
                + String(body.utf8.count).utf8.count
            var padded = HTTPFields()
            padded[.init("X-Pad")!] = String(repeating: "p", count: 1024 - base - "X-Pad".utf8.count)
            let atBytes = try await api.send(.post, "/v1/payment_intents", body: body, headers: padded)
            #expect(atBytes.status == 200, "\(atBytes.text)")
            padded[.init("X-Pad")!]! += "p"
            let overBytes = try await api.send(
                .post,
                "/v1/payment_intents",
                body: body,
                headers: padded
            )
            #expect(overBytes.status == 431, "\(overBytes.text)")
            #expect(overBytes.error["code"]?.string == "request_header_fields_too_large")

            var many = HTTPFields()
            for index in 0..<6 { many.append(HTTPField(name: .init("X-H\(index)")!, value: "1")) }
            let atCount = try await api.send(.post, "/v1/payment_intents", body: body, headers: many)
            #expect(atCount.status == 200, "\(atCount.text)")
            many.append(HTTPField(name: .init("X-H6")!, value: "1"))
            let overCount = try await api.send(
                .post,
                "/v1/payment_intents",
                body: body,
                headers: many
            )
            #expect(overCount.status == 431, "\(overCount.text)")
            #expect(overCount.error["type"]?.string == "invalid_request_error")
            #expect(try await api.listCount("/v1/payment_intents") == 2)
        }
    }

    @Test(
        "On /pay and /save-card a body over the size limit and headers over the limits get the seed client's 400",
        arguments: ["/pay", "/save-card"]
    )
    func checkoutLimits(path: String) async throws {
        try await withLimits(HTTPLimits(maxBodyBytes: 2048, maxHeaderBytes: 1024, maxHeaderCount: 10)) { api in
            // A body whose Content-Length is over the limit (refused before it is read)
            let big = #"{"payment_method_id": "pm_card_visa", "item": ""# + String(repeating: "a", count: 3000) + #""}"#
            let body = try await api.send(.post, path, body: big, contentType: "application/json", auth: nil)
            // Header fields over the count limit
            var many = HTTPFields()
            for index in 0..<10 { many.append(HTTPField(name: .init("X-H\(index)")!, value: "1")) }
            let headers = try await api.send(
                .post,
                path,
                body: #"{"payment_method_id": "pm_card_visa"}"#,
                contentType: "application/json",
                auth: nil,
                headers: many
            )
            // Each in the shape the handler's own errors have (the seed's client reads error.message), as a body cut
            // off while read (chunked) is
            for (answer, code) in [(body, "request_too_large"), (headers, "request_header_fields_too_large")] {
                #expect(answer.status == 400, "\(answer.text)")
                #expect(answer.error["code"]?.string == code, "\(answer.text)")
                #expect(answer.error["message"]?.string?.isEmpty == false)
                #expect(answer.error.has("decline_code"), "\(answer.text)")
                #expect(!answer.error.has("type"), "Stripe's shape instead of the seed client's: \(answer.text)")
            }
            #expect(try await api.listCount("/v1/payment_intents") == 0)
        }
    }

    @Test("Metadata (Stripe's fixed limits): 50 keys pass, 51 do not; keys of 40 characters, values of 500")
    func metadata() async throws {
        try await withWire { api in
            let cases: [(form: [(String, String)], passes: Bool)] = [
                (Self.metadata(keys: 50), true),
                (Self.metadata(keys: 51), false),
                (Self.metadata(keys: 1, key: { _ in String(repeating: "k", count: 40) }), true),
                (Self.metadata(keys: 1, key: { _ in String(repeating: "k", count: 41) }), false),
                (Self.metadata(keys: 1, value: String(repeating: "v", count: 500)), true),
                (Self.metadata(keys: 1, value: String(repeating: "v", count: 501)), false),
            ]
            var created = 0
            for (form, passes) in cases {
                let answer = try await api.createIntent(form)
                if passes {
                    #expect(answer.status == 200, "\(answer.text)")
                    created += 1
                } else {
                    #expect(answer.status == 400, "\(answer.text)")
                    #expect(answer.error["type"]?.string == "invalid_request_error")
                    #expect(answer.error["param"]?.string?.hasPrefix("metadata") == true, "\(answer.text)")
                }
            }
            #expect(try await api.listCount("/v1/payment_intents") == created)
        }
    }

    @Test("A list's limit (Stripe's fixed 1...100): 100 passes, 101 is a 400 naming limit")
    func listLimit() async throws {
        try await withWire { api in
            #expect(try await api.get("/v1/customers", [("limit", "100")]).status == 200)
            let over = try await api.get("/v1/customers", [("limit", "101")])
            #expect(over.status == 400, "\(over.text)")
            #expect(over.error["param"]?.string == "limit")
        }
    }

    @Test("Settings that cannot work are refused")
    func problems() {
        #expect(HTTPLimits().problem == nil)
        #expect(HTTPLimits(maxBodyBytes: 10).problem != nil)
        #expect(HTTPLimits(maxFormParameters: 0).problem != nil)
        #expect(HTTPLimits(rateLimit: -1).problem != nil)
        #expect(HTTPLimits(rateLimit: 5, rateLimitBurst: 0.5).problem != nil)
        #expect(HTTPLimits(rateLimit: 5).effectiveBurst == 5)
        #expect(HTTPLimits(rateLimit: 0.5).effectiveBurst == 1)
        // The idle timeout: 0 is never, a negative, infinite or over a day's timeout is refused
        #expect(HTTPLimits(idleTimeout: 0).problem == nil && HTTPLimits(idleTimeout: 0).connectionIdleTimeout == nil)
        #expect(HTTPLimits(idleTimeout: 1.5).connectionIdleTimeout == .milliseconds(1500))
        for refused in [-1, .infinity, .nan, 86_401] { #expect(HTTPLimits(idleTimeout: refused).problem != nil) }
    }
}
