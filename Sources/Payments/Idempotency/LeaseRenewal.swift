import Logging
import PaymentsCore
import Synchronization

/// Keeps the idempotency leases of this process's running requests alive, so that a lease can be short.
///
/// A lease (``PaymentsContext/Settings/idempotencyLease``) is how long a key stays held after its holder was last
/// heard of. A request holds its key through ``IdempotencyKeys/holding(_:_:)``, which registers the lease here; every
/// third of the lease, one write extends every registered lease that its token still holds to a full lease from
/// now. A live request therefore never loses its key, however long the card network takes, while a key whose
/// process died (SIGKILL, a crash, a power cut) is free again within one lease, before a client library's retries
/// give up: the official libraries retry a 409 for 6 to 12 seconds in all (`max_network_retries=5`), and a 30-second
/// lease outlasted them, so a payment made and completed by start-up recovery was reported to the caller as failed.
///
/// A holder that stops without dying (a paused process) stops renewing too; once its lease runs out another request
/// may take the key over, and the paused holder's later writes are refused (fencing, as before).
///
/// The renewals run on a detached task, started by the first lease registered and ending when none is left: a
/// process with no request in flight writes nothing.
public final class LeaseRenewal: Sendable {
    private struct State {
        /// Registered leases, by token, with how many holds each has (a lease is held again for its finish).
        var held: [String: (key: HeldIdempotencyKey, holds: Int)] = [:]
        var running = false
    }

    private let state = Mutex(State())
    /// The store itself, not the use cases' wrapper: a renewal claims no key and records no event.
    private let store: any PaymentStore
    private let clock: UnixClock
    private let lease: Int64
    private let logger: Logger

    /// How often the registered leases are renewed: a third of the lease, so two renewals may be missed (a
    /// stalled write, a busy machine) before a live holder's lease runs out.
    public var interval: Duration { .milliseconds(max(lease * 1000 / 3, 250)) }

    init(store: any PaymentStore, clock: UnixClock, lease: Int64, logger: Logger) {
        self.store = store
        self.clock = clock
        self.lease = lease
        self.logger = logger
    }

    /// The leases registered now (for tests).
    public var count: Int { state.withLock { $0.held.count } }

    /// Registers `lease` until ``release(_:)``.
    func hold(_ lease: IdempotencyLease) {
        let key = HeldIdempotencyKey(apiKey: lease.apiKey, key: lease.key, token: lease.token)
        let start = state.withLock { state -> Bool in
            state.held[lease.token, default: (key, 0)].holds += 1
            guard !state.running else { return false }
            state.running = true
            return true
        }
        // Detached: a task would inherit the request's task-locals (its key claim, its events' request).
        if start { Task.detached { [self] in await renewWhileHeld() } }
    }

    /// Ends one hold of `lease`.
    func release(_ lease: IdempotencyLease) {
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
            let held = state.withLock { state -> [HeldIdempotencyKey]? in
                if state.held.isEmpty {
                    state.running = false
                    return nil
                }
                return state.held.values.map(\.key)
            }
            guard let held else { return }
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
