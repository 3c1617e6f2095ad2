/// A sweeper rule's lease (`sweeper_leases`): which process runs the rule now, and until when.
///
/// Every `payments serve` runs its own sweeper and `payments sweep` may run beside them; a pass works on a rule only
/// while it holds the rule's lease, so two passes never ask the card network about the same rows at once. A lease
/// that ran out (its holder died) may be taken over by anyone.
public struct SweeperLease: Sendable, Equatable {
    /// The rule's name (``Sweeper``'s rules, e.g. `expire_attempts`).
    public var rule: String
    /// The holding process's id (random per process).
    public var holder: String
    /// When anyone else may take the lease over (unix seconds).
    public var leasedUntil: Int64

    /// Creates a lease.
    public init(rule: String, holder: String, leasedUntil: Int64) {
        self.rule = rule
        self.holder = holder
        self.leasedUntil = leasedUntil
    }
}
