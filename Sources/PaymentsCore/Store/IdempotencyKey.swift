import Foundation

/// A row of `idempotency_keys`: one (API key, Idempotency-Key) pair, who holds it now and until when, how far its
/// first request got, and the exact response that was sent.
public struct IdempotencyKey: Codable, Sendable, Equatable {
    /// How far the first request with the key got; a retry resumes from here.
    public enum RecoveryPoint: String, Codable, Sendable {
        /// Nothing committed yet.
        case started
        /// The PaymentIntent was created (`paymentIntent` names it).
        case intentCreated = "intent_created"
        /// A charge attempt was recorded before asking the network (`charge` names it).
        case attemptRecorded = "attempt_recorded"
        /// A refund was reserved before asking the network (`refund` names it).
        case refundRecorded = "refund_recorded"
        /// The response is saved; later requests replay it.
        case finished
    }

    /// A hash of the API key (never the key itself), or a fixed scope such as `pay` for keyless endpoints.
    public var apiKey: String
    public var key: String
    public var created: Int64
    /// When the sweeper deletes the key; nil for keys kept forever (recharge references).
    public var expiresAt: Int64?
    public var method: String
    public var path: String
    /// A keyed hash of method, path and the canonical parameters.
    public var fingerprint: String
    /// The lease token of the request holding the key, nil when nobody does.
    public var lockedBy: String?
    /// When the holder's lease runs out (unix seconds); after it, another request may take the key over.
    public var lockedUntil: Int64?
    public var recoveryPoint: RecoveryPoint
    public var paymentIntent: String?
    public var charge: String?
    public var refund: String?
    public var requestID: String
    public var responseStatus: Int?
    public var responseBody: Data?

    /// Creates a row.
    public init(
        apiKey: String,
        key: String,
        created: Int64,
        expiresAt: Int64?,
        method: String,
        path: String,
        fingerprint: String,
        lockedBy: String?,
        lockedUntil: Int64?,
        recoveryPoint: RecoveryPoint,
        paymentIntent: String?,
        charge: String?,
        refund: String?,
        requestID: String,
        responseStatus: Int?,
        responseBody: Data?
    ) {
        self.apiKey = apiKey
        self.key = key
        self.created = created
        self.expiresAt = expiresAt
        self.method = method
        self.path = path
        self.fingerprint = fingerprint
        self.lockedBy = lockedBy
        self.lockedUntil = lockedUntil
        self.recoveryPoint = recoveryPoint
        self.paymentIntent = paymentIntent
        self.charge = charge
        self.refund = refund
        self.requestID = requestID
        self.responseStatus = responseStatus
        self.responseBody = responseBody
    }

    public enum CodingKeys: String, CodingKey {
        case key, created, method, path, fingerprint, charge, refund
        case apiKey = "api_key"
        case expiresAt = "expires_at"
        case lockedBy = "locked_by"
        case lockedUntil = "locked_until"
        case recoveryPoint = "recovery_point"
        case paymentIntent = "payment_intent"
        case requestID = "request_id"
        case responseStatus = "response_status"
        case responseBody = "response_body"
    }
}

/// A key as its holder holds it: the key and the token of the request's lease.
public struct HeldIdempotencyKey: Sendable, Hashable {
    public let apiKey: String
    public let key: String
    public let token: String

    public init(apiKey: String, key: String, token: String) {
        self.apiKey = apiKey
        self.key = key
        self.token = token
    }
}

/// What the begin phase found for a request's idempotency key.
public enum IdempotencyBegin: Sendable, Equatable {
    /// The key is new, or its holder's lease ran out: this request now holds it and resumes from `row`.
    case proceed(IdempotencyKey)
    /// The first request finished: replay its response.
    case replay(IdempotencyKey)
    /// Another request holds the key until `lockedUntil`.
    case inFlight(lockedUntil: Int64)
    /// The key was first used with other parameters (`samePath` false: on another endpoint).
    case mismatch(samePath: Bool, firstPath: String)
}

/// A write made under an idempotency lease that the request no longer holds: its lease ran out and another
/// request took the key over. The transaction that tried it rolls back.
public struct IdempotencyLeaseLost: Error, Sendable, Equatable {
    public let apiKey: String
    public let key: String

    /// Creates the error for `key` in the scope `apiKey`.
    public init(apiKey: String, key: String) {
        self.apiKey = apiKey
        self.key = key
    }
}
