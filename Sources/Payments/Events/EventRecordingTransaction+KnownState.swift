import PaymentsCore

/// Saves of an object its caller read earlier in the same write transaction.
///
/// ``EventRecordingTransaction`` reads an object again before each update, to know which events the change makes.
/// A caller that read the object in this transaction (under the write lock, so nobody changed it since) already
/// holds that state: handing it over saves a read per update. The sweeper updates hundreds of intents and charges
/// per batch, each read by the batch's own query; a confirm's last phase updates the charge and the intent it read.
///
/// An object the transaction creates and then changes (a create+confirm's new intent and payment method) is
/// inserted once, in its final state, with the events the insert and the update would have recorded.
extension StoreTransaction {
    /// Saves `intent` if its status is still `before`'s (compare-and-set), recording its events from `before`.
    /// `first` runs once the intent is saved and before its events are recorded: what it records (a failed attempt's
    /// `charge.failed`) comes before the intent's own events (`payment_intent.payment_failed`), as on every path
    /// that declines.
    ///
    /// - Precondition: `before` was read in this transaction, and the intent not written since.
    /// - Returns: false when another writer changed the status first (nothing changes then, and `first` is not run).
    @discardableResult
    func update(_ intent: PaymentIntent, from before: PaymentIntent, first: () throws -> Void = {}) throws -> Bool {
        guard let recording = self as? EventRecordingTransaction else {
            guard try update(intent, expecting: before.status) else { return false }
            try first()
            return true
        }
        guard try recording.base.update(intent, expecting: before.status) else { return false }
        try first()
        try recording.record(
            EventTypes.paymentIntent(before: before, after: intent),
            intent,
            type: .paymentIntent,
            id: intent.id
        )
        return true
    }

    /// Inserts an intent this transaction creates and changes before it commits, as `intent`: one insert instead of
    /// an insert and an update, with the events of both (`created`'s, then those of the change, each with its own
    /// snapshot).
    func insert(_ intent: PaymentIntent, createdAs created: PaymentIntent) throws {
        guard let recording = self as? EventRecordingTransaction else { return try insert(intent) }
        try recording.base.insert(intent)
        try recording.recordCreated(created, changedTo: intent, type: .paymentIntent, id: intent.id) {
            EventTypes.paymentIntent(before: $0, after: $1)
        }
    }

    /// Inserts a payment method this transaction creates and changes before it commits, as `paymentMethod`, with
    /// the events of the insert and of the change.
    func insert(_ paymentMethod: PaymentMethod, card: SealedCard, createdAs created: PaymentMethod) throws {
        guard let recording = self as? EventRecordingTransaction else { return try insert(paymentMethod, card: card) }
        try recording.base.insert(paymentMethod, card: card)
        try recording.recordCreated(created, changedTo: paymentMethod, type: .paymentMethod, id: paymentMethod.id) {
            EventTypes.paymentMethod(before: $0, after: $1)
        }
    }

    /// Saves a batch of intents, each compare-and-set from its `before` (``StoreTransaction/update(intents:)``: a
    /// few statements for the batch), recording for each saved intent whatever `first` records for it, then the
    /// intent's events, then whatever `then` records: the events one-by-one saves would record, in the same order.
    /// (Neither has a default: a trailing closure would then be taken as `first`.)
    ///
    /// - Precondition: each `before` was read in this transaction, and the intent not written since.
    /// - Returns: how many were saved (the others changed status first; nothing of them changes).
    func update(
        _ changes: [(intent: PaymentIntent, before: PaymentIntent)],
        first: (PaymentIntent) throws -> Void,
        then: (PaymentIntent) throws -> Void
    ) throws -> Int {
        guard let recording = self as? EventRecordingTransaction else {
            let saved = try update(intents: changes)
            for (intent, _) in changes where saved.contains(intent.id) {
                try first(intent)
                try then(intent)
            }
            return saved.count
        }
        let saved = try recording.base.update(intents: changes)
        for (intent, before) in changes where saved.contains(intent.id) {
            try first(intent)
            try recording.record(
                EventTypes.paymentIntent(before: before, after: intent),
                intent,
                type: .paymentIntent,
                id: intent.id
            )
            try then(intent)
        }
        return saved.count
    }

    /// Saves `charge`, recording its events from `before` (inside ``StoreTransaction/inBatch(_:)``, the save waits for
    /// the batch's end).
    ///
    /// - Precondition: `before` was read in this transaction, and the charge not written since.
    /// - Parameter expired: the write releases an authorization past its lifetime (``EventTypes/charge(before:after:
    ///   expired:)``).
    func update(_ charge: Charge, from before: Charge, expired: Bool = false) throws {
        guard let recording = self as? EventRecordingTransaction else { return try update(charge) }
        if let batch = recording.batch {
            batch.chargeUpdates.append((charge, before))
        } else {
            try recording.base.update(charge)
        }
        try recording.record(
            EventTypes.charge(before: before, after: charge, expired: expired),
            charge,
            type: .charge,
            id: charge.id
        )
    }

    /// Saves `paymentMethod`, recording its events from `before`.
    ///
    /// - Precondition: `before` was read in this transaction, and the payment method not written since.
    func update(_ paymentMethod: PaymentMethod, from before: PaymentMethod) throws {
        guard let recording = self as? EventRecordingTransaction else { return try update(paymentMethod) }
        try recording.base.update(paymentMethod)
        try recording.record(
            EventTypes.paymentMethod(before: before, after: paymentMethod),
            paymentMethod,
            type: .paymentMethod,
            id: paymentMethod.id
        )
    }
}

extension EventRecordingTransaction {
    /// Records the events of an object inserted as `created` and changed to `after` in this transaction: those of
    /// the insert with `created`'s snapshot, then those of the change with `after`'s (`types(before, after)`).
    fileprivate func recordCreated<T: Encodable>(
        _ created: T,
        changedTo after: T,
        type: Event.ObjectType,
        id: String,
        types: (T?, T) -> [String]
    ) throws {
        try record(types(nil, created), created, type: type, id: id)
        try record(types(created, after), after, type: type, id: id)
    }
}
