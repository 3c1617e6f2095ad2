import Synchronization

/// A race run once, at an armed fault point: the body set last runs when the point is first reached after it was
/// set, and a point reached again (by the racing request itself) runs nothing.
public final class Race: Sendable {
    private let next = Mutex<(@Sendable () async throws -> Void)?>(nil)

    /// Creates a race with nothing set.
    public init() {}

    /// Sets the body the next ``run()`` runs.
    public func set(_ body: @escaping @Sendable () async throws -> Void) { next.withLock { $0 = body } }

    /// Runs the body set, once.
    public func run() async throws {
        let body = next.withLock { next in
            defer { next = nil }
            return next
        }
        try await body?()
    }
}
