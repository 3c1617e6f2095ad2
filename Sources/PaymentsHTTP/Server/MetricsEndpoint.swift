import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the process's metrics in Prometheus's text format, without an API key (a scraper holds none; the
/// figures name no customer, card or key). Requests by route, method and status (``RequestMetricsMiddleware``),
/// card attempts by outcome and decline code, 3-D Secure challenges, idempotent replays and conflicts, group-commit
/// batch sizes and commit times, and sweeper rows by rule.
enum MetricsEndpoint {
    /// The registry's exposition.
    static func response(_ registry: PrometheusCollectorRegistry) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
        )
    }
}
