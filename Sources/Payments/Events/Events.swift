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

    /// The payment methods the charges of `events` were made with, by id: a charge event shows its card.
    public func paymentMethods(of events: [Event]) async throws -> [String: PaymentMethod] {
        let ids = Set(
            try events.filter { $0.objectType == .charge }.compactMap {
                try $0.decodeSnapshot(as: Charge.self).paymentMethod
            }
        )
        guard !ids.isEmpty else { return [:] }
        return try await context.database.read { tx in
            var found: [String: PaymentMethod] = [:]
            for id in ids { found[id] = try tx.paymentMethod(id) }
            return found
        }
    }
}
