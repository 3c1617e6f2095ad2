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
