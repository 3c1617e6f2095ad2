import Logging
import PaymentsCore
import Synchronization

/// Keeps the idempotency leases of this process's running requests alive, so that a lease can be short.
///
/// A lease (``PaymentsContext/Settings/idempotencyLease``) is how long a key stays held after its holder was last
/// heard of. A request holds its key through ``IdempotencyKeys/holding(_:_:)`` (and the HTTP layer around the whole
/// request, its answer's rendering included), which registers the lease here; every third of the lease less one
/// second (``interval``), one write extends every registered lease that its token still holds to a full lease from
/// now. Leases are whole seconds, so a renewed lease runs at least a second less than its length: two renewals may
/// be missed (a slow write, a busy machine) before it runs out. A live request therefore keeps its key however long
/// the card network takes, while a key whose process died (SIGKILL, a crash, a power cut) is free again within one
/// lease, before a client library's retries give up: the official libraries retry a 409 for 6 to 12 seconds in all
/// (`max_network_retries=5`), and a 30-second lease outlasted them, so a payment made and completed by start-up
/// recovery was reported to the caller as failed.
///
/// A holder that stops without dying (a paused process) stops renewing too; once its lease runs out another request
/// may take the key over, and the paused holder's later writes are refused (fencing, as before). So does a request
/// held longer than ``limit`` (a connection that never answers): its lease is no longer renewed.
///
/// The renewals run on a detached task, started by the first lease registered and ending when none is left: a
/// process with no request in flight writes nothing.
public final class LeaseRenewal: Sendable {
    private struct State {
        /// Registered leases, by token, with how many holds each has (a lease is held again for its finish) and
        /// since when.
        var held: [String: (key: HeldIdempotencyKey, holds: Int, since: ContinuousClock.Instant)] = [:]
        var running = false
    }

    private let state = Mutex(State())
    /// The store itself, not the use cases' wrapper: a renewal claims no key and records no event.
    private let store: any PaymentStore
    private let clock: UnixClock
    private let lease: Int64
    private let logger: Logger
    /// How long a lease is renewed at most: two network time limits and half a minute, far longer than a live
    /// request takes (the card network twice, and the store's waits).
    public let limit: Duration

    /// How often the registered leases are renewed: a third of the lease less one second (a renewed lease, in whole
    /// seconds, runs at least that long), so two renewals may be missed before a live holder's lease runs out.
    public var interval: Duration { .milliseconds(max((lease - 1) * 1000 / 3, 250)) }

    init(store: any PaymentStore, clock: UnixClock, lease: Int64, networkTimeout: Duration, logger: Logger) {
        self.store = store
        self.clock = clock
        self.lease = lease
        self.limit = networkTimeout * 2 + .seconds(30)
        self.logger = logger
    }

    /// The leases registered now (for tests).
    public var count: Int { state.withLock { $0.held.count } }

    /// Registers `lease` until ``release(_:)``.
    public func hold(_ lease: IdempotencyLease) {
        let key = HeldIdempotencyKey(apiKey: lease.apiKey, key: lease.key, token: lease.token)
        let now = ContinuousClock.now
        let start = state.withLock { state -> Bool in
            state.held[lease.token, default: (key, 0, now)].holds += 1
            guard !state.running else { return false }
            state.running = true
            return true
        }
        // Detached: a task would inherit the request's task-locals (its key claim, its events' request).
        if start { Task.detached { [self] in await renewWhileHeld() } }
    }

    /// Ends one hold of `lease`.
    public func release(_ lease: IdempotencyLease) {
        state.withLock { state in
            guard let entry = state.held[lease.token] else { return }
            if entry.holds > 1 {
                state.held[lease.token]?.holds -= 1
            } else {
                state.held[lease.token] = nil
            }
        }
    }

    private func renewWhileHeld() async {
        while true {
            try? await Task.sleep(for: interval)
            let now = ContinuousClock.now
            let held = state.withLock { state -> [HeldIdempotencyKey]? in
                if state.held.isEmpty {
                    state.running = false
                    return nil
                }
                return state.held.values.compactMap { now - $0.since < limit ? $0.key : nil }
            }
            guard let held else { return }
            if held.isEmpty { continue }
            let until = clock.now() + lease
            do {
                try await store.write { tx in try tx.renewIdempotencyLeases(held, until: until) }
            } catch {
                // The next renewal tries again; meanwhile the leases run on from their last renewal.
                logger.warning(
                    "renewing the idempotency leases of requests in flight failed",
                    metadata: ["leases": "\(held.count)", "error": "\(error)"]
                )
            }
        }
    }
}
