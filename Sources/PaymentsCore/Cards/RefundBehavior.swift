/// How refunds of a test card's payments behave (§6.5 of the reference).
public enum RefundBehavior: Sendable, Hashable {
    /// The refund succeeds at once and stays so (every card but two).
    case succeeds
    /// The refund starts `pending` and later becomes `succeeded` (`4000000000007726`).
    case pendingThenSucceeds
    /// The refund starts `succeeded` and later becomes `failed` (`4000000000005126`).
    case succeedsThenFails
}
