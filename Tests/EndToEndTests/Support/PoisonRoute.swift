import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One route of the service, as the card-data leak test poisons it: its method and path (with real ids), how it
/// authenticates, a valid request's parameters, and the parameters it takes.
struct PoisonRoute: Sendable {
    let method: String
    /// The path, with the ids of real objects.
    let path: String
    let auth: Credential?
    /// Parameters of an otherwise valid request.
    var base: [(String, String)] = []
    /// The route's own parameters, each poisoned in turn (besides `description`, `metadata[note]` and an unknown
    /// one, which every route gets).
    var params: [String] = []
    /// The body is JSON (`/pay`, `/save-card`), not a form.
    var jsonBody = false
    /// The route reads its query or body; a route that does not (`/health`, the challenge page's GET) may answer
    /// 2xx, ignoring what it was sent.
    var readsParameters = true
    /// The route refuses parameters it does not know; the challenge page's answer, an HTML form, ignores them (it
    /// stores nothing but the answer).
    var refusesUnknownParameters = true
    /// The route takes `card[cvc]` (creating a card PaymentMethod).
    var acceptsCVC = false

    var isPost: Bool { method == "POST" }
    /// Whether the route runs under an `Idempotency-Key` (every POST but the challenge page's answer).
    var takesIdempotencyKey: Bool { isPost && !path.hasPrefix("/3ds/") }
    /// Whether the route is part of the Stripe API, which answers errors in Stripe's `{"error": {...}}` shape.
    var isAPI: Bool { path.hasPrefix("/v1/") }

    /// The ids in the path (`pi_3Ua6…`: a prefix, then random letters and digits), which the test replaces with card
    /// numbers in turn.
    var idSegments: [Int] {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        return segments.indices.filter { index in
            let segment = segments[index]
            return segment.contains("_") && segment.contains { $0.isUppercase || $0.isNumber }
        }
    }

    /// The path with segment `index` replaced by `value` (percent-encoded).
    func path(replacing index: Int, with value: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        segments[index] = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
        return segments.joined(separator: "/")
    }
}

extension HTTPClient {
    /// Any request: `query` in the URL; `form` as a form body, or `json` as a JSON body; extra `headers`.
    func raw(
        _ method: String,
        _ path: String,
        query: [(String, String)] = [],
        form: [(String, String)]? = nil,
        json: [String: Any]? = nil,
        headers: [String: String] = [:],
        auth: Credential?
    ) async throws -> HTTPAnswer {
        var request = URLRequest(url: try url(path, query: query))
        request.httpMethod = method
        if let form {
            request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            request.httpBody = Data(Self.formEncode(form).utf8)
        } else if let json {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        return try await send(request, auth: auth)
    }

    /// `route` with `params`: in the query for GET and DELETE, in the body (form or JSON, as the route takes) for
    /// POST.
    func send(_ route: PoisonRoute, _ params: [(String, String)], headers: [String: String] = [:]) async throws
        -> HTTPAnswer
    {
        let all = route.base + params
        if !route.isPost {
            return try await raw(route.method, route.path, query: all, headers: headers, auth: route.auth)
        }
        if route.jsonBody {
            let object = Dictionary(all, uniquingKeysWith: { _, last in last })
            return try await raw("POST", route.path, json: object, headers: headers, auth: route.auth)
        }
        return try await raw("POST", route.path, form: all, headers: headers, auth: route.auth)
    }
}
