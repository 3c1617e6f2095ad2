/// The merchant's price list for `POST /pay`: the amount is decided here, never by the client.
public struct Catalog: Sendable, Equatable {
    /// One thing the checkout sells.
    public struct Item: Sendable, Equatable, Codable {
        public var id: String
        public var name: String
        /// Price in the currency's minor unit.
        public var amount: Int64
        public var currency: String

        /// Creates an item.
        public init(id: String, name: String, amount: Int64, currency: String) {
            self.id = id
            self.name = name
            self.amount = amount
            self.currency = currency
        }
    }

    public var items: [Item]
    /// The item `/pay` charges when the request names none.
    public var defaultItem: String

    /// Creates a catalogue; `defaultItem` must be one of `items`.
    public init(items: [Item], defaultItem: String) {
        self.items = items
        self.defaultItem = defaultItem
    }

    /// The item with `id`, or the default when `id` is nil.
    public func item(_ id: String?) -> Item? {
        let wanted = id ?? defaultItem
        return items.first { $0.id == wanted }
    }

    /// The development catalogue used when the configuration names none.
    public static let development = Catalog(
        items: [
            Item(id: "tshirt", name: "T-shirt", amount: 1400, currency: "usd"),
            Item(id: "mug", name: "Mug", amount: 900, currency: "usd"),
            Item(id: "tote", name: "Tote bag (JPY)", amount: 2000, currency: "jpy"),
        ],
        defaultItem: "tshirt"
    )
}
