/// Makes Stripe-shaped identifiers: a prefix and random alphanumerics (`pi_` + 24, `cus_` + 14, ...).
///
/// Injectable so tests can produce predictable ids; the default draws from the system's secure random source.
public struct IDGenerator: Sendable {
    private let random: @Sendable (Int) -> String

    /// Creates a generator from a function returning `count` random alphanumeric characters.
    public init(random: @escaping @Sendable (Int) -> String) { self.random = random }

    /// Random alphanumerics from `SystemRandomNumberGenerator` (a CSPRNG on every platform Swift supports).
    public static let secure = IDGenerator { count in
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `count` random alphanumeric characters.
    public func token(_ count: Int) -> String { random(count) }

    /// A new PaymentIntent id.
    public func paymentIntent() -> String { "pi_" + random(24) }
    /// A new PaymentMethod id.
    public func paymentMethod() -> String { "pm_" + random(24) }
    /// A new Charge id; charges are also the attempt ids sent to the card network.
    public func charge() -> String { "ch_" + random(24) }
    /// A new Customer id.
    public func customer() -> String { "cus_" + random(14) }
    /// A new Refund id.
    public func refund() -> String { "re_" + random(24) }
    /// A new request id for the `Request-Id` header.
    public func request() -> String { "req_" + random(14) }
    /// A client secret for `intentID`.
    public func clientSecret(for intentID: String) -> String { intentID + "_secret_" + random(25) }
}
