/// The card network (acquirer) the service asks to move money.
///
/// Treat it as remote: it may be slow or fail, it is called outside any database transaction, and every call is
/// idempotent on the attempt id (our charge id), like a real acquirer's authorization reference. Asking again
/// with the same id returns the first answer and never moves money twice.
///
/// It also answers, locally and at once, what it knows of a card before any payment (``lookUp(_:)``), whether a card
/// may be kept for later payments (``attachDecline(_:cvcProvided:)``), and which card a test-mode PaymentMethod id
/// stands for (``testCardNumber(forPaymentMethodID:)``), so the use cases never read a test-card table themselves.
public protocol CardNetwork: Sendable {
    /// What the network knows of `card` when it is collected, or its refusal of the card.
    func lookUp(_ card: CardNumber) -> CardLookup

    /// The decline an issuer answers when `card` is attached to a customer for later payments (its zero-amount
    /// verification), or nil when it may be attached.
    /// - Parameter cvcProvided: whether a CVC was given when the card was collected.
    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline?

    /// The card number a test-mode PaymentMethod id (Stripe's `pm_card_visa`, …) stands for; nil for any other id,
    /// and always nil in live mode.
    func testCardNumber(forPaymentMethodID id: String) -> String?

    /// Authorizes (and, when `request.capture` is set, captures) a payment.
    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult

    /// Captures `amount` of an approved, uncaptured authorization for the capture request `reference`; the rest is
    /// released.
    /// - Parameter reference: names the capture request, the same for each try of it (a retry after a crash), so
    ///   that the answer tells this request's capture from another's of the same amount.
    /// - Returns: the capture — this call's, or an earlier call's when the authorization was already captured (a
    ///   retry, or another capture request that came first) — or nil when it was released first: the network is
    ///   the arbiter between a capture and a cancel, or two captures, that race.
    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture?

    /// Releases an approved, uncaptured authorization.
    /// - Returns: true when the authorization is released (now or earlier), false when it was captured first.
    func void(attemptID: String) async throws -> Bool

    /// Releases an approved, uncaptured authorization for the release request `reference` (a cancel), as
    /// ``void(attemptID:)`` releases it.
    /// - Parameter reference: names the release request, the same for each try of it (a retry after a crash), so
    ///   that the answer tells this request's release from another's.
    /// - Returns: the release, this call's or an earlier one's, with the reference of the request that made it; or
    ///   ``NetworkRelease/capturedFirst``.
    func void(attemptID: String, reference: String) async throws -> NetworkRelease

    /// Releases several approved, uncaptured authorizations in one call, as ``void(attemptID:)`` releases each (the
    /// sweeper's expired authorizations; an acquirer's batch reversal). Idempotent per attempt id.
    /// - Returns: per attempt id, true when released (now or earlier) and false when captured first; an id missing
    ///   from the answer could not be asked (ask again later).
    /// - Throws: when the network could not be asked about any of them.
    func void(attemptIDs: [String]) async throws -> [String: Bool]

    /// Gives back `amount` of a captured payment, or tells where that refund stands: idempotent on `refundID`, so
    /// asking again never refunds twice and answers the refund's status as of `now`.
    /// - Parameter now: the time of the question (unix seconds); the first question's is when the refund was made.
    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult
}

/// A capture the network made of an authorization: the amount it took, and which capture request took it.
public struct NetworkCapture: Sendable, Equatable {
    public var amount: Int64
    /// The capture request's reference; nil for a capture the network recorded without one (an automatic capture,
    /// or one made before the network kept references).
    public var reference: String?

    public init(amount: Int64, reference: String?) {
        self.amount = amount
        self.reference = reference
    }

    /// Whether this is the capture of `amount` the request `reference` asked for: its own, or (for a capture
    /// recorded without a reference) one of that amount.
    public func isTaken(by reference: String, amount: Int64) -> Bool {
        self.reference.map { $0 == reference } ?? (self.amount == amount)
    }
}

/// What a release request found at the network: the authorization released (by which request), or captured first.
public enum NetworkRelease: Sendable, Equatable {
    /// Released, by the release request `reference`; nil for a release recorded without one (the sweeper's, or one
    /// made before the network kept references).
    case released(reference: String?)
    /// Captured first: there is nothing to release.
    case capturedFirst

    /// Whether this is the release the request `reference` asked for: its own, or one recorded without a reference.
    public func isReleased(by reference: String) -> Bool {
        guard case .released(let releasedBy) = self else { return false }
        return releasedBy.map { $0 == reference } ?? true
    }
}

extension CardNetwork {
    /// A network that keeps no references answers every release as one made without a reference.
    public func void(attemptID: String, reference: String) async throws -> NetworkRelease {
        try await void(attemptID: attemptID) ? .released(reference: nil) : .capturedFirst
    }

    /// The amount captured of an authorization, capturing `amount` first when nothing was (and it was not
    /// released): for a caller that needs the amount only, not whose capture it was (the sweeper's expired
    /// authorizations, tests).
    public func capture(attemptID: String, amount: Int64) async throws -> Int64? {
        try await capture(attemptID: attemptID, amount: amount, reference: "unnamed")?.amount
    }

    /// How many single releases ``void(attemptIDs:)`` has in flight at once when a network has no batch call.
    public static var voidConcurrency: Int { 32 }

    /// A network without a batch call releases each authorization with ``void(attemptID:)``, at most
    /// ``voidConcurrency`` at a time; an attempt whose release failed is left out of the answer.
    public func void(attemptIDs: [String]) async throws -> [String: Bool] {
        await withTaskGroup(of: (String, Bool?).self) { group in
            var answers: [String: Bool] = [:]
            for (index, attempt) in attemptIDs.enumerated() {
                if index >= Self.voidConcurrency, let (done, answer) = await group.next() { answers[done] = answer }
                group.addTask { (attempt, try? await void(attemptID: attempt)) }
            }
            for await (done, answer) in group { answers[done] = answer }
            return answers
        }
    }
}

/// What the service sends the network to authorize a payment. Holds the full card number in memory only.
public struct AuthorizationRequest: Sendable {
    /// Our charge id: the network's idempotency reference for this attempt.
    public var attemptID: String
    public var card: CardNumber
    public var expiry: CardExpiry
    /// Whether a CVC was given when the card was collected (its value is never kept).
    public var cvcProvided: Bool
    public var amount: Int64
    public var currency: String
    /// Capture at once (`capture_method=automatic`) or only hold the amount.
    public var capture: Bool
    /// A merchant-initiated charge while the customer is away.
    public var offSession: Bool
    /// The cardholder passed 3-D Secure for this payment.
    public var authenticated: Bool
    /// The card was set up for off-session use with an authenticated payment.
    public var offSessionReady: Bool
    /// The time of the request (unix seconds), for expiry checks.
    public var now: Int64

    /// Creates a request.
    public init(
        attemptID: String,
        card: CardNumber,
        expiry: CardExpiry,
        cvcProvided: Bool,
        amount: Int64,
        currency: String,
        capture: Bool,
        offSession: Bool,
        authenticated: Bool,
        offSessionReady: Bool,
        now: Int64
    ) {
        self.attemptID = attemptID
        self.card = card
        self.expiry = expiry
        self.cvcProvided = cvcProvided
        self.amount = amount
        self.currency = currency
        self.capture = capture
        self.offSession = offSession
        self.authenticated = authenticated
        self.offSessionReady = offSessionReady
        self.now = now
    }
}

/// The network's answer to an authorization.
public enum AuthorizationResult: Sendable, Equatable {
    /// The issuer approved; the code identifies the authorization.
    case approved(authorizationCode: String)
    /// The issuer (or the network) declined.
    case declined(CardDecline)
}
