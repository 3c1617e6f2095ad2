import Metrics
import Payments

/// The service's counters whose labels are known in advance, made at 0 when the server starts, so `/metrics` shows
/// them before their first event: an alert such as `rate(payments_refunds_total{status="failed"}[5m]) > 0` had no
/// data, not 0, until the first failed refund, and an alert on idempotency conflicts none until the first (a probe of
/// what an operator sees). Series whose labels come from what happens (a decline's code, a route) start with it.
public enum ServiceMetrics {
    /// Makes the known series at 0: the payment counters (``PaymentMetrics/startAtZero()``), the idempotency keys'
    /// and the rate limit's.
    public static func startAtZero() {
        PaymentMetrics.startAtZero()
        for label in [
            "payments_idempotent_replays_total", "payments_idempotency_mismatches_total",
            "payments_idempotency_conflicts_total",
        ] {
            Counter(label: label).increment(by: 0)
        }
        for by in RateLimitMiddleware.metricLabels {
            Counter(label: "payments_rate_limited_total", dimensions: [("by", by)]).increment(by: 0)
        }
    }
}
