/// Money given back from a captured payment. Also the `refunds` table's row.
///
/// Written `pending` (with the charge's refunded amount reserved) before the network is asked, and given the
/// network's answer after, so a crash in between leaves a pending refund that recovery completes under the same id.
/// The network may answer a status that changes later (`pending` that succeeds, `succeeded` that fails): the refund
/// keeps when to ask again in `settlesAt`, and the sweeper asks then.
public struct Refund: Codable, Sendable, Equatable {
    /// Where the refund stands.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case pending, succeeded, failed, canceled
    }

    /// Why the merchant refunded; `expired_uncaptured_charge` is set by the service.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        case duplicate
        case fraudulent
        case requestedByCustomer = "requested_by_customer"
        case expiredUncapturedCharge = "expired_uncaptured_charge"

        /// The reasons a caller may give.
        public static let callerSupplied: [Reason] = [.duplicate, .fraudulent, .requestedByCustomer]
    }

    public var id: String
    public var created: Int64
    public var charge: String
    public var paymentIntent: String
    public var amount: Int64
    public var currency: String
    public var status: Status
    public var reason: Reason?
    public var metadata: [String: String]
    /// Why the refund failed (Stripe's `failure_reason`); nil unless `failed`.
    public var failureReason: String?
    /// When the network said the refund's status may change, so the sweeper asks it again then; nil when the status
    /// is final, or the network has not answered yet.
    public var settlesAt: Int64?

    /// Creates a pending refund.
    public init(
        id: String,
        created: Int64,
        charge: String,
        paymentIntent: String,
        amount: Int64,
        currency: String,
        reason: Reason?,
        metadata: [String: String]
    ) {
        self.id = id
        self.created = created
        self.charge = charge
        self.paymentIntent = paymentIntent
        self.amount = amount
        self.currency = currency
        self.status = .pending
        self.reason = reason
        self.metadata = metadata
        self.failureReason = nil
        self.settlesAt = nil
    }

    /// Whether the network has not answered yet: the refund is only reserved on its charge, the service's own step
    /// between its phases (a pending refund the network answered has ``settlesAt``).
    public var isUnanswered: Bool { status == .pending && settlesAt == nil }

    /// Whether the network still has to answer, or said it will answer again: the refund is not settled yet.
    public var awaitsNetwork: Bool {
        status == .pending || settlesAt != nil
    }

    /// Records the network's answer.
    ///
    /// A refund's status only moves forward (pending, then succeeded, then failed), so an answer older than the one
    /// recorded (two askers racing: a retried request and the sweeper) changes nothing.
    /// - Returns: true when this answer failed the refund, so its amount must go back to the charge.
    public mutating func record(_ result: RefundResult) -> Bool {
        let next: Status
        switch result.status {
        case .pending: next = .pending
        case .succeeded: next = .succeeded
        case .failed: next = .failed
        }
        guard Self.progress(next) >= Self.progress(status), status != .failed, status != .canceled else { return false }
        let failedNow = next == .failed
        status = next
        settlesAt = result.settlesAt
        if case .failed(let reason) = result.status { failureReason = reason }
        return failedNow
    }

    /// How far along a status is: a refund never goes back.
    private static func progress(_ status: Status) -> Int {
        switch status {
        case .pending: 0
        case .succeeded: 1
        case .failed, .canceled: 2
        }
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, charge, amount, currency, status, reason, metadata
        case paymentIntent = "payment_intent"
        case failureReason = "failure_reason"
        case settlesAt = "settles_at"
    }
}
