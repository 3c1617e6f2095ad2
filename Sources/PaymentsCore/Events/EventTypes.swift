/// Which Stripe events a change makes: pure rules from an object's state before and after a write.
///
/// Internal steps that Stripe's card payments never show (an attempt's `processing` between our phases, a
/// `pending` charge while the network answers) make no event; what a merchant polling `/v1/events` sees is what
/// Stripe would have sent for the same card payment.
public enum EventTypes {
    /// The events of a PaymentIntent written as `after`, from `before` (nil when it is new).
    public static func paymentIntent(before: PaymentIntent?, after: PaymentIntent) -> [String] {
        guard let before else {
            return ["payment_intent.created"] + statusEvents(after, failedFrom: nil)
        }
        // A new error is an event (a failure that left the status as it was); an error cleared is none: an update
        // clears it in every status, and a canceled intent's update recorded a second `payment_intent.canceled` (a
        // probe)
        let newError = after.lastPaymentError != nil && before.lastPaymentError != after.lastPaymentError
        guard
            before.status != after.status || newError
                || issuesNewChallenge(before.authenticationToken, after.authenticationToken)
        else { return [] }
        return statusEvents(after, failedFrom: before)
    }

    /// Whether a write that leaves an object in `requires_action` replaced its challenge (a confirm again while
    /// the customer had not answered): Stripe sends `requires_action` each time an object enters that state, and
    /// the new event carries the new `next_action`, where the latest one would show a link that no longer works.
    private static func issuesNewChallenge(_ before: String?, _ after: String?) -> Bool {
        after != nil && before != nil && before != after
    }

    private static func statusEvents(_ intent: PaymentIntent, failedFrom before: PaymentIntent?) -> [String] {
        switch intent.status {
        case .requiresAction: return ["payment_intent.requires_action"]
        case .requiresCapture: return ["payment_intent.amount_capturable_updated"]
        case .succeeded: return ["payment_intent.succeeded"]
        case .canceled: return ["payment_intent.canceled"]
        case .requiresPaymentMethod
        where intent.lastPaymentError != nil && intent.lastPaymentError != before?.lastPaymentError:
            return ["payment_intent.payment_failed"]
        case .requiresPaymentMethod, .requiresConfirmation, .processing: return []
        }
    }

    /// The events of a charge written as `after`, from `before` (nil when it is new).
    /// - Parameter expired: the write releases an uncaptured authorization past its lifetime (the sweeper's expiry):
    ///   Stripe's `charge.expired` instead of `charge.refunded`.
    public static func charge(before: Charge?, after: Charge, expired: Bool = false) -> [String] {
        var types: [String] = []
        if before?.status != after.status {
            switch after.status {
            case .succeeded: types.append("charge.succeeded")
            case .failed: types.append("charge.failed")
            case .pending: break
            }
        }
        if let before, !before.captured && after.captured && before.status == .succeeded {
            types.append("charge.captured")
        }
        // A refund, or the release of an uncaptured authorization: Stripe shows both as refunded amounts, and names
        // the release of one that expired after 7 days `charge.expired`
        if after.amountRefunded > (before?.amountRefunded ?? 0) {
            types.append(expired && !after.captured ? "charge.expired" : "charge.refunded")
        }
        // A merchant's update (`POST /v1/charges/:id`): Stripe's `charge.updated` is for the fields it changes (the
        // description, metadata, receipt email and shipping)
        if let before,
            before.description != after.description || before.metadata != after.metadata
                || before.receiptEmail != after.receiptEmail || before.shipping != after.shipping
        {
            types.append("charge.updated")
        }
        return types
    }

    /// The events of a refund written as `after`, from `before` (nil when it is new).
    ///
    /// A refund the network has not answered yet (``Refund/isUnanswered``) is the service's own step, as an
    /// attempt's pending charge is: `refund.created` waits for the network's answer and shows it, so a refund that
    /// succeeds at once is created `succeeded`, as Stripe's are, not `pending` then updated. A change of its
    /// `metadata` (`POST /v1/refunds/:id`) is a `refund.updated`, as a customer's or a payment method's is; a change
    /// of the service's own fields only (when a pending refund is asked about again) makes none.
    ///
    /// Each update is also a `charge.refund.updated`, with the refund as its object, as Stripe sends both: a merchant
    /// that follows `charge.*` learns that a refund failed later and its amount came back to the charge (the charge's
    /// last `charge.refunded` still showed it refunded).
    public static func refund(before: Refund?, after: Refund) -> [String] {
        let updated = ["refund.updated", "charge.refund.updated"]
        guard !after.isUnanswered else { return [] }
        guard let before, !before.isUnanswered else {
            return after.status == .failed ? ["refund.created", "refund.failed"] : ["refund.created"]
        }
        guard before.status != after.status else { return before.metadata == after.metadata ? [] : updated }
        return after.status == .failed ? updated + ["refund.failed"] : updated
    }

    /// The events of a customer written as `after`, from `before` (nil when it is new).
    public static func customer(before: Customer?, after: Customer) -> [String] {
        guard let before else { return ["customer.created"] }
        if after.deleted && !before.deleted { return ["customer.deleted"] }
        return before == after ? [] : ["customer.updated"]
    }

    /// The events of a payment method written as `after`, from `before` (nil when it is new: Stripe sends none
    /// for a new payment method, only `attached` when it joins a customer).
    public static func paymentMethod(before: PaymentMethod?, after: PaymentMethod) -> [String] {
        var types: [String] = []
        if before?.customer == nil, after.customer != nil { types.append("payment_method.attached") }
        if let before, before.customer != nil, after.customer == nil { types.append("payment_method.detached") }
        if let before,
            before.billingDetails != after.billingDetails || before.metadata != after.metadata
                || before.expMonth != after.expMonth || before.expYear != after.expYear
        {
            types.append("payment_method.updated")
        }
        return types
    }

    /// The events of a setup intent written as `after`, from `before` (nil when it is new).
    public static func setupIntent(before: SetupIntent?, after: SetupIntent) -> [String] {
        var types = before == nil ? ["setup_intent.created"] : []
        let failed = after.lastSetupError != nil && after.lastSetupError != before?.lastSetupError
        let newChallenge = issuesNewChallenge(before?.authenticationToken, after.authenticationToken)
        guard before?.status != after.status || failed || newChallenge else { return types }
        switch after.status {
        case .requiresAction: types.append("setup_intent.requires_action")
        case .succeeded: types.append("setup_intent.succeeded")
        case .canceled: types.append("setup_intent.canceled")
        case .requiresPaymentMethod where failed: types.append("setup_intent.setup_failed")
        case .requiresPaymentMethod, .requiresConfirmation, .processing: break
        }
        return types
    }
}
