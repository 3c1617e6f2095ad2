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
        let (ids, now, snapshots) = (ids, clock.now(), PreparedSnapshots.current)
        return try await base.write { tx in
            try claim?.claim(in: tx)
            return try body(EventRecordingTransaction(base: tx, ids: ids, now: now, prepared: snapshots))
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await base.read(body)
    }
}
