/// Where a sweeper's keyset scan stands: the due time and rowid of the last row it read.
///
/// A rule that can leave a due row unchanged (its network call failed, say) pages past it with this, so one
/// pass reads each due row once and always ends.
public struct SweepPosition: Sendable, Equatable {
    /// The due time (`authorized_at`, `created`) of the last row read.
    public var due: Int64
    /// The rowid of the last row read, which orders rows due in the same second.
    public var rowid: Int64

    /// Creates a position.
    public init(due: Int64, rowid: Int64) {
        self.due = due
        self.rowid = rowid
    }

    /// Before every row.
    public static let start = SweepPosition(due: .min, rowid: .min)
}
