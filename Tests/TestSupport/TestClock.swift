import PaymentsCore
import Synchronization

/// A clock tests move by hand. Starts at 2026-01-01T00:00:00Z unless told otherwise.
public final class TestClock: Sendable {
    private let seconds: Mutex<Int64>

    /// 2026-01-01T00:00:00Z.
    public static let defaultStart: Int64 = 1_767_225_600

    /// Creates a clock at `start`.
    public init(_ start: Int64 = TestClock.defaultStart) { self.seconds = Mutex(start) }

    /// The current test time.
    public var now: Int64 { seconds.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(by delta: Int64) { seconds.withLock { $0 += delta } }

    /// The clock as the domain sees it.
    public var unixClock: UnixClock { UnixClock { [self] in self.now } }
}

/// Ids that count up (`pi_test000000000000000001`), so test output is predictable.
public final class SequentialIDs: Sendable {
    private let counter = Mutex(0)

    /// Creates a generator.
    public init() {}

    /// The generator as the domain sees it.
    public var generator: IDGenerator {
        IDGenerator { [self] count in
            let next = self.counter.withLock { value -> Int in
                value += 1
                return value
            }
            let digits = String(next)
            let body = "test" + String(repeating: "0", count: max(0, count - 4 - digits.count)) + digits
            return String(body.suffix(count))
        }
    }
}
