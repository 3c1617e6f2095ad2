import PaymentsCore

/// The charges a batch inserted or saved and the events it recorded, held back until the batch ends
/// (``StoreTransaction/inBatch(_:)``).
final class BatchedInserts {
    var charges: [Charge] = []
    var chargeUpdates: [(charge: Charge, before: Charge)] = []
    var events: [Event] = []
}

extension StoreTransaction {
    /// Runs `body` with the charges it inserts or saves (``update(_:from:)-(Charge,_)``) and the events its changes
    /// record held back, then writes them at its end in multi-row statements (``StoreTransaction/insert(charges:)``,
    /// ``StoreTransaction/update(charges:)``, ``StoreTransaction/insert(events:)``): the same rows, with the same
    /// ids, recorded in the same order, in the same transaction, in a few statements instead of one or two per
    /// change. The sweeper's batches change hundreds of intents this way.
    ///
    /// - Precondition: `body` does not read back a charge or an event it wrote (they are not written yet), nor save
    ///   one charge twice.
    func inBatch<T>(_ body: (any StoreTransaction) throws -> T) throws -> T {
        guard var batched = self as? EventRecordingTransaction, batched.batch == nil else { return try body(self) }
        let inserts = BatchedInserts()
        batched.batch = inserts
        let value = try body(batched)
        try batched.base.insert(charges: inserts.charges)
        try batched.base.update(charges: inserts.chargeUpdates)
        try batched.base.insert(events: inserts.events)
        return value
    }
}
