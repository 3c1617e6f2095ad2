import Synchronization

/// Whether the server should be sent requests now (`GET /health/ready`): not draining, and its store checked
/// writable within ``timeout``.
///
/// The store check is injected: `payments serve` checks the SQLite database (migrations applied, and a write
/// transaction that changes nothing), tests pass their own. Concurrent probes share one check in flight, so a
/// flood of probes costs the writer at most one empty transaction at a time.
public final class Readiness: Sendable {
    /// The answer of one readiness check.
    public enum Status: Sendable, Equatable {
        /// Take requests.
        case ready
        /// Shutting down: finishing the requests in flight, taking no new ones.
        case draining
        /// The store failed its check, for `reason` (a short code, safe to show without a key).
        case unavailable(reason: String)
    }

    /// A check of the store that throws (or does not return in time) when it cannot take writes.
    public typealias Check = @Sendable () async throws -> Void

    /// Why the store check failed, as its `reason`.
    public struct Failure: Error, Sendable {
        public let reason: String

        /// A failure with a short code such as `migrations_pending`.
        public init(reason: String) { self.reason = reason }
    }

    /// How long the store check may take: a group commit answers in milliseconds; two seconds covers a commit
    /// waiting behind another process's transaction (a recharge batch) while staying inside a probe's timeout.
    public static let defaultTimeout: Duration = .seconds(2)

    private let check: Check
    private let timeout: Duration
    private let draining = Atomic<Bool>(false)
    /// The connections answered `Connection: close` since the drain began (``closing(_:)``).
    private let closed = Mutex<Set<ObjectIdentifier>>([])
    private let inFlight = Mutex<Task<Status, Never>?>(nil)

    /// Creates a readiness over `check`.
    public init(timeout: Duration = Readiness.defaultTimeout, check: @escaping Check) {
        self.check = check
        self.timeout = timeout
    }

    /// Marks the server as shutting down: from now on it is not ready.
    public func beginDraining() { draining.store(true, ordering: .releasing) }

    /// Whether ``beginDraining()`` was called.
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Records that `connection` (``StripeRequestContext/connection``) was answered `Connection: close` while
    /// draining: a request that comes after that answer on it is not run (``hasClosed(_:)``).
    ///
    /// The set only grows: the process ends with the drain. An identifier could name a new connection once its own
    /// is gone, but the drain accepts none (one that slipped in as it began, at a freed address, would have its
    /// requests answered as not run: nothing done, safe to send again).
    func closing(_ connection: ObjectIdentifier) {
        _ = closed.withLock { $0.insert(connection) }
    }

    /// Whether `connection` was answered `Connection: close` while draining (``closing(_:)``).
    func hasClosed(_ connection: ObjectIdentifier) -> Bool {
        closed.withLock { $0.contains(connection) }
    }

    /// Checks now (or joins the check in flight).
    public func status() async -> Status {
        if isDraining { return .draining }
        let task = inFlight.withLock { current -> Task<Status, Never> in
            if let current { return current }
            let task = Task { await self.checkStore() }
            current = task
            return task
        }
        let status = await task.value
        inFlight.withLock { current in
            if current == task { current = nil }
        }
        return isDraining ? .draining : status
    }

    /// Runs the store check, answering `timeout` if it has not returned in time (it is left to finish on its own:
    /// the caller is not held by it).
    private func checkStore() async -> Status {
        let (check, timeout) = (self.check, self.timeout)
        return await withCheckedContinuation { continuation in
            let answer = Once(continuation)
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { answer.resume(.unavailable(reason: "database_timeout")) }
            }
            Task {
                do {
                    try await check()
                    answer.resume(.ready)
                } catch let failure as Failure {
                    answer.resume(.unavailable(reason: failure.reason))
                } catch {
                    answer.resume(.unavailable(reason: "database_unwritable"))
                }
                timer.cancel()
            }
        }
    }
}

/// Resumes a continuation once, whoever comes first.
private final class Once: Sendable {
    private let continuation: Mutex<CheckedContinuation<Readiness.Status, Never>?>

    init(_ continuation: CheckedContinuation<Readiness.Status, Never>) { self.continuation = Mutex(continuation) }

    func resume(_ status: Readiness.Status) {
        let waiting = continuation.withLock { current in
            defer { current = nil }
            return current
        }
        waiting?.resume(returning: status)
    }
}
