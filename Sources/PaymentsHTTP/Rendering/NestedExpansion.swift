import Payments
import PaymentsCore

/// Expansions below a first field, as Stripe's (`expand[]=payment_intent.customer` on a charge,
/// `latest_charge.customer` on an intent, up to four fields deep): after an object is rendered with its first
/// fields expanded, each path is followed through the rendered JSON, and every id on it is replaced by its object,
/// read beforehand in the same snapshot (``Lookup/Related``).
///
/// A publishable key expands nothing below a first field: the objects it may see are the ones its rendering shows,
/// and a path through them (a card's `customer`) would reach objects it may not.
enum NestedExpansion {
    /// `json` with the paths of `options.expand` below their first field expanded from `related`.
    static func apply(_ json: inout JSONValue, related: Lookup.Related, options: RenderOptions) {
        guard !related.isEmpty, !options.publishable else { return }
        let nested = options.forNestedObjects
        for path in options.expand where path.contains(".") {
            expand(&json, along: path.split(separator: ".")[...], related: related, options: nested)
        }
    }

    /// Follows `fields` from `value`: an id on the way is replaced by its object, and the walk goes on inside it.
    private static func expand(
        _ value: inout JSONValue,
        along fields: ArraySlice<Substring>,
        related: Lookup.Related,
        options: RenderOptions
    ) {
        guard let field = fields.first, case .object(var pairs) = value,
            let index = pairs.firstIndex(where: { $0.0 == field })
        else { return }
        if case .string(let id) = pairs[index].1, let object = related.objects[id] {
            pairs[index].1 = render(object, options: options)
        }
        expand(&pairs[index].1, along: fields.dropFirst(), related: related, options: options)
        value = .object(pairs)
    }

    /// An object reached by a path, with its own related objects by id.
    private static func render(_ object: Lookup.Related.Object, options: RenderOptions) -> JSONValue {
        switch object {
        case .paymentIntent(let intent, let errorPaymentMethod):
            StripeRenderer.paymentIntent(
                Lookup.IntentBundle(intent: intent, lastErrorPaymentMethod: errorPaymentMethod),
                options: options
            )
        case .charge(let bundle): StripeRenderer.charge(bundle, options: options)
        case .customer(let customer): StripeRenderer.customer(customer)
        case .paymentMethod(let paymentMethod): StripeRenderer.paymentMethod(paymentMethod, options: options)
        case .refund(let refund): StripeRenderer.refund(refund)
        case .setupIntent(let setup):
            StripeRenderer.setupIntent(Lookup.SetupIntentBundle(setupIntent: setup), options: options)
        }
    }
}
