import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// A decoded JSON answer, walked with optional chaining: `response.json["error"]?["code"]?.string`.
enum RouteJSON: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([RouteJSON])
    case object([String: RouteJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([RouteJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: RouteJSON].self))
        }
    }

    subscript(key: String) -> RouteJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    subscript(index: Int) -> RouteJSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [RouteJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var isNull: Bool { self == .null }

    /// The keys of an object, sorted.
    var keys: [String] {
        if case .object(let members) = self { return members.keys.sorted() }
        return []
    }

    /// The `id`s of a list object's `data`, in order.
    var ids: [String] { (self["data"]?.array ?? []).compactMap { $0["id"]?.string } }
}

/// One answer of the router: status, headers and the body (as JSON when it is JSON, else `.null`).
struct RouteResponse: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String
    let json: RouteJSON

    /// The `error` object of an error answer (or `.null`).
    var error: RouteJSON { json["error"] ?? .null }
}

/// A client of the real router over a fresh ``TestHTTP`` (its own temporary database), signed in with the
/// secret key unless told otherwise.
struct RouteClient: Sendable {
    let client: any TestClientProtocol
    let http: TestHTTP

    /// The database, network ledger and clock behind the router.
    var environment: TestEnvironment { http.environment }

    // MARK: - Requests

    /// `POST path` with a form body.
    func post(
        _ path: String,
        _ form: [String: String] = [:],
        auth: String? = TestHTTP.secretAuth
    ) async throws -> RouteResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let auth { headers[.authorization] = auth }
        return try await send(path, method: .post, headers: headers, body: Self.formEncoded(form))
    }

    /// `GET path?query`.
    func get(_ path: String, _ query: [String: String] = [:], auth: String? = TestHTTP.secretAuth) async throws
        -> RouteResponse
    {
        var headers: HTTPFields = [:]
        if let auth { headers[.authorization] = auth }
        let uri = query.isEmpty ? path : path + "?" + Self.formEncoded(query)
        return try await send(uri, method: .get, headers: headers, body: nil)
    }

    /// `DELETE path`.
    func delete(_ path: String, auth: String? = TestHTTP.secretAuth) async throws -> RouteResponse {
        var headers: HTTPFields = [:]
        if let auth { headers[.authorization] = auth }
        return try await send(path, method: .delete, headers: headers, body: nil)
    }

    private func send(_ uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: String?) async throws
        -> RouteResponse
    {
        let response = try await client.executeRequest(
            uri: uri,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        )
        let text = String(buffer: response.body)
        let json = (try? JSONDecoder().decode(RouteJSON.self, from: Data(text.utf8))) ?? .null
        return RouteResponse(status: Int(response.status.code), headers: response.headers, text: text, json: json)
    }

    /// `application/x-www-form-urlencoded`, brackets and all escaped.
    static func formEncoded(_ fields: [String: String]) -> String {
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
        }
        return fields.sorted { $0.key < $1.key }.map { "\(escape($0.key))=\(escape($0.value))" }.joined(separator: "&")
    }

    // MARK: - Fixtures

    /// A test card's expiry: the test clock starts in 2026.
    static let expYear = "2030"

    /// Creates a customer and returns its id.
    func createCustomer(_ form: [String: String] = [:]) async throws -> String {
        let response = try await post("/v1/customers", form)
        try #require(response.status == 200, "create customer: \(response.text)")
        return try #require(response.json["id"]?.string)
    }

    /// Creates a card PaymentMethod for `number` (with a CVC) and returns its id.
    func createCard(_ number: String) async throws -> String {
        let response = try await post(
            "/v1/payment_methods",
            [
                "type": "card", "card[number]": number, "card[exp_month]": "12", "card[exp_year]": Self.expYear,
                "card[cvc]": "123",
            ]
        )
        try #require(response.status == 200, "create card \(number): \(response.text)")
        return try #require(response.json["id"]?.string)
    }

    /// `POST /v1/payment_methods/:id/attach`.
    func attach(_ paymentMethod: String, to customer: String) async throws -> RouteResponse {
        try await post("/v1/payment_methods/\(paymentMethod)/attach", ["customer": customer])
    }

    /// Creates a card and attaches it to `customer`; returns the card's id.
    func savedCard(_ number: String, customer: String) async throws -> String {
        let card = try await createCard(number)
        let response = try await attach(card, to: customer)
        try #require(response.status == 200, "attach \(number): \(response.text)")
        return card
    }

    /// `POST /v1/payment_intents` with `amount=1000&currency=usd` unless `form` says otherwise.
    func createIntent(_ form: [String: String]) async throws -> RouteResponse {
        try await post("/v1/payment_intents", ["amount": "1000", "currency": "usd"].merging(form) { $1 })
    }

    /// `GET /v1/payment_intents/:id`, optionally expanding `latest_charge`.
    func intent(_ id: String, expandCharge: Bool = false) async throws -> RouteJSON {
        let response = try await get(
            "/v1/payment_intents/\(id)",
            expandCharge ? ["expand[]": "latest_charge"] : [:]
        )
        try #require(response.status == 200, "retrieve \(id): \(response.text)")
        return response.json
    }

    /// The customer a payment method is attached to now (nil when none).
    func owner(of paymentMethod: String) async throws -> String? {
        let response = try await get("/v1/payment_methods/\(paymentMethod)")
        try #require(response.status == 200, "retrieve \(paymentMethod): \(response.text)")
        return response.json["customer"]?.string
    }

    /// Answers the 3-D Secure challenge of an intent in `requires_action` (no API key, as a browser would).
    func answerChallenge(of intent: RouteJSON, outcome: String) async throws -> RouteResponse {
        let link = try #require(intent["next_action"]?["redirect_to_url"]?["url"]?.string)
        let path = try #require(URL(string: link)?.path)
        return try await post(path, ["outcome": outcome], auth: nil)
    }
}

/// Runs `test` against the real router over a fresh environment.
func withRouter(_ test: @Sendable (RouteClient) async throws -> Void) async throws {
    let http = try TestHTTP()
    try await http.application().test(.router) { client in
        try await test(RouteClient(client: client, http: http))
    }
}
