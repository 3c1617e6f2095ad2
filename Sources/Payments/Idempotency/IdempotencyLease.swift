/// A request's hold on its idempotency key: who holds it (a random token, one per request), until when, and
/// where an earlier try of the same request stopped.
///
/// Every write the request makes under the key names the token, and the store refuses it when the token no longer
/// holds the key (fencing): a holder that overran its lease, after another request took the key over, can change
/// nothing.
public struct IdempotencyLease: Sendable, Equatable {
    /// The key row to insert with the request's first write, when the key was new; nil when the row exists.
    public let claim: KeyClaim?
    /// The key's scope: a hash of the API key, or a fixed scope (`pay`, `recharge`).
    public let apiKey: String
    /// The client's key, or a recharge reference.
    public let key: String
    /// This request's token.
    public let token: String
    /// When the lease runs out (unix seconds).
    public let until: Int64
    /// The intent an earlier try of this request created, if it got that far.
    public let resumeIntent: String?
    /// Whether a transaction of this request has committed its new key (``KeyClaim``): from then on the request
    /// has executed, whatever it answers.
    public var keyCommitted: Bool { claim?.isClaimed == true }
    /// The charge attempt an earlier try recorded before asking the network.
    public let resumeCharge: String?
    /// The refund an earlier try reserved before asking the network.
    public let resumeRefund: String?
    /// For a key taken over from an earlier try (its row existed: that try committed its first write), the request
    /// id the key's row names, the first try's, and when the key was made: the events of that try's changes name
    /// the id (``Event/requestID``), so a request whose use case marks no progress of its own (a customer's create)
    /// finds what that try made. Nil for a new key.
    public let firstTry: (requestID: String, created: Int64)?

    /// Creates a lease.
    public init(
        apiKey: String,
        key: String,
        token: String,
        until: Int64,
        resumeIntent: String? = nil,
        resumeCharge: String? = nil,
        resumeRefund: String? = nil,
        firstTry: (requestID: String, created: Int64)? = nil,
        claim: KeyClaim? = nil
    ) {
        self.claim = claim
        self.firstTry = firstTry
        self.apiKey = apiKey
        self.key = key
        self.token = token
        self.until = until
        self.resumeIntent = resumeIntent
        self.resumeCharge = resumeCharge
        self.resumeRefund = resumeRefund
    }

    /// Leases are equal when they are the same hold (the same token, from the same begin).
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.apiKey == rhs.apiKey && lhs.key == rhs.key && lhs.token == rhs.token && lhs.until == rhs.until
            && lhs.resumeIntent == rhs.resumeIntent && lhs.resumeCharge == rhs.resumeCharge
            && lhs.resumeRefund == rhs.resumeRefund && lhs.claim === rhs.claim
    }
}
