/// The card network's word on a refund, as of the moment it was asked.
///
/// A refund's status may change after the network first answers (a bank that pays out days later, a refund the
/// card's issuer sends back): `settlesAt` says when to ask again. The service records each answer and asks again
/// at that time, under the same refund id, until an answer comes without one.
public struct RefundResult: Sendable, Equatable {
    /// Where the refund stands at the network.
    public enum Status: Sendable, Equatable {
        /// Accepted, not yet paid out.
        case pending
        /// Paid out to the card.
        case succeeded
        /// Refused or sent back: the money stays with the merchant. `reason` is Stripe's `failure_reason`
        /// (`expired_or_canceled_card`, `lost_or_stolen_card`, `declined`, `unknown`, ...).
        case failed(reason: String)
    }

    public var status: Status
    /// When the status may change (unix seconds); nil once it is final.
    public var settlesAt: Int64?

    /// Creates a result.
    public init(status: Status, settlesAt: Int64? = nil) {
        self.status = status
        self.settlesAt = settlesAt
    }
}
