import PaymentsCore

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

    /// Why `/pay` could not charge one of the items, or nil: a currency Stripe does not charge in, an amount it
    /// refuses in that currency (zero or less, under the minimum charge, over the maximum, not settleable), two items
    /// with one id, or a default that is not an item. Checked at start: such a catalogue started, published its items
    /// on `/checkout/config.json`, and every customer's payment of them failed with a 400 blaming the request.
    public var problem: String? {
        var seen: Set<String> = []
        for item in items {
            guard seen.insert(item.id).inserted else { return "two items have the id '\(item.id)'." }
            guard let currency = Currency(code: item.currency) else {
                return "item '\(item.id)' has the currency '\(item.currency)', which is not one Stripe charges in."
            }
            do {
                _ = try Money.validateCharge(amount: item.amount, currency: currency)
            } catch {
                return
                    "item '\(item.id)' costs \(item.amount) \(currency.code), which cannot be charged: "
                    + (error.message.hasSuffix(".") ? error.message : error.message + ".")
            }
        }
        guard item(nil) != nil else { return "the default item '\(defaultItem)' is not one of its items." }
        return nil
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
            Item(id: "tote", name: "Tote bag", amount: 2000, currency: "jpy"),
        ],
        defaultItem: "tshirt"
    )
}
