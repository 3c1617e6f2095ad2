import HTTPTypes
import Hummingbird
import Logging
import Payments
import PaymentsCore

/// Gives every request its `Request-Id`, turns every error into Stripe's error object (the one place where
/// failures become HTTP: nothing a client sends can make it answer a bare 500 without a body), and logs one line
/// per request.
///
/// The request's logger carries the id as `request_id` (and as Hummingbird's `hb.request.id`, so no line shows
/// another id), so every line logged while the request runs, by middleware, controllers, the use cases handed
/// that logger and the parts that find it as ``RequestLogger/current``, names the request the client sees in its
/// `Request-Id` header.
struct ErrorAndRequestIDMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let services: HTTPServices

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = services.context.ids.request()
        context.logger[metadataKey: "request_id"] = .string(context.requestID)
        context.logger[metadataKey: "hb.request.id"] = .string(context.requestID)
        context.apiVersion = request.headers[.stripeVersion]
        var response: Response
        do {
            // Stripe's URLs have no empty segment: `/v1/payment_intents/` created an intent, under another path for
            // its `Idempotency-Key` than the same request without the slash (a retry without it was refused as
            // another endpoint), and `/v1/customers//payment_methods` said "No such customer: 'payment_methods'"
            // A request NIO's parser refused, passed on by `ConnectionCloseHandler` to be answered as any other
            if request.method.rawValue == ConnectionCloseHandler.refusedMethod {
                let refusal = ConnectionCloseHandler.Refusal(rawValue: String(request.uri.path.dropFirst()))
                throw PaymentError.unreadableRequest(refusal ?? .malformed, limits: services.limits)
            }
            if Self.hasEmptySegment(request.uri.path) { throw HTTPError(.notFound) }
            // A request that came on a connection after an answer that closed it (below) is not run: Hummingbird
            // runs the requests a client pipelined behind that answer, and a client that obeys its `close` sends
            // them again on a new connection (RFC 9112, 9.3.2), a second payment for one without a key
            if services.readiness.isDraining, services.readiness.hasClosed(context.connection) {
                throw PaymentError.notRunWhileStopping
            }
            if request.method == .get || request.method == .head {
                // A read never asks the card network: its path stays as short as it was (the task-local below cost a
                // retrieve under W2 about a sixth more CPU, `scripts/bench-w1-ab --workload W2`)
                response = try await next(request, context)
            } else {
                // The request's logger for the parts of the service that are not handed it (the card network's limit)
                response = try await RequestLogger.$current.withValue(context.logger) {
                    try await next(request, context)
                }
            }
            try await services.context.faults.reach(.beforeResponse)
        } catch let error as PaymentError {
            Self.logServerError(error, context: context)
            response = await render(error, request: request, context: context)
        } catch let scoped as ScopedPaymentError {
            Self.logServerError(scoped.error, context: context)
            // A /v1 error: rendered as the key that asked may see it (a publishable key sees redacted objects).
            var scopedContext = context
            scopedContext.scope = scoped.scope
            response = await render(scoped.error, request: request, context: scopedContext)
        } catch let error as HTTPError where error.status == .notFound {
            let notFound = PaymentError.unrecognizedURL(
                method: request.method.rawValue,
                path: RequestLog.path(request.uri.path)
            )
            response = await render(notFound, request: request, context: context)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            response = await render(.tooLarge, request: request, context: context)
        } catch let error as HTTPError where error.status == .methodNotAllowed {
            let notFound = PaymentError.unrecognizedURL(
                method: request.method.rawValue,
                path: RequestLog.path(request.uri.path)
            )
            response = await render(notFound, request: request, context: context)
        } catch let error as HTTPError where (400..<500).contains(error.status.code) {
            // Any other refusal of the request by Hummingbird itself (the static files' middleware refuses a path
            // whose percent escapes are not UTF-8 with a 400): the client's fault, so not a 500, and in Stripe's shape.
            response = await render(.httpRefusal(error), request: request, context: context)
        } catch let error as CardVault.VaultError {
            // A saved card under a vault key this process lacks (a rotation's old key dropped too soon): the merchant
            // is told which key, so the 500 can be fixed by configuring it, not only found in the log
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            let advice =
                if case .unreadableCard = error {
                    "Nothing was charged: restore the card's row (card_vault) from a backup, or ask the customer to "
                        + "enter the card again."
                } else {
                    "Nothing was charged: configure that key (PAYMENTS_VAULT_OLD_KEYS) and retry; "
                        + "`payments vault status` counts the cards under each key."
                }
            response = await render(.apiError("\(error) \(advice)"), request: request, context: context)
        } catch let error as StoreError {
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            let read = request.method == .get || request.method == .head
            response = await render(.storeFailure(error, read: read), request: request, context: context)
        } catch {
            context.logger.error("request failed", metadata: ["error": .string(String(describing: error))])
            response = await render(.apiError(), request: request, context: context)
        }
        response.headers[.requestID] = context.requestID
        // A keyed POST's answer names its key, as Stripe's do: a client library's own key (stripe-python adds one to
        // every POST it retries) was otherwise unknown to its caller, whom a 5xx told to retry with it (a probe). Not
        // a key refused as invalid, nor one holding a card number
        if request.method == .post, let key = try? IdempotencyMiddleware.key(request.headers),
            (1...IdempotencyKeys.maximumKeyLength).contains(IdempotencyKeys.length(of: key)),
            !CardNumber.appears(in: key)
        {
            response.headers[.idempotencyKey] = key
        }
        // Hummingbird closes the connection after this answer (see `ConnectionCloseHandler`), or after the requests
        // it read when the server drains (a keep-alive client's next request on it failed with a broken pipe): say so
        // (RFC 9112, 9.6), and while draining run nothing more that comes on it (above). Otherwise a request that
        // asked to keep its connection (`keep-alive`, which `ConnectionCloseHandler` left as sent) is told it is
        // kept: an HTTP/1.0 client reads an answer without it as one that ends at the close (`ab -k` waited for the
        // idle timeout on every connection)
        // A body over the size limit ends its connection too: one without a length (chunked) is read no further,
        // and `ConnectionCloseHandler` closes the connection a second after the 413, which said `keep-alive`, so a
        // client's next request on it got no answer and a reset (a probe of HTTP clients)
        let connection = request.headers[.connection]
        if connection == "close" || response.status == .contentTooLarge || response.headers[.connection] == "close" {
            response.headers[.connection] = "close"
        } else if services.readiness.isDraining {
            response.headers[.connection] = "close"
            services.readiness.closing(context.connection)
        } else if let connection, Self.asksKeepAlive(connection) {
            response.headers[.connection] = "keep-alive"
        }
        PageHeaders.apply(to: &response.headers, path: request.uri.path, endpoint: context.endpointPath)
        CrossOriginMiddleware.apply(to: &response.headers, path: request.uri.path, endpoint: context.endpointPath)
        RequestLog.record(request, status: response.status, since: started, logger: context.logger)
        return response
    }

    /// Renders `error`, with the intent (or setup intent) it concerns in its current state and the payment method
    /// involved.
    func render(_ error: PaymentError, request: Request, context: Context) async -> Response {
        let bytes = await Self.errorBody(error, request: request, context: context, services: services)
        var response = JSONResponse.bytes(bytes, status: .init(code: error.status))
        // A 501 (a transfer coding the server does not decode) is the same on every try; a payment that may have been
        // made, for a request without a key, would be made again
        if error.retryWouldPayAgain {
            response.headers[.stripeShouldRetry] = "false"
        } else if error.status == 409 || (error.status >= 500 && error.status != 501)
            || error.code == PaymentError.lockTimeoutCode
        {
            response.headers[.stripeShouldRetry] = "true"
        }
        return response
    }

    /// The bytes of Stripe's error object for `error`.
    static func errorBody(
        _ error: PaymentError,
        request: Request,
        context: Context,
        services: HTTPServices
    ) async -> [UInt8] {
        let options = RenderOptions(request: request, context: context, services: services)
        var intentJSON: JSONValue?
        var methodJSON: JSONValue?
        if let id = error.paymentIntent, let intent = try? await services.lookup.paymentIntent(id),
            let bundle = try? await services.lookup.bundle(for: intent, expand: options.expand)
        {
            intentJSON = StripeRenderer.paymentIntent(bundle, options: options)
        }
        if let id = error.paymentMethod, let pm = try? await services.lookup.paymentMethod(id) {
            methodJSON = StripeRenderer.paymentMethod(pm, options: options)
        }
        var setupJSON: JSONValue?
        if let id = error.setupIntent, let setup = try? await services.lookup.setupIntent(id),
            let bundle = try? await services.lookup.bundle(for: setup, expand: options.expand)
        {
            setupJSON = StripeRenderer.setupIntent(bundle, options: options)
        }
        return StripeRenderer.error(
            error,
            paymentIntent: intentJSON,
            paymentMethod: methodJSON,
            setupIntent: setupJSON
        ).serialized()
    }

    /// Whether a request's `Connection` value (its fields joined by commas) names the `keep-alive` option, in any
    /// case, alone or among others (`keep-alive, TE`, RFC 9112, 9.3): only `keep-alive` alone was answered with it, a
    /// probe's `TE, Keep-Alive` waited for the idle timeout.
    static func asksKeepAlive(_ connection: String) -> Bool {
        if connection.utf8.count == 10 { return connection.lowercased() == "keep-alive" }
        return connection.utf8.count > 10
            && connection.split(separator: ",").contains {
                $0.trimmingCharacters(in: .whitespaces).lowercased() == "keep-alive"
            }
    }

    /// Logs a service error the client is answered with (a 5xx other than 501, which names what the client sent) at
    /// error level, as every other failure of a request is: a write refused because the database file was replaced
    /// left only the request's info line, and nothing at all at `logLevel=notice`, the production example's.
    static func logServerError(_ error: PaymentError, context: StripeRequestContext) {
        guard error.status >= 500, error.status != 501 else { return }
        context.logger.error(
            "request failed",
            metadata: ["status": .stringConvertible(error.status), "error": .string(error.message)]
        )
    }
}

extension PaymentError {
    /// A request body over the size limit.
    static let tooLarge = PaymentError(
        kind: .invalidRequest,
        code: "request_too_large",
        message: "The request body is too large.",
        status: 413
    )
}

extension PaymentError {
    /// A request Hummingbird refused with a 4xx of its own, as an `invalid_request_error` with that status.
    static func httpRefusal(_ error: HTTPError) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: nil,
            message: error.body ?? error.status.reasonPhrase,
            status: Int(error.status.code)
        )
    }
}

extension HTTPField.Name {
    static let requestID = Self("Request-Id")!
    static let stripeVersion = Self("Stripe-Version")!
    static let stripeAccount = Self("Stripe-Account")!
    static let stripeContext = Self("Stripe-Context")!
    static let stripeShouldRetry = Self("Stripe-Should-Retry")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    static let originalRequest = Self("Original-Request")!
}

extension ErrorAndRequestIDMiddleware {
    /// Whether `path` has an empty segment: two slashes in a row anywhere (the router read `//v1/payment_intents` as
    /// `/v1/payment_intents`), or an API path's (`/v1/...`) trailing slash.
    static func hasEmptySegment(_ path: String) -> Bool {
        path.contains("//") || (path.utf8.starts(with: "/v1/".utf8) && path.utf8.last == UInt8(ascii: "/"))
    }
}
