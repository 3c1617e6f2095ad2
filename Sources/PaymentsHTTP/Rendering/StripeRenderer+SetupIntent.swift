import Payments
import PaymentsCore

extension StripeRenderer {
    /// The fields of a SetupIntent a publishable key may read (Stripe's "retrievable with publishable key").
    static let publishableSetupIntentFields: Set<String> = [
        "id", "object", "automatic_payment_methods", "cancellation_reason", "client_secret", "created",
        "description", "last_setup_error", "livemode", "next_action", "payment_method", "payment_method_types",
        "status", "usage",
    ]

    /// A SetupIntent, with its expansions and `last_setup_error` taken from `bundle`.
    ///
    /// `next_action` links to the same 3-D Secure challenge page as a PaymentIntent's, and the statuses take their
    /// pre-2019-02-11 names for old API versions, as a PaymentIntent's do.
    public static func setupIntent(_ bundle: Lookup.SetupIntentBundle, options: RenderOptions) -> JSONValue {
        let setup = bundle.setupIntent
        var nextAction: JSONValue = .null
        if setup.status == .requiresAction, let token = setup.authenticationToken {
            nextAction = redirectToURL(
                "\(options.baseURL)/3ds/\(setup.id)/\(token)",
                returnURL: setup.returnURL
            )
        }
        var paymentMethod: JSONValue = .string(setup.paymentMethod)
        if options.expand.contains("payment_method"), let pm = bundle.paymentMethod {
            paymentMethod = self.paymentMethod(pm, options: options)
        }
        var customer: JSONValue = .string(setup.customer)
        if options.expand.contains("customer"), let value = bundle.customer {
            customer = self.customer(value)
        }
        let lastError: JSONValue =
            setup.lastSetupError.map {
                lastPaymentError($0, paymentMethod: bundle.lastErrorPaymentMethod, options: options)
            } ?? .null
        var rendered: JSONValue = .object([
            ("id", .string(setup.id)),
            ("object", "setup_intent"),
            ("application", .null),
            ("automatic_payment_methods", .null),
            ("cancellation_reason", .string(setup.cancellationReason?.rawValue)),
            ("client_secret", .string(setup.clientSecret)),
            ("created", .int(setup.created)),
            ("customer", customer),
            ("description", .string(setup.description)),
            ("flow_directions", .null),
            ("last_setup_error", lastError),
            ("latest_attempt", .string(setup.latestAttempt)),
            ("livemode", false),
            ("mandate", .null),
            ("metadata", .map(setup.metadata)),
            ("next_action", nextAction),
            ("on_behalf_of", .null),
            ("payment_method", paymentMethod),
            ("payment_method_configuration_details", .null),
            (
                "payment_method_options",
                .object([
                    (
                        "card",
                        .object([
                            ("mandate_options", .null), ("network", .null), ("request_three_d_secure", "automatic"),
                        ])
                    )
                ])
            ),
            ("payment_method_types", .array(["card"])),
            ("single_use_mandate", .null),
            ("status", .string(options.legacyStatusNames ? setup.status.legacyName : setup.status.rawValue)),
            ("usage", .string(setup.usage.rawValue)),
        ])
        if options.publishable { return rendered.keeping(publishableSetupIntentFields) }
        NestedExpansion.apply(&rendered, related: bundle.related, options: options)
        return rendered
    }
}
