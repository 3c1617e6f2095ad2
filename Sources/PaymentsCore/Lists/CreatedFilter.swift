/// A `created` filter: exact, or any of gt/gte/lt/lte.
public struct CreatedFilter: Sendable, Equatable {
    public var equals: Int64?
    public var gt: Int64?
    public var gte: Int64?
    public var lt: Int64?
    public var lte: Int64?

    /// Creates a filter.
    public init(equals: Int64? = nil, gt: Int64? = nil, gte: Int64? = nil, lt: Int64? = nil, lte: Int64? = nil) {
        self.equals = equals
        self.gt = gt
        self.gte = gte
        self.lt = lt
        self.lte = lte
    }
}
