/// Which page of a list to read: Stripe's `limit`, `starting_after` and `ending_before`.
public struct PageRequest: Sendable, Equatable {
    /// 1...100, default 10, as Stripe.
    public var limit: Int
    /// Return objects older than this one (the next page in list order).
    public var startingAfter: String?
    /// Return objects newer than this one (the previous page).
    public var endingBefore: String?

    /// Creates a page request.
    public init(limit: Int = 10, startingAfter: String? = nil, endingBefore: String? = nil) {
        self.limit = limit
        self.startingAfter = startingAfter
        self.endingBefore = endingBefore
    }
}

/// One page of a list, newest first.
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    /// Whether more objects exist in the direction of travel.
    public var hasMore: Bool

    /// Creates a page.
    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}

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
