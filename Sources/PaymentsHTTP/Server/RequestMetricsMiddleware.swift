import Dispatch
import Hummingbird
import Metrics
import Synchronization

/// Hummingbird's `MetricsMiddleware`, with its metrics and labels (`hb_requests`, `http_server_request_duration`,
/// `http_server_active_requests`, `hb_request_errors`), counting `HEAD` requests too.
///
/// Hummingbird's counts a request, times it and lowers the active-requests gauge once the response's body has been
/// written; the body of an answer to `HEAD` is never written, so every `HEAD` (a load balancer's `HEAD /health`
/// every few seconds) raised `http_server_active_requests` for good and was never counted. An answer to `HEAD` is
/// counted as it leaves the handlers instead. And the error counter of a route, method and status is made only when
/// an error is counted: Hummingbird's made one, left at 0, beside every answer's counter (`error_type="200"`).
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let cache = Cache()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = cache.activeRequests(request.method)
        active.increment()
        do {
            var response = try await next(request, context)
            let status = response.status
            let (route, method) = (context.endpointPath ?? "Unknown", request.method)
            let record: @Sendable () -> Void = { [cache] in
                let metrics = cache.endpoint(route, method, status)
                metrics.counter.increment()
                metrics.timer.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
                active.decrement()
            }
            if method == .head {
                record()
            } else {
                // Once the body is written (or its writing failed), as Hummingbird's `withPostWriteClosure` does
                let body = response.body
                response.body = ResponseBody(contentLength: body.contentLength) { writer in
                    do {
                        try await body.write(writer)
                        record()
                    } catch {
                        record()
                        throw error
                    }
                }
            }
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let metrics = cache.endpoint(context.endpointPath ?? "NotFound", request.method, status)
            metrics.counter.increment()
            cache.errors(context.endpointPath ?? "NotFound", request.method, status).increment()
            active.decrement()
            throw error
        }
    }

    /// The metrics of each method and of each route, method and status, made once each.
    final class Cache: Sendable {
        struct Endpoint: Hashable, Sendable {
            let route: String
            let method: HTTPRequest.Method
            let status: HTTPResponse.Status
        }

        struct EndpointMetrics: Sendable {
            let counter: Counter
            let timer: Timer
        }

        private let methods = Memo<HTTPRequest.Method, Meter>()
        private let endpoints = Memo<Endpoint, EndpointMetrics>()
        private let errorCounters = Memo<Endpoint, Counter>()

        func activeRequests(_ method: HTTPRequest.Method) -> Meter {
            methods.value(method) {
                Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.description)])
            }
        }

        func endpoint(_ route: String, _ method: HTTPRequest.Method, _ status: HTTPResponse.Status) -> EndpointMetrics {
            let key = Endpoint(route: route, method: method, status: status)
            return endpoints.value(key) {
                EndpointMetrics(
                    counter: Counter(label: "hb.requests", dimensions: Self.dimensions(key)),
                    timer: Timer(
                        label: "http.server.request.duration",
                        dimensions: Self.dimensions(key),
                        preferredDisplayUnit: .seconds
                    )
                )
            }
        }

        func errors(_ route: String, _ method: HTTPRequest.Method, _ status: HTTPResponse.Status) -> Counter {
            errorCounters.value(Endpoint(route: route, method: method, status: status)) {
                Counter(
                    label: "hb.request.errors",
                    dimensions: [
                        ("http.route", route), ("http.request.method", method.description),
                        ("error.type", status.code.description),
                    ]
                )
            }
        }

        private static func dimensions(_ key: Endpoint) -> [(String, String)] {
            [
                ("http.route", key.route), ("http.request.method", key.method.description),
                ("http.response.status_code", key.status.code.description),
            ]
        }
    }
}

/// Values made once per key, under a lock.
final class Memo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])

    /// The value of `key`, made by `make` the first time.
    func value(_ key: Key, _ make: () -> Value) -> Value {
        values.withLock { values in
            if let value = values[key] { return value }
            let value = make()
            values[key] = value
            return value
        }
    }
}
