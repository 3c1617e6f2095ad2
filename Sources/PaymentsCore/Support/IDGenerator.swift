import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Makes Stripe-shaped identifiers: a prefix and random alphanumerics (`pi_` + 24, `cus_` + 14, ...).
///
/// Injectable so tests can produce predictable ids; the default draws from the system's secure random source.
public struct IDGenerator: Sendable {
    private let random: @Sendable (Int) -> String
    /// The next value of an increasing sequence, for the start of object ids; nil for ids random throughout.
    private let sequence: (@Sendable () -> UInt64)?

    /// Creates a generator from a function returning `count` random alphanumeric characters and, optionally, an
    /// increasing sequence that starts every object id.
    public init(random: @escaping @Sendable (Int) -> String, sequence: (@Sendable () -> UInt64)? = nil) {
        self.random = random
        self.sequence = sequence
    }

    /// Random alphanumerics from the system's secure random source.
    ///
    /// Each draw from the system is a system call (`getrandom` on Linux, about 1.5 us, most of it the kernel setting
    /// up its generator's state for the call), so bytes are drawn 4 KiB at a time (``SecureRandomBytes``) and each
    /// handed out once. A byte maps onto the 62 characters without bias by keeping only bytes below 248 (4 × 62);
    /// the few bytes dropped are replaced by the next ones.
    public static let secure = IDGenerator(random: secureRandom, sequence: ObjectIDSequence.process.next)

    /// `count` characters from the system's secure random source.
    private static let secureRandom: @Sendable (Int) -> String = { count in
        var characters: [UInt8] = []
        characters.reserveCapacity(count)
        // About 3% of bytes are dropped: a few spare bytes make a second take rare.
        while characters.count < count {
            SecureRandomBytes.shared.take(count - characters.count + 4) { bytes in
                for byte in bytes where characters.count < count && byte < unbiasedLimit {
                    characters.append(alphabet[Int(byte) % alphabet.count])
                }
            }
        }
        return String(decoding: characters, as: UTF8.self)
    }

    /// Fills `buffer` from the system's CSPRNG in one call where the C library offers it (`arc4random_buf`: glibc
    /// 2.36 and later, Darwin), from `SystemRandomNumberGenerator` 8 bytes at a time otherwise.
    static func fillRandom(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        #if canImport(Glibc) || canImport(Darwin)
            arc4random_buf(base, buffer.count)
        #else
            var generator = SystemRandomNumberGenerator()
            var offset = 0
            while offset < buffer.count {
                var word = generator.next()
                let chunk = min(8, buffer.count - offset)
                withUnsafeBytes(of: &word) { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: chunk) }
                offset += chunk
            }
        #endif
    }

    /// The bytes below this (a multiple of the alphabet's size) map onto it uniformly.
    private static let unbiasedLimit = UInt8(256 / alphabet.count * alphabet.count)

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// `count` random alphanumeric characters.
    public func token(_ count: Int) -> String { random(count) }

    /// `count` characters for a stored object's id: the first ``sequencedPrefix`` from the sequence (when the
    /// generator has one), the rest random.
    ///
    /// Ids are the primary keys of their tables. Random keys put every insert on a random leaf of the key's B-tree,
    /// so a group commit of N payments rewrote about N pages per table in the write-ahead log (`pwrite` was 15% of
    /// W1's samples in `perf`); keys that start from an increasing sequence land on the same last leaves. The random
    /// rest (at least 8 characters: 62^8 ≈ 2 × 10^14) keeps ids unguessable; client secrets stay random throughout.
    private func objectID(_ count: Int) -> String {
        guard let sequence else { return random(count) }
        var value = sequence()
        var head = [UInt8](repeating: UInt8(ascii: "0"), count: Self.sequencedPrefix)
        for index in head.indices.reversed() {
            head[index] = Self.alphabet[Int(value % UInt64(Self.alphabet.count))]
            value /= UInt64(Self.alphabet.count)
        }
        return String(decoding: head, as: UTF8.self) + random(count - Self.sequencedPrefix)
    }

    /// How many leading characters of an object id come from the sequence: 62^6 ≈ 5.7 × 10^10 values.
    static let sequencedPrefix = 6

    /// A new PaymentIntent id.
    public func paymentIntent() -> String { "pi_" + objectID(24) }
    /// A new PaymentMethod id.
    public func paymentMethod() -> String { "pm_" + objectID(24) }
    /// A new Charge id; charges are also the attempt ids sent to the card network.
    public func charge() -> String { "ch_" + objectID(24) }
    /// A new SetupIntent id.
    public func setupIntent() -> String { "seti_" + objectID(24) }
    /// A new SetupAttempt id: names a setup intent's confirmation attempt (`latest_attempt`).
    public func setupAttempt() -> String { "setatt_" + objectID(24) }
    /// A new Customer id.
    public func customer() -> String { "cus_" + objectID(14) }
    /// A new Refund id.
    public func refund() -> String { "re_" + objectID(24) }
    /// A new Event id.
    public func event() -> String { "evt_" + objectID(24) }
    /// A new request id for the `Request-Id` header.
    public func request() -> String { "req_" + random(14) }
    /// A client secret for `intentID` (a PaymentIntent's or a SetupIntent's).
    public func clientSecret(for intentID: String) -> String { intentID + "_secret_" + random(25) }
}

/// Bytes from the system's CSPRNG (``IDGenerator/fillRandom(_:)``), drawn 4 KiB at a time and handed out once each,
/// in order, under a lock: one system call per 4 KiB instead of one per id (a payment draws about eight ids and
/// secrets, a sweeper pass thousands). Every byte comes from the system's generator and none is handed out twice, so
/// ids are as unpredictable as drawn one by one; the process never forks without `exec`, so no copy of the buffer
/// hands the same bytes out again.
final class SecureRandomBytes: Sendable {
    static let shared = SecureRandomBytes()

    private static let size = 4096
    private let state = Mutex<(bytes: [UInt8], next: Int)>(([UInt8](repeating: 0, count: size), size))

    /// Runs `body` on the next `count` bytes (at most 4 KiB; fewer when the buffer ends first, at least one), which
    /// nobody else gets. `body` runs under the lock: it only copies what it needs.
    func take(_ count: Int, _ body: (ArraySlice<UInt8>) -> Void) {
        state.withLock { state in
            if state.next == state.bytes.count {
                state.bytes.withUnsafeMutableBytes(IDGenerator.fillRandom)
                state.next = 0
            }
            let end = min(state.bytes.count, state.next + max(1, count))
            body(state.bytes[state.next..<end])
            state.next = end
        }
    }
}

/// The increasing sequence that starts a process's object ids (``IDGenerator/secure``): from a random point in the
/// lower half of its range, so processes sharing a database (the server, `payments recharge`) write into regions of
/// their own, each in order.
final class ObjectIDSequence: Sendable {
    private let counter: Atomic<UInt64>

    /// The process's sequence.
    static let process = ObjectIDSequence(start: UInt64.random(in: 0..<(sequenceLimit / 2)))

    /// Values stay below 62^6, the ids' sequenced characters.
    static let sequenceLimit: UInt64 = 56_800_235_584

    init(start: UInt64) { counter = Atomic(start) }

    /// The next value (wrapping at ``sequenceLimit``, after more ids than a process makes).
    @Sendable func next() -> UInt64 {
        counter.wrappingAdd(1, ordering: .relaxed).newValue % Self.sequenceLimit
    }
}
