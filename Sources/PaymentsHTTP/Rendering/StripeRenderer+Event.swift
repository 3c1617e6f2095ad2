import Payments
import PaymentsCore

extension StripeRenderer {
    /// An event in Stripe's shape: `data.object` is the object as it was right after the change, rendered as its
    /// own endpoint renders it (related objects by id). A charge shows its card's details from `paymentMethods`
    /// (a card's details never change).
    static func event(_ event: Event, paymentMethods: [String: PaymentMethod], options: RenderOptions) throws
        -> JSONValue
    {
        let object: JSONValue
        switch event.objectType {
        case .paymentIntent:
            let intent = try event.decodeSnapshot(as: PaymentIntent.self)
            object = paymentIntent(Lookup.IntentBundle(intent: intent), options: options)
        case .charge:
            let charge = try event.decodeSnapshot(as: Charge.self)
            let bundle = Lookup.ChargeBundle(
                charge: charge,
                paymentMethod: charge.paymentMethod.flatMap { paymentMethods[$0] }
            )
            object = Self.charge(bundle, options: options)
        case .refund:
            object = refund(try event.decodeSnapshot(as: Refund.self))
        case .customer:
            // `customer.deleted` shows the customer as it was when deleted, as Stripe's does, not the stub that
            // retrieving it answers since.
            var snapshot = try event.decodeSnapshot(as: Customer.self)
            snapshot.deleted = false
            object = customer(snapshot)
        case .setupIntent:
            let setup = try event.decodeSnapshot(as: SetupIntent.self)
            object = setupIntent(Lookup.SetupIntentBundle(setupIntent: setup), options: options)
        case .paymentMethod:
            object = paymentMethod(try event.decodeSnapshot(as: PaymentMethod.self), options: options)
        }
        return .object([
            ("id", .string(event.id)),
            ("object", "event"),
            ("api_version", .null),
            ("created", .int(event.created)),
            ("data", .object([("object", object)])),
            ("livemode", false),
            ("pending_webhooks", 0),
            ("request", .object([("id", .null), ("idempotency_key", .null)])),
            ("type", .string(event.type)),
        ])
    }
}
