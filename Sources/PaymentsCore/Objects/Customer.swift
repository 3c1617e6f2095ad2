/// A customer of the merchant, who can own saved payment methods. Also the `customers` table's row.
public struct Customer: Codable, Sendable, Equatable {
    public var id: String
    public var created: Int64
    public var email: String?
    public var name: String?
    public var phone: String?
    public var description: String?
    public var metadata: [String: String]
    /// Stripe's `invoice_settings.default_payment_method`: the card off-session charges use by default.
    public var defaultPaymentMethod: String?
    public var deleted: Bool
    /// The customer's postal address (Stripe's `address`), and where its orders go (`shipping`: name, address and
    /// phone): nil until a create or update sets them.
    public var address: Address?
    public var shipping: Shipping?

    /// Creates a customer.
    public init(
        id: String,
        created: Int64,
        email: String? = nil,
        name: String? = nil,
        phone: String? = nil,
        description: String? = nil,
        metadata: [String: String] = [:],
        defaultPaymentMethod: String? = nil,
        deleted: Bool = false,
        address: Address? = nil,
        shipping: Shipping? = nil
    ) {
        self.id = id
        self.created = created
        self.email = email
        self.name = name
        self.phone = phone
        self.description = description
        self.metadata = metadata
        self.defaultPaymentMethod = defaultPaymentMethod
        self.deleted = deleted
        self.address = address
        self.shipping = shipping
    }

    public enum CodingKeys: String, CodingKey {
        case id, created, email, name, phone, description, metadata, deleted, address, shipping
        case defaultPaymentMethod = "default_payment_method"
    }
}
