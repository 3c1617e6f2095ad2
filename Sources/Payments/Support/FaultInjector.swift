/// Named points where crash tests make the process die, to prove that nothing is charged twice or lost.
///
/// Inert unless a point is armed; only the debug build's `payments serve` arms one, from
/// `PAYMENTS_FAULT_POINT` (release builds compile that out).
public struct FaultInjector: Sendable {
    /// The points, in the order a confirm passes them.
    public enum Point: String, Sendable, CaseIterable {
        /// The pending attempt is committed; the network has not been asked.
        case afterAttemptCommit = "after-attempt-commit"
        /// The network answered (and recorded the charge); our outcome is not committed.
        case afterNetwork = "after-network"
        /// The outcome and the response are committed; the response is not yet sent.
        case beforeResponse = "before-response"
    }

    private let armed: Point?
    private let action: @Sendable (Point) -> Void

    /// An injector that does nothing.
    public static let inert = FaultInjector(armed: nil) { _ in }

    /// Creates an injector that runs `action` when `armed` is reached.
    public init(armed: Point?, action: @escaping @Sendable (Point) -> Void) {
        self.armed = armed
        self.action = action
    }

    /// Marks that execution reached `point`.
    public func reach(_ point: Point) {
        if point == armed { action(point) }
    }
}
