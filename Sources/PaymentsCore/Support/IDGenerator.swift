/// Makes Stripe-shaped identifiers: a prefix and random alphanumerics (`pi_` + 24, `cus_` + 14, ...).
///
/// Injectable so tests can produce predictable ids; the default draws from the system's secure random source.
public struct IDGenerator: Sendable {
    private let random: @Sendable (Int) -> String

    /// Creates a generator from a function returning `count` random alphanumeric characters.
    public init(random: @escaping @Sendable (Int) -> String) { self.random = random }

    /// Random alphanumerics from `SystemRandomNumberGenerator` (a CSPRNG on every platform Swift supports).
    ///
    /// Each draw of the generator is a system call (`getrandom` on Linux), so a character is cut from each byte of a
    /// 64-bit draw rather than drawing once per character: a 24-character id costs about 4 calls instead of 24. A
    /// byte maps onto the 62 characters without bias by keeping only bytes below 248 (4 × 62).
    public static let secure = IDGenerator { count in
        var generator = SystemRandomNumberGenerator()
        var characters: [Character] = []
        characters.reserveCapacity(count)
        while characters.count < count {
            var word = generator.next()
            for _ in 0..<8 where characters.count < count {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < unbiasedLimit { characters.append(alphabet[Int(byte) % alphabet.count]) }
            }
        }
        return String(characters)
    }

    /// The bytes below this (a multiple of the alphabet's size) map onto it uniformly.
    private static let unbiasedLimit = UInt8(256 / alphabet.count * alphabet.count)

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

    /// `count` random alphanumeric characters.
    public func token(_ count: Int) -> String { random(count) }

    /// A new PaymentIntent id.
    public func paymentIntent() -> String { "pi_" + random(24) }
    /// A new PaymentMethod id.
    public func paymentMethod() -> String { "pm_" + random(24) }
    /// A new Charge id; charges are also the attempt ids sent to the card network.
    public func charge() -> String { "ch_" + random(24) }
    /// A new SetupIntent id.
    public func setupIntent() -> String { "seti_" + random(24) }
    /// A new SetupAttempt id: names a setup intent's confirmation attempt (`latest_attempt`).
    public func setupAttempt() -> String { "setatt_" + random(24) }
    /// A new Customer id.
    public func customer() -> String { "cus_" + random(14) }
    /// A new Refund id.
    public func refund() -> String { "re_" + random(24) }
    /// A new Event id.
    public func event() -> String { "evt_" + random(24) }
    /// A new request id for the `Request-Id` header.
    public func request() -> String { "req_" + random(14) }
    /// A client secret for `intentID` (a PaymentIntent's or a SetupIntent's).
    public func clientSecret(for intentID: String) -> String { intentID + "_secret_" + random(25) }
}
