import Payments
import PaymentsCore

// MARK: - Charge

extension StripeRenderer {
    /// A Charge, with its card, its refunds and the related objects its bundle expands.
    ///
    /// `amount_refunded` is Stripe's: refunds plus what a partial capture released. `refunds` is always the first
    /// page of the charge's refunds (API versions before 2022-11-15 showed it unexpanded; it costs one indexed read).
    public static func charge(_ bundle: Lookup.ChargeBundle, options: RenderOptions) -> JSONValue {
        let charge = bundle.charge
        var paymentIntent: JSONValue = .string(charge.paymentIntent)
        if options.expand.contains("payment_intent"), let intent = bundle.paymentIntentBundle {
            paymentIntent = self.paymentIntent(intent, options: options.forNestedObjects)
        }
        var customer: JSONValue = .string(charge.customer)
        if options.expand.contains("customer"), let value = bundle.customer {
            customer = self.customer(value)
        }
        let refunds = list(
            bundle.refunds.items.map(refund),
            hasMore: bundle.refunds.hasMore,
            url: refundsURL(of: charge.id)
        )
        var rendered: JSONValue = .object([
            ("id", .string(charge.id)),
            ("object", "charge"),
            ("amount", .int(charge.amount)),
            ("amount_captured", .int(charge.amountCaptured)),
            ("amount_refunded", .int(charge.totalAmountRefunded)),
            ("application", .null),
            ("application_fee", .null),
            ("application_fee_amount", .null),
            ("balance_transaction", .null),
            ("billing_details", billingDetails(bundle.paymentMethod?.billingDetails ?? BillingDetails())),
            ("calculated_statement_descriptor", .null),
            ("captured", .bool(charge.captured)),
            ("created", .int(charge.created)),
            ("currency", .string(charge.currency)),
            ("customer", customer),
            ("description", .string(charge.description)),
            ("disputed", false),
            ("failure_balance_transaction", .null),
            ("failure_code", .string(charge.failureCode)),
            ("failure_message", .string(charge.failureMessage)),
            ("fraud_details", .object([])),
            ("invoice", .null),
            ("livemode", false),
            ("metadata", .map(charge.metadata)),
            ("on_behalf_of", .null),
            ("outcome", outcome(charge)),
            ("paid", .bool(charge.status == .succeeded)),
            ("payment_intent", paymentIntent),
            ("payment_method", .string(charge.paymentMethod)),
            ("payment_method_details", paymentMethodDetails(charge, card: bundle.paymentMethod)),
            ("receipt_email", .string(charge.receiptEmail)),
            ("receipt_number", .null),
            ("receipt_url", .null),
            ("refunded", .bool(charge.refunded)),
            ("refunds", refunds),
            ("review", .null),
            ("shipping", shipping(charge.shipping)),
            ("source_transfer", .null),
            ("statement_descriptor", .string(charge.statementDescriptor)),
            ("statement_descriptor_suffix", .string(charge.statementDescriptorSuffix)),
            ("status", .string(charge.status.rawValue)),
            ("transfer_data", .null),
            ("transfer_group", .null),
        ])
        NestedExpansion.apply(&rendered, related: bundle.related, options: options)
        return rendered
    }

    /// The address of a charge's refunds list (`GET /v1/charges/:id/refunds`), which its `refunds` pages through.
    static func refundsURL(of charge: String) -> String { "/v1/charges/\(charge)/refunds" }

    // MARK: - Outcome

    /// Stripe's `outcome`: null while pending; for an approval, `authorized` (or `manual_review` when Radar found
    /// the risk elevated); for a decline, `issuer_declined` with the decline code, `blocked` for Radar's block of
    /// the highest risk level, `invalid` for a live card in test mode and for an attempt that never reached the
    /// network (3-D Secure failed or expired).
    static func outcome(_ charge: Charge) -> JSONValue {
        let risk = charge.riskLevel?.rawValue ?? "not_assessed"
        let (networkStatus, reason, seller, type): (String, String?, String, String)
        switch charge.status {
        case .pending:
            return .null
        case .succeeded where charge.riskLevel == .elevated:
            (networkStatus, reason, type) = ("approved_by_network", "elevated_risk_level", "manual_review")
            seller = "Stripe evaluated this payment as having elevated risk, and placed it in your manual review queue."
        case .succeeded:
            (networkStatus, reason, seller, type) = ("approved_by_network", nil, "Payment complete.", "authorized")
        case .failed where charge.threeDSecure == "failed" || charge.threeDSecure == "expired":
            (networkStatus, reason, type) = ("not_sent_to_network", charge.failureCode, "invalid")
            seller =
                charge.threeDSecure == "failed"
                ? "The customer failed 3D Secure authentication, so the payment was not sent to the bank."
                : "The customer did not complete 3D Secure authentication in time, so the payment was not sent to the "
                    + "bank."
        case .failed where charge.declineCode == "fraudulent" && charge.riskLevel == .highest:
            (networkStatus, reason, seller, type) = (
                "not_sent_to_network", "highest_risk_level", "Stripe blocked this payment as too risky.", "blocked"
            )
        case .failed where charge.declineCode == TestCards.liveModeCardDecline.declineCode:
            (networkStatus, reason, type) = ("not_sent_to_network", charge.declineCode, "invalid")
            seller =
                "This charge request was in test mode, but did not use a Stripe test card number. For the list of "
                + "these numbers, see stripe.com/docs/testing"
        case .failed:
            let code = charge.declineCode ?? charge.failureCode
            (networkStatus, reason, type) = ("declined_by_network", code, "issuer_declined")
            seller =
                code == nil || code == "generic_decline"
                ? "The bank did not return any further details with this decline."
                : "The bank returned the decline code `\(code ?? "")`."
        }
        return .object([
            ("network_status", .string(networkStatus)),
            ("reason", .string(reason)),
            ("risk_level", .string(risk)),
            ("seller_message", .string(seller)),
            ("type", .string(type)),
        ])
    }

    // MARK: - Card

    /// `payment_method_details`: the card as it was at the payment, the issuer's checks, and 3-D Secure when the
    /// attempt went through it; null when the charge has no payment method.
    static func paymentMethodDetails(_ charge: Charge, card pm: PaymentMethod?) -> JSONValue {
        guard let pm else { return .null }
        var fields: [(String, JSONValue)] = [("brand", .string(pm.brand))]
        if !charge.capture, charge.status == .succeeded, let authorized = charge.resolvedAt {
            // An authorization to capture later (`capture_method=manual`): the first second it can no longer be
            // captured, when the sweeper releases it (``PaymentIntents/authorizationLifetime``)
            fields.append(("capture_before", .int(authorized + PaymentIntents.authorizationLifetime)))
        }
        let card: JSONValue = .object(
            fields + [
                (
                    "checks",
                    .object([
                        ("address_line1_check", .string(charge.addressLine1Check?.rawValue)),
                        ("address_postal_code_check", .string(charge.addressPostalCodeCheck?.rawValue)),
                        ("cvc_check", .string(charge.cvcCheck?.rawValue)),
                    ])
                ),
                ("country", .string(pm.country)),
                ("exp_month", .int(Int64(pm.expMonth))),
                ("exp_year", .int(Int64(pm.expYear))),
                ("fingerprint", .string(pm.fingerprint)),
                ("funding", .string(pm.funding)),
                ("installments", .null),
                ("last4", .string(pm.last4)),
                ("mandate", .null),
                ("network", .string(pm.brand)),
                ("network_token", .null),
                ("three_d_secure", threeDSecure(charge.threeDSecure)),
                ("wallet", .null),
            ]
        )
        return .object([("card", card), ("type", "card")])
    }

    /// The version of 3-D Secure the test-mode challenge stands for (Stripe's test cards authenticate with 3DS2).
    static let threeDSecureVersion = "2.2.0"

    /// `payment_method_details.card.three_d_secure` from the charge's 3-D Secure step: the customer answered a
    /// challenge (`authenticated` or `failed`), or left it until the attempt expired (`failed`, `abandoned`); null
    /// when the payment did not go through 3-D Secure.
    static func threeDSecure(_ step: String?) -> JSONValue {
        let (result, reason): (String, String?)
        switch step {
        case "authenticated": (result, reason) = ("authenticated", nil)
        case "failed": (result, reason) = ("failed", nil)
        case "expired": (result, reason) = ("failed", "abandoned")
        default: return .null
        }
        return .object([
            ("authentication_flow", "challenge"),
            ("result", .string(result)),
            ("result_reason", .string(reason)),
            ("version", .string(threeDSecureVersion)),
        ])
    }
}
