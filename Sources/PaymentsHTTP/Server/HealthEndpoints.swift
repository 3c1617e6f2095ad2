import Hummingbird

/// `GET /health`, `/health/live` and `/health/ready`: no API key, a JSON object with a string `status`.
///
/// - `/health/live`: 200 `{"status": "ok"}` while the process answers HTTP at all (a liveness probe: restart the
///   process when it fails).
/// - `/health/ready`: 200 `{"status": "ready"}` when the database is writable (a write transaction that changes
///   nothing commits within ``Readiness/defaultTimeout``) with every migration applied, and the server is not
///   draining; otherwise 503 `{"status": "not_ready", "reason": ...}` with `draining`, `disk_full`,
///   `database_timeout`, `database_unwritable`, `database_missing`, `database_log_missing`, `card_network_missing`,
///   `card_network_log_missing`, `card_network_unwritable`, `card_network_locked` or `migrations_pending` (a
///   readiness probe: send no traffic while it fails).
/// - `/health`: as `/health/live`, as it always answered (scripts and tests wait for its 200 at start).
enum HealthEndpoints {
    /// Adds the three routes.
    static func add(to router: Router<StripeRequestContext>, readiness: Readiness) {
        router.get("health") { _, _ in live() }
        router.get("health/live") { _, _ in live() }
        router.get("health/ready") { _, _ in
            switch await readiness.status() {
            case .ready:
                return JSONResponse.json(.object([("status", "ready")]))
            case .draining:
                return notReady("draining")
            case .unavailable(let reason):
                return notReady(reason)
            }
        }
    }

    private static func live() -> Response {
        JSONResponse.json(.object([("status", "ok")]))
    }

    private static func notReady(_ reason: String) -> Response {
        JSONResponse.json(.object([("status", "not_ready"), ("reason", .string(reason))]), status: .serviceUnavailable)
    }
}
