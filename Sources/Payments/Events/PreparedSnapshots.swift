import PaymentsCore

/// Event snapshots made before a write transaction, for the intent and the charge it is expected to write (phase
/// three's, from what phase one recorded), so the single writer does not spend its time writing JSON.
///
/// ``EventRecordingTransaction`` uses a snapshot only for an object equal to the value it was made from: a
/// snapshot is a function of the object alone, so the bytes are the ones the transaction would have made. An object
/// that differs (someone changed the row in between) gets its own snapshot, as without this.
///
/// A use case hands them to its next write through ``current`` (as ``KeyClaim`` hands over a key), since the store it
/// writes through is any ``PaymentStore``.
struct PreparedSnapshots: Sendable {
    /// The snapshots for the write transactions the current task starts.
    @TaskLocal static var current: PreparedSnapshots?

    private let intent: (value: PaymentIntent, json: [UInt8])?
    private let charge: (value: Charge, json: [UInt8])?

    /// Makes the snapshots of `intent` and `charge`.
    init(intent: PaymentIntent?, charge: Charge?) {
        self.init(
            intent: intent.map { ($0, EventSnapshot.json($0)) },
            charge: charge.map { ($0, EventSnapshot.json($0)) }
        )
    }

    /// Holds the given snapshots as they are (tests give bytes of their own, to see which are used).
    init(intent: (value: PaymentIntent, json: [UInt8])?, charge: (value: Charge, json: [UInt8])?) {
        self.intent = intent
        self.charge = charge
    }

    /// The snapshot made for a value equal to `object`, if any.
    func snapshot<T>(of object: T) -> [UInt8]? {
        if let object = object as? PaymentIntent, let intent, intent.value == object { return intent.json }
        if let object = object as? Charge, let charge, charge.value == object { return charge.json }
        return nil
    }
}
