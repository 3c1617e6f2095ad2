/// The time source handed to everything that needs "now": unix seconds, UTC.
///
/// The domain never reads a clock itself; use cases receive one of these, and tests pass a fixed one.
public struct UnixClock: Sendable {
    private let read: @Sendable () -> Int64

    /// Creates a clock from a function that returns the current unix time in seconds.
    public init(_ read: @escaping @Sendable () -> Int64) { self.read = read }

    /// The current unix time in seconds.
    public func now() -> Int64 { read() }

    /// A clock that always answers `seconds`.
    public static func fixed(_ seconds: Int64) -> UnixClock { UnixClock { seconds } }
}
