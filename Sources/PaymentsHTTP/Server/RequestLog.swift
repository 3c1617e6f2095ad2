import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PaymentsCore

/// The one line logged per request, at `info`: `method`, `path`, `status` and `duration_ms`, with the request's
/// `request_id` from its logger.
///
/// Never the body, the query string or any header: those carry API keys, client secrets and card data. The path
/// is logged without what is secret in it either: the token of a 3-D Secure challenge page (the page's only
/// credential) and any path segment that holds a card number are replaced by `REDACTED`.
enum RequestLog {
    /// What replaces a secret path segment.
    static let redacted = "REDACTED"

    /// Logs the line for `request`, answered with `status`, which started at `started`.
    static func record(
        _ request: Request,
        status: HTTPResponse.Status,
        since started: ContinuousClock.Instant,
        logger: Logger
    ) {
        guard logger.logLevel <= .info else { return }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(path(request.uri.path)),
                "status": .stringConvertible(status.code),
                "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
            ]
        )
    }

    /// Whether a path segment holds a secret: an API key (`sk_`, `pk_` or `rk_`, a whole segment or inside one) or a
    /// client secret (`pi_..._secret_...`), which a client puts where an id belongs (`GET
    /// /v1/payment_intents/<client_secret>`, a 404) and which the log held in full.
    static func isSecret(_ segment: String) -> Bool {
        segment.contains("_secret_") || segment.contains("sk_") || segment.contains("pk_") || segment.contains("rk_")
    }

    /// `path` as it may be logged: the challenge token of `/3ds/:id/:token`, any segment holding a key or a client
    /// secret (``isSecret(_:)``), and a segment holding a card number with every segment after it (where a CVC or
    /// an expiry date follows it: `/v1/x/<number>/739` kept the CVC) replaced by ``redacted``, then cut to the 5000
    /// characters an error body quotes (a 33,000-character id made a 33 KB log line).
    static func path(_ path: String) -> String {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var afterCardNumber = false
        for index in segments.indices {
            let decoded = segments[index].removingPercentEncoding ?? segments[index]
            let isChallengeToken = index == 3 && segments.count >= 4 && segments[1] == "3ds"
            afterCardNumber = afterCardNumber || CardNumber.appears(inPathPart: decoded)
            if isChallengeToken || afterCardNumber || isSecret(decoded) { segments[index] = redacted }
        }
        let logged = segments.joined(separator: "/")
        return logged.utf8.count > StripeRenderer.maximumErrorTextLength ? StripeRenderer.clipped(logged) : logged
    }
}
