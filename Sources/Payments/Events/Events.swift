import PaymentsCore

/// Reading the events the changes recorded (``EventRecordingTransaction``): how a backend that takes payments
/// without webhooks polls what happened.
public struct Events: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// The event with `id`.
    /// - Throws: 404 `resource_missing` when there is none (or it was pruned after 30 days).
    public func retrieve(_ id: String) async throws -> Event {
        guard let event = try await context.database.read({ tx in try tx.event(id) }) else {
            throw PaymentError.resourceMissing("event", id: id, param: "id", inURL: true)
        }
        return event
    }

    /// Events, newest first, of any of `types` (every type when empty) and within `created`.
    public func list(types: [String], created: CreatedFilter?, page: PageRequest) async throws -> Page<Event> {
        try await context.database.read { tx in try tx.events(types: types, created: created, page: page) }
    }

    /// The object of the `type` event the request `requestID` recorded, made at `created` or within `window` seconds
    /// after (a request writes under its key's lease, no longer), or nil: what the first try of a resumed request
    /// made, when its use case marks no progress of its own. Reads the events of that window only.
    public func object(ofType type: String, recordedBy requestID: String, from created: Int64, within window: Int64)
        async throws -> String?
    {
        let range = CreatedFilter(gte: created, lte: created + window)
        var page = PageRequest(limit: 100)
        while true {
            let found = try await list(types: [type], created: range, page: page)
            if let event = found.items.first(where: { $0.requestID == requestID }) { return event.objectID }
            guard found.hasMore, let last = found.items.last else { return nil }
            page = PageRequest(limit: 100, startingAfter: last.id)
        }
    }

    /// The payment methods the events' objects show in full, by id: a charge's card, and the card of an intent's
    /// `last_payment_error` (a setup intent's `last_setup_error`), in the snapshot and in the state before it, as
    /// the objects' own endpoints show them.
    public func paymentMethods(of events: [Event]) async throws -> [String: PaymentMethod] {
        var ids = Set<String>()
        for event in events {
            for snapshot in [event.snapshot, event.previousSnapshot].compactMap({ $0 }) {
                let id: String?
                switch event.objectType {
                case .charge: id = try Event.decode(snapshot, as: Charge.self).paymentMethod
                case .paymentIntent:
                    id = try Event.decode(snapshot, as: PaymentIntent.self).lastPaymentError?.paymentMethod
                case .setupIntent:
                    id = try Event.decode(snapshot, as: SetupIntent.self).lastSetupError?.paymentMethod
                case .refund, .customer, .paymentMethod: id = nil
                }
                if let id { ids.insert(id) }
            }
        }
        guard !ids.isEmpty else { return [:] }
        return try await context.database.read { [ids] tx in
            var found: [String: PaymentMethod] = [:]
            for id in ids { found[id] = try tx.paymentMethod(id) }
            return found
        }
    }
}
