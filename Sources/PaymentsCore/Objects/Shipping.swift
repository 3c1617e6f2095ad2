/// Where an order goes, as Stripe's `shipping` object: on a PaymentIntent (and copied onto its charges at each
/// attempt), and on a customer, whose shipping takes no `carrier` or `tracking_number` (they stay nil, rendered null).
///
/// Stored as JSON text in the `shipping` columns, keys sorted and nil fields omitted, so admins can query it with
/// `json_extract(shipping, '$.address.country')`.
public struct Shipping: Codable, Sendable, Equatable {
    public var address: Address
    /// The delivery service (Fedex, UPS, ...).
    public var carrier: String?
    /// The recipient's name: Stripe requires it whenever shipping is given.
    public var name: String
    public var phone: String?
    /// The carrier's tracking number(s), comma-separated.
    public var trackingNumber: String?

    /// Creates shipping details.
    public init(
        address: Address,
        carrier: String? = nil,
        name: String,
        phone: String? = nil,
        trackingNumber: String? = nil
    ) {
        self.address = address
        self.carrier = carrier
        self.name = name
        self.phone = phone
        self.trackingNumber = trackingNumber
    }

    public enum CodingKeys: String, CodingKey {
        case address, carrier, name, phone
        case trackingNumber = "tracking_number"
    }
}
