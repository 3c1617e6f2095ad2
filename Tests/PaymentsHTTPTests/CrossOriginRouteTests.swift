import Foundation
import HTTPTypes
import Hummingbird
import Testing

@testable import PaymentsHTTP

/// CORS: what a browser asks before and reads after a call from a page on another origin (`payments.js` with
/// `baseUrl`), checked on the headers, without a browser.
@Suite("Calls from another origin (CORS)")
struct CrossOriginRouteTests {
    static let origin: HTTPFields = [.origin: "https://shop.example"]

    /// The headers of a preflight for `method` with the headers `payments.js` sends.
    static func preflight(_ method: String) -> HTTPFields {
        var headers = origin
        headers[.accessControlRequestMethod] = method
        headers[.accessControlRequestHeaders] = "authorization,content-type,idempotency-key"
        return headers
    }

    @Test(
        "A preflight for an API path is a 204 allowing the methods and headers the API reads",
        arguments: [
            ("POST", "/v1/payment_methods"), ("GET", "/v1/payment_intents/pi_123"),
            ("POST", "/v1/payment_intents/pi_123/confirm"), ("GET", "/v1/setup_intents/seti_123"),
            ("POST", "/v1/setup_intents/seti_123/confirm"), ("DELETE", "/v1/customers/cus_123"),
        ]
    )
    func preflight(method: String, path: String) async throws {
        try await withWire { api in
            // When the browser asks before a call with an Authorization header (no key: a preflight carries none)
            let answer = try await api.send(.options, path, auth: nil, headers: Self.preflight(method))
            // Then 204 with what may be sent (Request-Id checked by the client)
            #expect(answer.status == 204, "\(answer.status) \(answer.text)")
            #expect(answer.header("Access-Control-Allow-Origin") == "*")
            let methods = answer.header("Access-Control-Allow-Methods") ?? ""
            #expect(methods.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains(method))
            let allowed = Set(
                (answer.header("Access-Control-Allow-Headers") ?? "").lowercased().split(separator: ",")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
            )
            #expect(allowed.isSuperset(of: ["authorization", "content-type", "idempotency-key", "stripe-version"]))
            #expect(Int(answer.header("Access-Control-Max-Age") ?? "") ?? 0 > 0)
        }
    }

    @Test("The API's answers, errors included, may be read by another origin's script, with their Request-Id")
    func actualResponses() async throws {
        try await withWire { api in
            // A payment method made with the publishable key, as payments.js makes it
            let created = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"), ("card[cvc]", "123"),
                ],
                auth: WireClient.publishable,
                headers: Self.origin
            )
            #expect(created.status == 200, "\(created.text)")
            // An intent read with its client secret, and errors (no key; an unknown path)
            let intent = try await api.intent()
            let id = try #require(intent["id"]?.string)
            let secret = try #require(intent["client_secret"]?.string)
            let read = try await api.get(
                "/v1/payment_intents/\(id)",
                [("client_secret", secret)],
                auth: WireClient.publishable,
                headers: Self.origin
            )
            #expect(read.status == 200, "\(read.text)")
            let unauthorized = try await api.get("/v1/payment_intents/\(id)", auth: nil, headers: Self.origin)
            #expect(unauthorized.status == 401)
            let unknown = try await api.get("/v1/nothing", headers: Self.origin)
            #expect(unknown.status == 404)
            for answer in [created, read, unauthorized, unknown] {
                #expect(answer.header("Access-Control-Allow-Origin") == "*", "\(answer.status)")
                let exposed = (answer.header("Access-Control-Expose-Headers") ?? "").lowercased()
                #expect(exposed.contains("request-id"), "\(answer.status)")
            }
        }
    }

    @Test("payments.js may be loaded by another origin as a module; the merchant's own endpoints stay same-origin")
    func staticFilesAndCheckoutEndpoints() async throws {
        try await FuzzFindingsRouteTests.withStaticFiles { wire in
            let script = try await wire.get("/js/payments.js", auth: nil, headers: Self.origin)
            #expect(script.status == 200)
            #expect(script.header("Access-Control-Allow-Origin") == "*")
            // /pay takes no key and is called by the merchant's own page: no preflight, no CORS headers
            let preflight = try await wire.send(.options, "/pay", auth: nil, headers: Self.preflight("POST"))
            #expect(preflight.status == 404)
            #expect(preflight.header("Access-Control-Allow-Origin") == nil)
            let pay = try await wire.postJSON("/pay", #"{"payment_method_id": "pm_card_visa"}"#, auth: nil)
            #expect(pay.status == 200, "\(pay.text)")
            #expect(pay.header("Access-Control-Allow-Origin") == nil)
        }
    }

    @Test(
        "A path is the API's when its first segment, as the router reads it, is v1",
        arguments: [
            ("/v1", true), ("/v1/", true), ("/v1/customers", true), ("//v1/customers", true), ("/v10", false),
            ("/v1x/a", false), ("/checkout/", false), ("/", false), ("", false), ("/pay", false),
        ]
    )
    func apiPaths(path: String, api: Bool) {
        #expect(CrossOriginMiddleware.isAPI(path) == api, "\(path)")
    }
}
