import PaymentsCore

/// Charges: the attempts to move money that confirms leave behind, with what captures and refunds did to them
/// (`GET /v1/charges`, `GET /v1/charges/:id`). Their money changes only through their intents and refunds; a merchant
/// updates only their description, metadata, receipt email and shipping (`POST /v1/charges/:id`).
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

    /// Changes a charge's `description`, `receiptEmail` and `shipping` (`.some(nil)` unsets each; a shipping replaces
    /// the earlier one whole) and `metadata`, recording `charge.updated` when any changed, as Stripe's update does.
    /// Its amounts and status are never touched, nor its intent's fields (the charge keeps its own copy).
    /// - Throws: `resource_missing` (404) when there is none with `id`.
    public func update(
        _ id: String,
        description: String??,
        receiptEmail: String??,
        shipping: Shipping??,
        metadata: [String: String?]?,
        clearMetadata: Bool
    ) async throws -> Charge {
        try await context.database.write { tx in
            guard var charge = try tx.charge(id) else {
                throw PaymentError.resourceMissing("charge", id: id, param: "id", inURL: true)
            }
            if let description { charge.description = description }
            if let receiptEmail { charge.receiptEmail = receiptEmail }
            if let shipping { charge.shipping = shipping }
            try charge.metadata.applyMetadata(metadata, clearingFirst: clearMetadata)
            try tx.update(charge)
            return charge
        }
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
