import Payments
import PaymentsCore

/// Renders domain objects in Stripe's wire shapes (API version 2023-08-16 field set), every key present.
public enum StripeRenderer {
    /// The fields of a PaymentIntent a publishable key may read.
    static let publishableIntentFields: Set<String> = [
        "id", "object", "amount", "automatic_payment_methods", "canceled_at", "cancellation_reason",
        "capture_method", "client_secret", "confirmation_method", "created", "currency", "description",
        "last_payment_error", "livemode", "next_action", "payment_method", "payment_method_types", "processing",
        "receipt_email", "setup_future_usage", "shipping", "status",
        // their names in API versions before 2019-02-11
        "next_source_action", "allowed_source_types",
    ]

    // MARK: - PaymentIntent

    /// A PaymentIntent, with its expansions and `last_payment_error` taken from `bundle`.
    public static func paymentIntent(_ bundle: Lookup.IntentBundle, options: RenderOptions) -> JSONValue {
        let intent = bundle.intent
        let status = options.legacyStatusNames ? intent.status.legacyName : intent.status.rawValue
        var nextAction: JSONValue = .null
        if intent.status == .requiresAction, let token = intent.authenticationToken {
            nextAction = redirectToURL("\(options.baseURL)/3ds/\(intent.id)/\(token)", returnURL: intent.returnURL)
        }
        var paymentMethod: JSONValue = .string(intent.paymentMethod)
        if options.expand.contains("payment_method"), let pm = bundle.paymentMethod {
            paymentMethod = self.paymentMethod(pm, options: options)
        }
        var customer: JSONValue = .string(intent.customer)
        if options.expand.contains("customer"), let value = bundle.customer {
            customer = self.customer(value)
        }
        var latestCharge: JSONValue = .string(intent.latestCharge)
        if options.expand.contains("latest_charge"), let charge = bundle.latestCharge {
            latestCharge = self.charge(charge, options: options.forNestedObjects)
        }
        // API versions before 2022-11-15: a list of the intent's latest charge (empty for an intent with none)
        var charges: JSONValue?
        if options.expand.contains(Lookup.legacyCharges) {
            charges = list(
                (bundle.charges?.items ?? []).map { charge($0, options: options.forNestedObjects) },
                hasMore: bundle.charges?.hasMore ?? false,
                url: "/v1/charges?payment_intent=\(intent.id)"
            )
        }
        let lastError: JSONValue =
            intent.lastPaymentError.map {
                lastPaymentError($0, paymentMethod: bundle.lastErrorPaymentMethod, options: options)
            } ?? .null
        var fields: [(String, JSONValue)] = [
            ("id", .string(intent.id)),
            ("object", "payment_intent"),
            ("amount", .int(intent.amount)),
            ("amount_capturable", .int(intent.amountCapturable)),
            ("amount_details", .object([("tip", .object([]))])),
            ("amount_received", .int(intent.amountReceived)),
            ("application", .null),
            ("application_fee_amount", .null),
            ("automatic_payment_methods", .null),
            ("canceled_at", .int(intent.canceledAt)),
            ("cancellation_reason", .string(intent.cancellationReason?.rawValue)),
            ("capture_method", .string(intent.captureMethod.rawValue)),
            ("client_secret", .string(intent.clientSecret)),
            ("confirmation_method", .string(intent.confirmationMethod.rawValue)),
            ("created", .int(intent.created)),
            ("currency", .string(intent.currency)),
            ("customer", customer),
            ("description", .string(intent.description)),
            ("invoice", .null),
            ("last_payment_error", lastError),
            ("latest_charge", latestCharge),
            ("livemode", false),
            ("metadata", .map(intent.metadata)),
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
                            ("installments", .null), ("mandate_options", .null), ("network", .null),
                            ("request_three_d_secure", "automatic"),
                        ])
                    )
                ])
            ),
            ("payment_method_types", .array(["card"])),
            ("processing", .null),
            ("receipt_email", .string(intent.receiptEmail)),
            ("review", .null),
            ("setup_future_usage", .string(intent.setupFutureUsage?.rawValue)),
            ("shipping", shipping(intent.shipping)),
            ("source", .null),
            ("statement_descriptor", .string(intent.statementDescriptor)),
            ("statement_descriptor_suffix", .string(intent.statementDescriptorSuffix)),
            ("status", .string(status)),
            ("transfer_data", .null),
            ("transfer_group", .null),
        ]
        if let charges { fields.insert(("charges", charges), at: fields.firstIndex { $0.0 == "client_secret" } ?? 0) }
        if options.legacyStatusNames { renameForVersionsBefore20190211(&fields) }
        var rendered: JSONValue = .object(fields)
        if options.publishable { return rendered.keeping(publishableIntentFields) }
        NestedExpansion.apply(&rendered, related: bundle.related, options: options)
        return rendered
    }

    /// The names API versions before 2019-02-11 gave a PaymentIntent's fields, besides its statuses'
    /// (``PaymentIntentStatus/legacyName``): `next_source_action` for `next_action`, its `authorize_with_url` for
    /// `redirect_to_url`, and `allowed_source_types` for `payment_method_types`.
    static func renameForVersionsBefore20190211(_ fields: inout [(String, JSONValue)]) {
        for index in fields.indices {
            switch fields[index].0 {
            case "next_action":
                fields[index].0 = "next_source_action"
                guard case .object(let members) = fields[index].1 else { continue }
                fields[index].1 = .object(
                    members.map { name, value in
                        switch (name, value) {
                        case ("redirect_to_url", _): ("authorize_with_url", value)
                        case ("type", .string("redirect_to_url")): ("type", "authorize_with_url")
                        default: (name, value)
                        }
                    }
                )
            case "payment_method_types":
                fields[index].0 = "allowed_source_types"
            default:
                break
            }
        }
    }

    /// A `next_action` that sends the customer to the 3-D Secure challenge page at `url`.
    static func redirectToURL(_ url: String, returnURL: String?) -> JSONValue {
        .object([
            ("redirect_to_url", .object([("return_url", .string(returnURL)), ("url", .string(url))])),
            ("type", "redirect_to_url"),
        ])
    }

    /// An intent's `last_payment_error` (or a setup intent's `last_setup_error`), with the payment method object
    /// inside as Stripe shows it.
    static func lastPaymentError(
        _ error: LastPaymentError,
        paymentMethod: PaymentMethod?,
        options: RenderOptions
    ) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let charge = error.charge { pairs.append(("charge", .string(charge))) }
        pairs.append(("code", .string(error.code)))
        if let decline = error.declineCode { pairs.append(("decline_code", .string(decline))) }
        pairs.append(("doc_url", .string(docURL(error.code))))
        pairs.append(("message", .string(error.message)))
        if let param = error.param { pairs.append(("param", .string(param))) }
        if let paymentMethod { pairs.append(("payment_method", self.paymentMethod(paymentMethod, options: options))) }
        pairs.append(("type", .string(error.type.rawValue)))
        return .object(pairs)
    }

    // MARK: - PaymentMethod

    /// A card PaymentMethod.
    public static func paymentMethod(_ pm: PaymentMethod, options: RenderOptions) -> JSONValue {
        let rendered: JSONValue = .object([
            ("id", .string(pm.id)),
            ("object", "payment_method"),
            ("billing_details", billingDetails(pm.billingDetails)),
            (
                "card",
                .object([
                    ("brand", .string(pm.brand)),
                    (
                        "checks",
                        .object([
                            ("address_line1_check", .string(pm.addressLine1Check)),
                            ("address_postal_code_check", .string(pm.addressPostalCodeCheck)),
                            ("cvc_check", .string(pm.cvcCheck)),
                        ])
                    ),
                    ("country", .string(pm.country)),
                    ("display_brand", .string(pm.brand)),
                    ("exp_month", .int(Int64(pm.expMonth))),
                    ("exp_year", .int(Int64(pm.expYear))),
                    ("fingerprint", .string(pm.fingerprint)),
                    ("funding", .string(pm.funding)),
                    ("generated_from", .null),
                    ("last4", .string(pm.last4)),
                    ("networks", .object([("available", .array([.string(pm.brand)])), ("preferred", .null)])),
                    ("three_d_secure_usage", .object([("supported", true)])),
                    ("wallet", .null),
                ])
            ),
            ("created", .int(pm.created)),
            ("customer", .string(pm.customer)),
            ("livemode", false),
            ("metadata", .map(pm.metadata)),
            ("type", "card"),
        ])
        guard options.publishable else { return rendered }
        var redacted = rendered
        redacted.set("customer", .null)
        return redacted.keeping(["id", "object", "billing_details", "card", "created", "customer", "livemode", "type"])
    }

    /// Billing details, as a payment method and the charges made with it show them.
    static func billingDetails(_ details: BillingDetails) -> JSONValue {
        .object([
            ("address", address(details.address)),
            ("email", .string(details.email)),
            ("name", .string(details.name)),
            ("phone", .string(details.phone)),
        ])
    }

    /// Stripe's `address` object, every field present (null when not given).
    static func address(_ address: Address) -> JSONValue {
        .object([
            ("city", .string(address.city)), ("country", .string(address.country)),
            ("line1", .string(address.line1)), ("line2", .string(address.line2)),
            ("postal_code", .string(address.postalCode)), ("state", .string(address.state)),
        ])
    }

    /// Stripe's `shipping` object of a PaymentIntent, a Charge or a Customer, or null when there is none. A
    /// customer's has no `carrier` or `tracking_number` to set; they show as null, as Stripe's one `shipping` schema
    /// has them (a customer's rendered without the two keys, and stripe-python's `customer.shipping.carrier` raised
    /// AttributeError).
    static func shipping(_ shipping: Shipping?) -> JSONValue {
        guard let shipping else { return .null }
        return .object([
            ("address", address(shipping.address)),
            ("carrier", .string(shipping.carrier)),
            ("name", .string(shipping.name)),
            ("phone", .string(shipping.phone)),
            ("tracking_number", .string(shipping.trackingNumber)),
        ])
    }

    // MARK: - Customer

    /// A Customer, or Stripe's stub for a deleted one.
    public static func customer(_ customer: Customer) -> JSONValue {
        if customer.deleted {
            return .object([("id", .string(customer.id)), ("object", "customer"), ("deleted", true)])
        }
        return .object([
            ("id", .string(customer.id)),
            ("object", "customer"),
            ("address", customer.address.map(address) ?? .null),
            ("balance", 0),
            ("created", .int(customer.created)),
            ("currency", .null),
            ("default_source", .null),
            ("delinquent", false),
            ("description", .string(customer.description)),
            ("discount", .null),
            ("email", .string(customer.email)),
            ("invoice_prefix", .string(String(customer.id.dropFirst(4).prefix(8)).uppercased())),
            (
                "invoice_settings",
                .object([
                    ("custom_fields", .null),
                    ("default_payment_method", .string(customer.defaultPaymentMethod)),
                    ("footer", .null),
                    ("rendering_options", .null),
                ])
            ),
            ("livemode", false),
            ("metadata", .map(customer.metadata)),
            ("name", .string(customer.name)),
            ("next_invoice_sequence", 1),
            ("phone", .string(customer.phone)),
            ("preferred_locales", .array([])),
            ("shipping", shipping(customer.shipping)),
            ("tax_exempt", "none"),
            ("test_clock", .null),
        ])
    }

    /// The body of `DELETE /v1/customers/:id`.
    public static func deleted(_ id: String, object: String) -> JSONValue {
        .object([("id", .string(id)), ("object", .string(object)), ("deleted", true)])
    }

    // MARK: - Refund

    /// A Refund; `failure_balance_transaction` (null: there are no balance transactions here) and `failure_reason`
    /// appear only on a failed one, as Stripe's.
    public static func refund(_ refund: Refund) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("id", .string(refund.id)),
            ("object", "refund"),
            ("amount", .int(refund.amount)),
            ("balance_transaction", .null),
            ("charge", .string(refund.charge)),
            ("created", .int(refund.created)),
            ("currency", .string(refund.currency)),
        ]
        if let reason = refund.failureReason {
            // The official libraries read both on a failed refund: `refund.failure_balance_transaction` raised
            // AttributeError in stripe-python when it was missing
            pairs += [("failure_balance_transaction", .null), ("failure_reason", .string(reason))]
        }
        pairs += [
            ("metadata", .map(refund.metadata)),
            ("payment_intent", .string(refund.paymentIntent)),
            ("reason", .string(refund.reason?.rawValue)),
            ("receipt_number", .null),
            ("source_transfer_reversal", .null),
            ("status", .string(refund.status.rawValue)),
            ("transfer_reversal", .null),
        ]
        return .object(pairs)
    }

    // MARK: - Lists and errors

    /// A Stripe list object.
    public static func list(_ items: [JSONValue], hasMore: Bool, url: String) -> JSONValue {
        .object([("object", "list"), ("data", .array(items)), ("has_more", .bool(hasMore)), ("url", .string(url))])
    }

    /// Stripe's documentation link for an error code.
    static func docURL(_ code: String) -> String {
        "https://stripe.com/docs/error-codes/" + code.replacingOccurrences(of: "_", with: "-")
    }

    /// The most characters an error's `message` or `param` shows. Both can quote what the client sent (an unknown
    /// parameter's name, a value that is not an integer, an id in the URL), which may be as long as the 256 KiB
    /// body; Stripe's schema caps `param` at 5000 characters (and `message` at 40000), and the first 5000 still say
    /// what was wrong.
    static let maximumErrorTextLength = 5000

    /// `text`, cut to ``maximumErrorTextLength`` characters (the last one an ellipsis) when it is longer.
    static func clipped(_ text: String) -> String {
        guard text.count > maximumErrorTextLength else { return text }
        return String(text.prefix(maximumErrorTextLength - 1)) + "…"
    }

    /// A Stripe error object; `paymentIntent`, `paymentMethod` and `setupIntent` are rendered inside when given.
    public static func error(
        _ error: PaymentError,
        paymentIntent: JSONValue? = nil,
        paymentMethod: JSONValue? = nil,
        setupIntent: JSONValue? = nil
    ) -> JSONValue {
        var pairs: [(String, JSONValue)] = []
        if let charge = error.charge { pairs.append(("charge", .string(charge))) }
        if let code = error.code { pairs.append(("code", .string(code))) }
        if let decline = error.declineCode { pairs.append(("decline_code", .string(decline))) }
        if let code = error.code, !PaymentError.ownCodes.contains(code) {
            pairs.append(("doc_url", .string(docURL(code))))
        }
        pairs.append(("message", .string(clipped(error.message))))
        if let param = error.param { pairs.append(("param", .string(clipped(param)))) }
        if let paymentIntent { pairs.append(("payment_intent", paymentIntent)) }
        if let paymentMethod { pairs.append(("payment_method", paymentMethod)) }
        if let setupIntent { pairs.append(("setup_intent", setupIntent)) }
        pairs.append(("type", .string(error.kind.rawValue)))
        return .object([("error", .object(pairs))])
    }
}
