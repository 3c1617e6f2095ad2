/// Stripe's metadata limit on the object, not only on one request: an update that adds keys to an object's
/// metadata may not leave it with more than ``maximumMetadataKeys``.
extension Dictionary where Key == String, Value == String {
    /// The most keys an object's metadata may hold, as Stripe.
    public static var maximumMetadataKeys: Int { 50 }

    /// Applies a `metadata` update: clears every key first when `clearingFirst` (`metadata=`), then sets each key of
    /// `updates` (a nil value deletes the key).
    /// - Throws: a 400 on `metadata` when the result would hold more than 50 keys; the dictionary is then unchanged.
    public mutating func applyMetadata(_ updates: [String: String?]?, clearingFirst: Bool = false) throws(PaymentError)
    {
        var next = clearingFirst ? [:] : self
        for (key, value) in updates ?? [:] { next[key] = value }
        guard next.count <= Self.maximumMetadataKeys else {
            throw .invalidRequest(
                "You can have up to \(Self.maximumMetadataKeys) keys in metadata: this update would leave "
                    + "\(next.count). Delete keys (set them to an empty value) in the same request to make room.",
                code: "parameter_invalid_string",
                param: "metadata"
            )
        }
        self = next
    }

    /// Applies the `metadata` of a request whose money moved already (a capture the network made): as
    /// ``applyMetadata(_:clearingFirst:)`` but never refused. The request checked the count before it asked the
    /// network; an update that came in between may have added keys, and the capture is recorded all the same, with
    /// the metadata it asked for, even over the limit (the next update that adds a key is refused until keys go).
    public mutating func applyRecordedMetadata(_ updates: [String: String?]?) {
        for (key, value) in updates ?? [:] { self[key] = value }
    }
}
