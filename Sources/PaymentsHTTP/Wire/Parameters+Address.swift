import PaymentsCore

// MARK: - Addresses and shipping

/// Stripe's `address` and `shipping` hashes, read the same wherever they come: a card's
/// `billing_details[address]`, a PaymentIntent's `shipping`, a customer's `address` and `shipping`.
extension Parameters {
    /// The longest value each address field takes, in characters: the limits a card's billing address has always
    /// had here, so that one address is accepted (or refused) alike wherever it is sent. Stripe documents 5000 for
    /// each; a country is its two-letter ISO 3166-1 code, and the others are far longer than any real address line.
    enum AddressLength {
        static let city = 200
        static let country = 2
        static let line = 200
        static let postalCode = 20
        static let state = 200
    }

    /// The longest shipping `name`, `phone`, `carrier` and `tracking_number`: Stripe's limit for each.
    static let maximumShippingFieldLength = 5000

    /// The fields of an address hash these parameters hold (`line1`, `line2`, `city`, `state`, `postal_code`,
    /// `country`). An empty field is no value (null), as Stripe reads an empty string; the caller's ``finish()``
    /// refuses any other key.
    mutating func addressFields() throws(PaymentError) -> Address {
        Address(
            city: try clearableString("city", maxLength: AddressLength.city) ?? nil,
            country: try clearableString("country", maxLength: AddressLength.country) ?? nil,
            line1: try clearableString("line1", maxLength: AddressLength.line) ?? nil,
            line2: try clearableString("line2", maxLength: AddressLength.line) ?? nil,
            postalCode: try clearableString("postal_code", maxLength: AddressLength.postalCode) ?? nil,
            state: try clearableString("state", maxLength: AddressLength.state) ?? nil
        )
    }

    /// The address hash `key` (a customer's `address`): nil when absent, `.some(nil)` for `key=` (unset it), else
    /// the address, which replaces the whole earlier one.
    /// - Throws: `parameter_unknown` for a key an address does not have, and the fields' length errors.
    mutating func clearableAddress(_ key: String) throws(PaymentError) -> Address?? {
        guard var hash = try nested(key) else { return nil }
        if hash.isEmpty { return .some(nil) }
        let address = try hash.addressFields()
        try hash.finish()
        return .some(address)
    }

    /// Which object a `shipping` hash belongs to: Stripe's rules differ a little between them.
    enum ShippingOwner {
        /// A PaymentIntent's (and so its charges'): `carrier` and `tracking_number` too, and `address[line1]`
        /// required.
        case paymentIntent
        /// A customer's: `name`, `address` and `phone` only.
        case customer
    }

    /// The shipping hash `key`: nil when absent, `.some(nil)` for `key=` (unset it), else the shipping, which
    /// replaces the whole earlier one (as Stripe's does: a shipping hash is one value, not fields to merge).
    /// - Throws: `parameter_unknown` for a key the hash does not have (checked first), then `parameter_missing`
    ///   naming `shipping[name]`, `shipping[address]` or (a PaymentIntent's) `shipping[address][line1]`.
    mutating func clearableShipping(_ key: String = "shipping", of owner: ShippingOwner) throws(PaymentError)
        -> Shipping??
    {
        guard var hash = try nested(key) else { return nil }
        if hash.isEmpty { return .some(nil) }
        let length = Self.maximumShippingFieldLength
        let name = try hash.string("name", maxLength: length)
        let phone = try hash.clearableString("phone", maxLength: length) ?? nil
        var carrier: String?
        var trackingNumber: String?
        if owner == .paymentIntent {
            carrier = try hash.clearableString("carrier", maxLength: length) ?? nil
            trackingNumber = try hash.clearableString("tracking_number", maxLength: length) ?? nil
        }
        var address: Address?
        if var fields = try hash.nested("address"), !fields.isEmpty {
            address = try fields.addressFields()
            try fields.finish()
        }
        try hash.finish()
        guard let name else { throw .parameterMissing(hash.name("name")) }
        guard let address else { throw .parameterMissing(hash.name("address")) }
        if owner == .paymentIntent, address.line1 == nil {
            throw .parameterMissing(hash.name("address") + "[line1]")
        }
        return .some(
            Shipping(address: address, carrier: carrier, name: name, phone: phone, trackingNumber: trackingNumber)
        )
    }
}
