/// Named points where crash tests make the process die (or a call fail), to prove that nothing is charged twice
/// or lost.
///
/// Inert unless a point is armed; only the debug build's commands arm one, from `PAYMENTS_FAULT_POINT` (release
/// builds compile that out). Unit tests arm points with actions of their own, to run a racing request at an exact
/// moment.
public struct FaultInjector: Sendable {
    /// The points, in the order a request passes them.
    public enum Point: String, Sendable, CaseIterable {
        /// A request's idempotency key was found new (no row, so none written); the request has not run.
        case afterKeyBegin = "after-key-begin"
        /// The pending attempt is committed; the network has not been asked.
        case afterAttemptCommit = "after-attempt-commit"
        /// The network answered (and recorded the charge); our outcome is not committed.
        case afterNetwork = "after-network"
        /// The refund is reserved and committed; the network has not been asked.
        case afterRefundReserved = "after-refund-reserved"
        /// The network refunded; the refund's outcome is not committed.
        case afterRefundNetwork = "after-refund-network"
        /// A capture's network captured; its write has not run.
        case afterCaptureNetwork = "after-capture-network"
        /// A cancel has read the intent and asked the network what it had to; its write has not run.
        case beforeCancelWrite = "before-cancel-write"
        /// A 3-D Secure challenge's answer is committed; an automatic intent's confirm has not started.
        case afterAuthentication = "after-authentication"
        /// A request whose use case saved no response with its work (an attach, a detach, a customer's update) has
        /// committed that work, its key claimed in the same transaction; its answer is not yet saved under the key.
        case beforeKeyFinish = "before-key-finish"
        /// The outcome and the response are committed; the response is not yet sent.
        case beforeResponse = "before-response"
        /// `payments vault rotate` committed a batch of re-sealed cards; the next batch has not started.
        case afterRotateBatch = "after-rotate-batch"
        /// A sweeper pass committed a batch (of expired attempts or canceled authorizations); the next has not
        /// started.
        case afterSweepBatch = "after-sweep-batch"
        /// A sweeper pass released a batch of expired authorizations at the network; their cancellations are not
        /// written.
        case afterSweepRelease = "after-sweep-release"
        /// `payments serve` took its settings and the stop signals; it has not opened the database (nor migrated it).
        case beforeMigrations = "before-migrations"
    }

    private let armed: Point?
    private let action: @Sendable (Point) async throws -> Void

    /// An injector that does nothing.
    public static let inert = FaultInjector(armed: nil) { _ in }

    /// Creates an injector that runs `action` when `armed` is reached (an action that throws makes the step there
    /// fail with its error).
    public init(armed: Point?, action: @escaping @Sendable (Point) async throws -> Void) {
        self.armed = armed
        self.action = action
    }

    /// Marks that execution reached `point`.
    public func reach(_ point: Point) async throws {
        if point == armed { try await action(point) }
    }
}
