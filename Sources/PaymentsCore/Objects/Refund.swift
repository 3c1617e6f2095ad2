/// Money given back from a captured payment. Also the `refunds` table's row.
///
/// Written `pending` (with the charge's refunded amount reserved) before the network is asked, and settled to
/// `succeeded` after, so a crash in between leaves a pending refund that recovery completes under the same id.
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
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, charge, amount, currency, status, reason, metadata
        case paymentIntent = "payment_intent"
    }
}
