/// The cardholder's billing details, as Stripe's `billing_details`.
public struct BillingDetails: Codable, Sendable, Equatable {
    /// A postal address: the one type every address of the service has (``PaymentsCore/Address``), under the name
    /// billing details' callers know it by.
    public typealias Address = PaymentsCore.Address

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

extension BillingDetails {
    /// A PaymentMethod update's change to its billing details, merged as Stripe merges them: a field the request
    /// names is set (or unset, given empty), and a field it leaves out keeps its value.
    ///
    /// Each field is nil to keep it, `.some(nil)` to unset it, `.some(value)` to set it. `billing_details=` (empty)
    /// unsets every field first, and `billing_details[address]=` every field of the address.
    public struct Update: Sendable, Equatable {
        public var clearAll = false
        public var clearAddress = false
        public var name: String??
        public var email: String??
        public var phone: String??
        public var city: String??
        public var country: String??
        public var line1: String??
        public var line2: String??
        public var postalCode: String??
        public var state: String??

        /// An update that changes nothing.
        public init() {}

        /// `details` with this update applied.
        public func applied(to details: BillingDetails) -> BillingDetails {
            var result = clearAll ? BillingDetails() : details
            if clearAddress { result.address = Address() }
            func apply(_ change: String??, to field: inout String?) {
                if let change { field = change }
            }
            apply(name, to: &result.name)
            apply(email, to: &result.email)
            apply(phone, to: &result.phone)
            apply(city, to: &result.address.city)
            apply(country, to: &result.address.country)
            apply(line1, to: &result.address.line1)
            apply(line2, to: &result.address.line2)
            apply(postalCode, to: &result.address.postalCode)
            apply(state, to: &result.address.state)
            return result
        }
    }
}
