import PaymentsCore

/// The store as the use cases see it: every write transaction first claims the running request's new idempotency
/// key, if it has one still pending (``KeyClaim``), and records the events of every change it makes
/// (``EventRecordingTransaction``), with the snapshots made for it ahead of time, if any (``PreparedSnapshots``).
/// Reads pass straight through.
struct UseCaseStore: PaymentStore {
    let base: any PaymentStore
    let ids: IDGenerator
    let clock: UnixClock

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let claim = KeyClaim.current.flatMap { $0.isClaimed ? nil : $0 }
        let (ids, now, snapshots, request) = (ids, clock.now(), PreparedSnapshots.current, Event.Request.current)
        return try await base.write { tx in
            try claim?.claim(in: tx)
            return try body(
                EventRecordingTransaction(base: tx, ids: ids, now: now, request: request, prepared: snapshots)
            )
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await base.read(body)
    }
}

extension PaymentStore {
    /// Commits the running request's new idempotency key, if it is still pending (``KeyClaim``), in a transaction of
    /// its own. The context's card network calls this before every call that may move money
    /// (`TimeLimitedCardNetwork`), so a use case whose first write comes after the network (a capture, a cancel's
    /// release) holds its key from before the network is asked; for the others it finds the key claimed already.
    func claimPendingKey() async throws {
        guard let claim = KeyClaim.current, !claim.isClaimed else { return }
        try await write { _ in }
    }
}
