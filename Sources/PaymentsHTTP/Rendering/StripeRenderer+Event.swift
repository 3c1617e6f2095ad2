import Foundation
import Payments
import PaymentsCore

extension StripeRenderer {
    /// An event in Stripe's shape: `data.object` is the object as it was right after the change, rendered as its
    /// own endpoint renders it (related objects by id). A charge shows its card's details from `paymentMethods`
    /// (a card's details never change) and the first page of its refunds its snapshot kept.
    ///
    /// An `*.updated` event also has `data.previous_attributes`: the fields whose rendering differs before and after
    /// the change, with their earlier values (``changedFields(from:to:)``).
    /// `request` names the API request that made the change, or holds nulls for the service's own changes.
    static func event(_ event: Event, paymentMethods: [String: PaymentMethod], options: RenderOptions) throws
        -> JSONValue
    {
        let snapshot = options.forSnapshots
        let object = try eventObject(
            event.objectType,
            event.snapshot,
            paymentMethods: paymentMethods,
            options: snapshot
        )
        var data: [(String, JSONValue)] = [("object", object)]
        if let previous = event.previousSnapshot {
            let before = try eventObject(event.objectType, previous, paymentMethods: paymentMethods, options: snapshot)
            data.append(("previous_attributes", changedFields(from: before, to: object)))
        }
        return .object([
            ("id", .string(event.id)),
            ("object", "event"),
            ("api_version", options.apiVersion.map(JSONValue.string) ?? .null),
            ("created", .int(event.created)),
            ("data", .object(data)),
            ("livemode", false),
            ("pending_webhooks", 0),
            (
                "request",
                .object([("id", .string(event.requestID)), ("idempotency_key", .string(event.idempotencyKey))])
            ),
            ("type", .string(event.type)),
        ])
    }

    /// The fields of `before` (an object) whose value differs in `after`, with their values in `before`; a field
    /// `after` added is null. A nested object that was an object before too shows only its own changed fields, as
    /// Stripe's do (`{"card": {"exp_year": 2030}}`: the whole earlier card read as if its fingerprint and funding had
    /// changed too); `metadata` shows the whole earlier hash, and a list the whole earlier list.
    static func changedFields(from before: JSONValue, to after: JSONValue) -> JSONValue {
        guard case .object(let old) = before, case .object(let new) = after else { return .object([]) }
        var changed: [(String, JSONValue)] = []
        for (key, value) in new {
            let earlier = old.first(where: { $0.0 == key })?.1 ?? .null
            guard earlier != value else { continue }
            if key != "metadata", case .object = earlier, case .object = value {
                changed.append((key, changedFields(from: earlier, to: value)))
            } else {
                changed.append((key, earlier))
            }
        }
        return .object(changed)
    }

    /// An event's snapshot (`snapshot` or `previousSnapshot`) rendered as its object's own endpoint renders it.
    private static func eventObject(
        _ type: Event.ObjectType,
        _ snapshot: [UInt8],
        paymentMethods: [String: PaymentMethod],
        options: RenderOptions
    ) throws -> JSONValue {
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try Event.decode(snapshot, as: type) }
        switch type {
        case .paymentIntent:
            let intent = try decode(PaymentIntent.self)
            let errorMethod = intent.lastPaymentError?.paymentMethod.flatMap { paymentMethods[$0] }
            return paymentIntent(
                Lookup.IntentBundle(intent: intent, lastErrorPaymentMethod: errorMethod),
                options: options
            )
        case .charge:
            let charge = try decode(Charge.self)
            // Its refunds as they stood then, which only a charge a refund reserved an amount on carries: the
            // others' snapshots are not read twice
            let refunded = charge.captured && charge.amountRefunded > 0
            let bundle = Lookup.ChargeBundle(
                charge: charge,
                paymentMethod: charge.paymentMethod.flatMap { paymentMethods[$0] },
                refunds: refunded ? try Event.chargeRefunds(in: snapshot) : Page(items: [], hasMore: false)
            )
            return Self.charge(bundle, options: options)
        case .refund:
            return refund(try decode(Refund.self))
        case .customer:
            // `customer.deleted` shows the customer as it was when deleted, as Stripe's does, not the stub that
            // retrieving it answers since.
            var customer = try decode(Customer.self)
            customer.deleted = false
            return Self.customer(customer)
        case .setupIntent:
            let setup = try decode(SetupIntent.self)
            let errorMethod = setup.lastSetupError?.paymentMethod.flatMap { paymentMethods[$0] }
            return setupIntent(
                Lookup.SetupIntentBundle(setupIntent: setup, lastErrorPaymentMethod: errorMethod),
                options: options
            )
        case .paymentMethod:
            return paymentMethod(try decode(PaymentMethod.self), options: options)
        }
    }
}
