import Hummingbird
import NIOCore
import Payments
import PaymentsCore
import Synchronization

/// The request context of every route: the request id, and for `/v1` the key that authenticated it.
public struct StripeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// This request's `Request-Id` (`req_` + 14 characters).
    public var requestID: String = ""
    /// The key scope, set by the auth middleware for `/v1` routes.
    public var scope: APIKeys.Scope?
    /// The request's `Stripe-Version` header.
    public var apiVersion: String?
    /// The scope of the request's idempotency keys: the kind of API key it used (``IdempotencyKeys/secretKeyScope``).
    public var idempotencyScope: String = ""
    /// Which configured API key the request used (its position in ``APIKeys``), for the per-key rate limit.
    public var apiKeyIndex: Int?

    /// The idempotency key this request runs under, set by the idempotency middleware.
    public var idempotency: IdempotentRequest?
    /// The POST body's parameters, when the idempotency middleware parsed them already (for the key's
    /// fingerprint); the handler reads them from here instead of parsing the body again.
    var parsedBody: [String: ParameterNode]?
    /// The server's request limits, set by ``RequestLimitsMiddleware`` (the documented defaults until then).
    public var limits = HTTPLimits()
    /// The address the connection comes from, for the rate limit of the routes without a key.
    public let remoteAddress: SocketAddress?
    /// The connection the request came on, told apart from the others open (for the drain's
    /// ``Readiness/hasClosed(_:)``).
    let connection: ObjectIdentifier

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.connection = ObjectIdentifier(source.channel)
    }

    /// The client's IP address, without its port (made only when asked: it costs a string per request).
    public var clientAddress: String? { remoteAddress?.ipAddress }

    /// The largest request body accepted: ``HTTPLimits/maxBodyBytes``.
    public var maxUploadSize: Int { limits.maxBodyBytes }

    /// Checks that a secret key authenticated the request.
    /// - Throws: 401 `secret_key_required` for a publishable key.
    public func requireSecretKey() throws(PaymentError) {
        guard scope == .secret else { throw .secretKeyRequired }
    }

    /// Checks, before the intent is looked up, that a publishable key came with a client secret: without one it
    /// reaches no intent, so it gets the same 401 whether the id exists or not (a 404 for a missing one would tell
    /// which ids exist).
    /// - Throws: 401 `secret_key_required` for a publishable key without a client secret.
    func requireClientSecretGiven(_ given: String?) throws(PaymentError) {
        guard scope == .publishable, given == nil else { return }
        throw .secretKeyRequired
    }

    /// Checks that a publishable key reaches an intent (`object`: `PaymentIntent` or `SetupIntent`) only with its
    /// client secret, `expected`; a secret key needs none.
    /// - Throws: 401 `secret_key_required` without a client secret, 400 `..._invalid_parameter` for another one.
    func requireClientSecret(_ given: String?, of expected: String, object: String) throws(PaymentError) {
        guard scope == .publishable else { return }
        guard let given else { throw .secretKeyRequired }
        guard ConstantTime.equals(given, expected) else {
            let code = object == "SetupIntent" ? "setup_intent_invalid_parameter" : "payment_intent_invalid_parameter"
            throw .invalidRequest(
                "The client_secret provided does not match the client_secret associated with the \(object).",
                code: code,
                param: "client_secret"
            )
        }
    }
}

/// A request running under an `Idempotency-Key`: its lease on the key (and where a previous try stopped).
public struct IdempotentRequest: Sendable {
    public var lease: IdempotencyLease
    /// The scope the handler ran its use case under, so the middleware knows the response is already saved.
    let holder: ScopeHolder
}

/// Shares the handler's ``IdempotencyScope`` with the idempotency middleware.
final class ScopeHolder: Sendable {
    private let scope = Mutex<IdempotencyScope?>(nil)

    /// The scope the handler made.
    func set(_ value: IdempotencyScope) { scope.withLock { $0 = value } }

    /// The response the scope saved in its final transaction, once that transaction committed.
    var savedResponse: SavedResponse? { scope.withLock { $0 }?.savedResponse }
}
