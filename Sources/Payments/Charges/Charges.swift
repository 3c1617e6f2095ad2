import PaymentsCore

/// Reading charges: the attempts to move money that confirms leave behind, with what captures and refunds did to
/// them (`GET /v1/charges`, `GET /v1/charges/:id`). Charges change only through their intents and refunds.
public struct Charges: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// Retrieves a charge.
    /// - Throws: `resource_missing` (404) when there is none with `id`.
    public func retrieve(_ id: String) async throws -> Charge {
        let found = try await context.database.read { tx in try tx.charge(id) }
        guard let found else { throw PaymentError.resourceMissing("charge", id: id, param: "id", inURL: true) }
        return found
    }

    /// Lists charges, newest first, optionally for one customer or intent and within a `created` range.
    public func list(
        customer: String?,
        paymentIntent: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) async throws -> Page<Charge> {
        try await context.database.read { tx in
            try tx.charges(customer: customer, paymentIntent: paymentIntent, created: created, page: page)
        }
    }
}
