/// How refunds of a test card's payments behave (§6.5 of the reference). The raw value is what the test-mode
/// network's ledger keeps for each authorization.
public enum RefundBehavior: String, Sendable, Hashable, CaseIterable {
    /// The refund succeeds at once and stays so (every card but two).
    case succeeds = "succeeds"
    /// The refund starts `pending` and later becomes `succeeded` (`4000000000007726`).
    case pendingThenSucceeds = "pending_then_succeeds"
    /// The refund starts `succeeded` and later becomes `failed` (`4000000000005126`).
    case succeedsThenFails = "succeeds_then_fails"
}
