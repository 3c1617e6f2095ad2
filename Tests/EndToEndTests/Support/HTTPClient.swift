import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One HTTP answer: status, headers (names lowercased) and body.
struct HTTPAnswer: Sendable, CustomStringConvertible {
    let status: Int
    let headers: [String: String]
    let body: Data

    var text: String { String(decoding: body, as: UTF8.self) }

    /// The body as JSON; throws when it is not.
    func json() throws -> JSON { try JSON.parse(body) }

    func header(_ name: String) -> String? { headers[name.lowercased()] }

    var description: String { "HTTP \(status)\n\(text.prefix(4000))" }
}

/// How a request authenticates to `/v1`.
enum Credential: Sendable {
    /// `Authorization: Bearer KEY`.
    case bearer(String)
    /// HTTP Basic with the key as user name and no password, as `curl -u KEY:` sends.
    case basic(String)

    var header: String {
        switch self {
        case .bearer(let key): "Bearer \(key)"
        case .basic(let key): "Basic " + Data("\(key):".utf8).base64EncodedString()
        }
    }
}

/// A small URLSession client for one server.
struct HTTPClient: Sendable {
    let baseURL: URL
    private let session: URLSession

    init(baseURL: URL) {
        self.baseURL = baseURL
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.timeoutIntervalForResource = 60
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        self.session = URLSession(configuration: configuration)
    }

    /// `path` relative to the server (`/v1/payment_intents`) or an absolute URL (a challenge page).
    func url(_ path: String, query: [(String, String)] = []) throws -> URL {
        let absolute = path.hasPrefix("http://") || path.hasPrefix("https://")
        guard var components = URLComponents(string: absolute ? path : baseURL.absoluteString + path) else {
            throw EndToEndError("Bad URL: \(path)")
        }
        if !query.isEmpty {
            components.queryItems = (components.queryItems ?? []) + query.map { URLQueryItem(name: $0.0, value: $0.1) }
        }
        guard let url = components.url else { throw EndToEndError("Bad URL: \(path)") }
        return url
    }

    func get(_ path: String, query: [(String, String)] = [], auth: Credential? = nil) async throws -> HTTPAnswer {
        var request = URLRequest(url: try url(path, query: query))
        request.httpMethod = "GET"
        return try await send(request, auth: auth)
    }

    /// A POST with an `application/x-www-form-urlencoded` body (Stripe's wire format).
    func postForm(
        _ path: String,
        _ form: [(String, String)] = [],
        auth: Credential? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPAnswer {
        var request = URLRequest(url: try url(path))
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = Data(Self.formEncode(form).utf8)
        return try await send(request, auth: auth)
    }

    /// A POST retried while its idempotency key is in flight (409), as Stripe's libraries do: after a crash the
    /// dead request's key is refused until its lease runs out, then the retry takes it over and resumes.
    /// - Parameter patience: how long to keep retrying; well over the short lease the tests' servers run with.
    func postFormRetryingInFlight(
        _ path: String,
        _ form: [(String, String)] = [],
        auth: Credential? = nil,
        headers: [String: String] = [:],
        patience: Duration = .seconds(20)
    ) async throws -> HTTPAnswer {
        let deadline = ContinuousClock.now + patience
        while true {
            let answer = try await postForm(path, form, auth: auth, headers: headers)
            guard answer.status == 409, ContinuousClock.now < deadline else { return answer }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// A POST with a JSON object body, as the seed's client sends to `/pay`.
    func postJSON(_ path: String, _ object: [String: String], auth: Credential? = nil) async throws -> HTTPAnswer {
        var request = URLRequest(url: try url(path))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return try await send(request, auth: auth)
    }

    func send(_ request: URLRequest, auth: Credential?) async throws -> HTTPAnswer {
        var request = request
        if let auth { request.setValue(auth.header, forHTTPHeaderField: "Authorization") }
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else {
            throw EndToEndError("Not an HTTP response from \(request.url?.absoluteString ?? "?")")
        }
        var headers: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return HTTPAnswer(status: http.statusCode, headers: headers, body: data)
    }

    static func formEncode(_ form: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        func encode(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text }
        return form.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
    }
}
