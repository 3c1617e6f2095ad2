/// The exact response a request under an idempotency key answered: saved with the key, replayed byte for byte.
public struct SavedResponse: Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// The body's bytes (JSON).
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
}
