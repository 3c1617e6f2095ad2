import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TestSupport
import Testing

/// A decoded JSON body, walked with optional chaining: `response.json["error"]?["code"]?.string`.
enum WireJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(NSNumber)
    case string(String)
    case array([WireJSON])
    case object([String: WireJSON])

    /// Decodes `data` with `JSONSerialization`; nil when it is not JSON.
    static func parse(_ data: Data) -> WireJSON? {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            return nil
        }
        return WireJSON(object)
    }

    private init(_ value: Any) {
        switch value {
        case let dictionary as [String: Any]: self = .object(dictionary.mapValues(WireJSON.init))
        case let array as [Any]: self = .array(array.map(WireJSON.init))
        case let string as String: self = .string(string)
        case let number as NSNumber:
            // JSON booleans arrive as NSNumber with the Objective-C type "c"; numbers do not.
            self = String(cString: number.objCType) == "c" ? .bool(number.boolValue) : .number(number)
        default: self = .null
        }
    }

    subscript(key: String) -> WireJSON? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    subscript(index: Int) -> WireJSON? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var int: Int64? {
        if case .number(let value) = self { return value.int64Value }
        return nil
    }

    var bool: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var array: [WireJSON]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var object: [String: WireJSON]? {
        if case .object(let members) = self { return members }
        return nil
    }

    var isNull: Bool { self == .null }

    /// Whether an object has `key` at all (a `null` value counts).
    func has(_ key: String) -> Bool {
        if case .object(let members) = self { return members[key] != nil }
        return false
    }

    /// The value at a dotted path of objects (`latest_charge.review`), as `expand[]` names one; nil when a key on
    /// the way is missing, `.null` when the value is there and null.
    func at(_ path: String) -> WireJSON? {
        path.split(separator: ".").reduce(self) { value, key in value?[String(key)] }
    }

    /// The `id`s of a list object's `data`, in order.
    var ids: [String] { (self["data"]?.array ?? []).compactMap { $0["id"]?.string } }
}

/// One answer of the router.
struct WireResponse: Sendable {
    let status: Int
    let headers: HTTPFields
    let text: String
    /// The body as JSON, or `.null` when it is not JSON.
    let json: WireJSON

    /// The `error` object of an error answer (`.null` otherwise).
    var error: WireJSON { json["error"] ?? .null }

    /// A header's value.
    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }

    /// Whether this is the 400 that refuses `expand[]=value`: "This property cannot be expanded (value)."
    func refusesExpanding(_ value: String) -> Bool {
        status == 400 && error["param"]?.string == "expand"
            && error["message"]?.string == "This property cannot be expanded (\(value))."
    }
}

/// A Stripe-style client of the real router over a fresh ``TestHTTP`` (its own temporary database). Every
/// answer it gets is checked for a `Request-Id` of Stripe's shape.
struct WireClient: Sendable {
    let client: any TestClientProtocol
    let http: TestHTTP

    /// The database, network ledger and clock behind the router.
    var environment: TestEnvironment { http.environment }

    /// `Bearer` with the test router's secret key.
    static let secret = TestHTTP.secretAuth
    /// `Bearer` with the test router's publishable key.
    static let publishable = TestHTTP.publishableAuth

    // MARK: - Requests

    /// Sends a request with a raw body.
    func send(
        _ method: HTTPRequest.Method,
        _ uri: String,
        body: String? = nil,
        contentType: String? = "application/x-www-form-urlencoded",
        auth: String? = WireClient.secret,
        headers extra: HTTPFields = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        var headers = extra
        if let auth { headers[.authorization] = auth }
        if body != nil, let contentType { headers[.contentType] = contentType }
        let response = try await client.executeRequest(
            uri: uri,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        )
        let text = String(buffer: response.body)
        let answer = WireResponse(
            status: Int(response.status.code),
            headers: response.headers,
            text: text,
            json: WireJSON.parse(Data(text.utf8)) ?? .null
        )
        let requestID = answer.header("Request-Id") ?? ""
        #expect(
            requestID.wholeMatch(of: /req_[A-Za-z0-9]{14}/) != nil,
            "Request-Id '\(requestID)' on \(method) \(uri)",
            sourceLocation: sourceLocation
        )
        return answer
    }

    /// `POST path` with a form body; pairs keep their order, so a key may repeat (`expand[]`).
    func post(
        _ path: String,
        _ form: [(String, String)] = [],
        auth: String? = WireClient.secret,
        headers: HTTPFields = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await send(
            .post,
            path,
            body: Self.formEncoded(form),
            auth: auth,
            headers: headers,
            sourceLocation: sourceLocation
        )
    }

    /// `POST path` with a JSON body.
    func postJSON(
        _ path: String,
        _ json: String,
        auth: String? = WireClient.secret,
        headers: HTTPFields = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await send(
            .post,
            path,
            body: json,
            contentType: "application/json",
            auth: auth,
            headers: headers,
            sourceLocation: sourceLocation
        )
    }

    /// `GET path?query`.
    func get(
        _ path: String,
        _ query: [(String, String)] = [],
        auth: String? = WireClient.secret,
        headers: HTTPFields = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        let uri = query.isEmpty ? path : path + "?" + Self.formEncoded(query)
        return try await send(.get, uri, body: nil, auth: auth, headers: headers, sourceLocation: sourceLocation)
    }

    /// `application/x-www-form-urlencoded`, everything but unreserved characters escaped (brackets too, as the
    /// SDKs send them).
    static func formEncoded(_ fields: [(String, String)]) -> String {
        let unreserved = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        )
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
        }
        return fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    // MARK: - Fixtures

    /// Creates a card PaymentMethod (valid until 12/2030, with a CVC) and returns its id.
    func card(_ number: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let response = try await post(
            "/v1/payment_methods",
            [
                ("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2030"),
                ("card[cvc]", "123"),
            ],
            sourceLocation: sourceLocation
        )
        try #require(response.status == 200, "create card \(number): \(response.text)", sourceLocation: sourceLocation)
        return try #require(response.json["id"]?.string, sourceLocation: sourceLocation)
    }

    /// `POST /v1/payment_intents` for 20.00 USD plus `form`.
    func createIntent(
        _ form: [(String, String)] = [],
        auth: String? = WireClient.secret,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> WireResponse {
        try await post(
            "/v1/payment_intents",
            [("amount", "2000"), ("currency", "usd")] + form,
            auth: auth,
            sourceLocation: sourceLocation
        )
    }

    /// Creates an intent that must succeed with status 200 and returns its JSON.
    func intent(_ form: [(String, String)] = [], sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> WireJSON
    {
        let response = try await createIntent(form, sourceLocation: sourceLocation)
        try #require(response.status == 200, "create intent: \(response.text)", sourceLocation: sourceLocation)
        return response.json
    }

    /// How many objects a list endpoint (`/v1/payment_intents`, `/v1/customers`) has, up to 100.
    func listCount(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let response = try await get(path, [("limit", "100")], sourceLocation: sourceLocation)
        try #require(response.status == 200, "list \(path): \(response.text)", sourceLocation: sourceLocation)
        return response.json.ids.count
    }

    /// The customer's `outcome=complete` posted to `intent`'s challenge page, without a key, as a browser posts it.
    func completeChallenge(of intent: WireJSON, sourceLocation: SourceLocation = #_sourceLocation) async throws
        -> WireResponse
    {
        try await send(
            .post,
            try challengePath(of: intent, sourceLocation: sourceLocation),
            body: "outcome=complete",
            auth: nil
        )
    }

    /// The path of an intent's 3-D Secure challenge (`next_action.redirect_to_url.url` without the host).
    func challengePath(of intent: WireJSON, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let link = try #require(
            intent["next_action"]?["redirect_to_url"]?["url"]?.string,
            sourceLocation: sourceLocation
        )
        #expect(link.hasPrefix(TestEnvironment.baseURL + "/3ds/"), sourceLocation: sourceLocation)
        return try #require(URL(string: link)?.path, sourceLocation: sourceLocation)
    }
}

/// Runs `test` against the real router over a fresh environment.
func withWire(_ given: TestHTTP? = nil, _ test: @Sendable (WireClient) async throws -> Void) async throws {
    let http = try given ?? TestHTTP()
    try await http.application().test(.router) { client in
        try await test(WireClient(client: client, http: http))
    }
}
