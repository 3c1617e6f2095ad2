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
