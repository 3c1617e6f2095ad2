/// The cardholder's billing details, as Stripe's `billing_details`.
public struct BillingDetails: Codable, Sendable, Equatable {
    /// A postal address.
    public struct Address: Codable, Sendable, Equatable {
        public var city: String?
        public var country: String?
        public var line1: String?
        public var line2: String?
        public var postalCode: String?
        public var state: String?

        /// Creates an address.
        public init(
            city: String? = nil,
            country: String? = nil,
            line1: String? = nil,
            line2: String? = nil,
            postalCode: String? = nil,
            state: String? = nil
        ) {
            self.city = city
            self.country = country
            self.line1 = line1
            self.line2 = line2
            self.postalCode = postalCode
            self.state = state
        }

        public enum CodingKeys: String, CodingKey {
            case city, country, line1, line2, state
            case postalCode = "postal_code"
        }
    }

    public var address: Address
    public var email: String?
    public var name: String?
    public var phone: String?

    /// Creates billing details.
    public init(address: Address = Address(), email: String? = nil, name: String? = nil, phone: String? = nil) {
        self.address = address
        self.email = email
        self.name = name
        self.phone = phone
    }
}
