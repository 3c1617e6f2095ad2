import Foundation
import Hummingbird
import PaymentsHTTP
import Prometheus
import TestSupport
import Testing

/// The OpenAPI description (`openapi/openapi.json`, served at `GET /openapi.json`) against the router it describes.
@Suite("OpenAPI description")
struct OpenAPIRouteTests {
    /// Described pages that the checkout's static files answer (Hummingbird's `FileMiddleware`), not a route of the
    /// router, with the file each one serves.
    static let staticPages = ["GET /checkout/": "Public/checkout/index.html"]

    /// The description, parsed from the repository's file.
    static func document() throws -> [String: Any] {
        let data = try Data(contentsOf: TestPaths.root.appendingPathComponent("openapi/openapi.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Every operation the description has, as `METHOD /path` (`GET /v1/customers/{id}`).
    static func describedOperations(_ document: [String: Any]) throws -> Set<String> {
        let paths = try #require(document["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        return Set(
            paths.flatMap { path, item in
                item.keys.filter(methods.contains).map { "\($0.uppercased()) \(path)" }
            }
        )
    }

    /// Every route of the router `payments serve` runs (with `/metrics` on, as the binary has it), as
    /// `METHOD /path`; Hummingbird writes a capture as `{id}`, as OpenAPI does.
    static func routerOperations() throws -> Set<String> {
        let http = try TestHTTP()
        let services = HTTPServices(
            context: http.environment.context,
            keys: APIKeys(secret: TestHTTP.secretKey, publishable: TestHTTP.publishableKey),
            catalog: .development,
            metrics: PrometheusCollectorRegistry()
        )
        return Set(buildRouter(services: services).routes.map { "\($0.method.rawValue) \($0.path)" })
    }

    @Test("Every route of the router is described, and every described operation is a route or a static page")
    func routesMatchTheDescription() throws {
        let described = try Self.describedOperations(Self.document())
        let routes = try Self.routerOperations()
        // Routes first: a sanity check that enumerating the router sees what it should.
        #expect(routes.contains("POST /v1/payment_intents/{id}/confirm"))
        #expect(routes.contains("GET /openapi.json"))
        #expect(routes.contains("GET /metrics"))
        let undescribed = routes.subtracting(described)
        let phantom = described.subtracting(routes).subtracting(Self.staticPages.keys)
        #expect(undescribed.isEmpty, "routes missing from openapi/openapi.json: \(undescribed.sorted())")
        #expect(phantom.isEmpty, "described operations the router lacks: \(phantom.sorted())")
        for (page, file) in Self.staticPages {
            #expect(described.contains(page))
            #expect(FileManager.default.fileExists(atPath: TestPaths.root.appendingPathComponent(file).path), "\(page)")
        }
    }

    @Test("Every /v1 operation has its key, its errors and, for a POST, form and JSON bodies and the idempotency key")
    func v1OperationsAreComplete() throws {
        let paths = try #require(try Self.document()["paths"] as? [String: [String: [String: Any]]])
        var checked = 0
        for (path, item) in paths where path.hasPrefix("/v1/") {
            for (method, operation) in item {
                let name = "\(method.uppercased()) \(path)"
                let responses = try #require(operation["responses"] as? [String: Any], "\(name)")
                for status in ["200", "400", "401", "404", "429", "500"] {
                    #expect(responses[status] != nil, "\(name) lacks \(status)")
                }
                let security = try #require(operation["security"] as? [[String: [String]]], "\(name)")
                #expect(security.contains { $0.keys.contains("secretKey") }, "\(name)")
                let parameters = (operation["parameters"] as? [[String: Any]]) ?? []
                let references = parameters.compactMap { $0["$ref"] as? String }
                #expect(references.contains("#/components/parameters/StripeVersion"), "\(name)")
                if method == "post" {
                    #expect(responses["409"] != nil, "\(name) lacks 409")
                    #expect(references.contains("#/components/parameters/IdempotencyKey"), "\(name)")
                    let body = try #require(operation["requestBody"] as? [String: Any], "\(name)")
                    let content = try #require(body["content"] as? [String: Any], "\(name)")
                    #expect(content["application/x-www-form-urlencoded"] != nil, "\(name)")
                    #expect(content["application/json"] != nil, "\(name)")
                }
                checked += 1
            }
        }
        #expect(checked == (try Self.routerOperations()).filter { $0.contains(" /v1/") }.count)
    }

    @Test("GET /openapi.json serves the repository's file byte for byte, as JSON, without an API key")
    func servedWithoutAKey() async throws {
        let file = try String(
            contentsOf: TestPaths.root.appendingPathComponent("openapi/openapi.json"),
            encoding: .utf8
        )
        try await withWire { wire in
            let response = try await wire.get("/openapi.json", auth: nil)
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.json["openapi"]?.string == "3.1.0")
            #expect(response.text == file, "the served description differs from openapi/openapi.json")
        }
    }
}
