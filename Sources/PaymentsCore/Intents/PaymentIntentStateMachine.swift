/// The PaymentIntent state machine: which operation each status allows, and Stripe's exact error for the rest.
///
/// Data plus pure functions. Every status change in the service goes through ``PaymentIntent/apply(_:now:)``,
/// which checks the operation against ``allowedStatuses(for:)`` first, so the table below is the whole truth
/// about transitions and is what the tests drive.
public enum PaymentIntentStateMachine {
    /// Everything that can happen to an intent.
    public enum Operation: String, Sendable, CaseIterable {
        /// A confirm call (also create with `confirm=true`).
        case confirm
        /// A capture call.
        case capture
        /// A cancel call.
        case cancel
        /// An update of amount, currency, customer or payment method.
        case updatePaymentDetails
        /// An update of metadata, description and other bookkeeping fields.
        case updateBookkeeping
        /// The customer completed or failed the 3-D Secure challenge.
        case authenticate
        /// The sweeper expires an attempt the customer or server never finished.
        case expireAttempt
        /// The sweeper cancels an authorization that was not captured in time.
        case expireAuthorization
        /// The card network's answer to an in-flight authorization is recorded.
        case recordAuthorization
    }

    /// The statuses from which an operation is allowed.
    public static func allowedStatuses(for operation: Operation) -> Set<PaymentIntentStatus> {
        switch operation {
        case .confirm, .updatePaymentDetails: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction]
        case .capture, .expireAuthorization: [.requiresCapture]
        case .cancel: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction, .requiresCapture]
        case .updateBookkeeping: Set(PaymentIntentStatus.allCases)
        case .authenticate: [.requiresAction]
        case .expireAttempt: [.requiresAction, .requiresConfirmation]
        case .recordAuthorization: [.processing]
        }
    }

    /// Checks that `operation` is allowed on `intent` now.
    /// - Throws: `payment_intent_unexpected_state` with Stripe's wording for the operation.
    public static func check(_ operation: Operation, on intent: PaymentIntent) throws(PaymentError) {
        guard !allowedStatuses(for: operation).contains(intent.status) else { return }
        throw unexpectedState(operation, intent: intent)
    }

    /// Stripe's error for an operation the intent's status does not allow.
    public static func unexpectedState(_ operation: Operation, intent: PaymentIntent) -> PaymentError {
        let status = intent.status.rawValue
        let message: String
        switch operation {
        case .confirm where intent.status == .succeeded:
            message =
                "You cannot confirm this PaymentIntent because it has already succeeded after being previously "
                + "confirmed."
        case .confirm:
            message =
                "You cannot confirm this PaymentIntent because it has a status of \(status). Only a PaymentIntent "
                + "with one of the following statuses may be confirmed: requires_confirmation, "
                + "requires_payment_method, requires_action."
        case .capture, .expireAuthorization:
            message =
                "This PaymentIntent could not be captured because it has a status of \(status). Only a "
                + "PaymentIntent with one of the following statuses may be captured: requires_capture."
        case .cancel:
            message =
                "You cannot cancel this PaymentIntent because it has a status of \(status). Only a PaymentIntent "
                + "with one of the following statuses may be canceled: requires_payment_method, requires_capture, "
                + "requires_confirmation, requires_action."
        case .updatePaymentDetails, .updateBookkeeping:
            message =
                "You cannot update this PaymentIntent because it has a status of \(status). Only a PaymentIntent "
                + "with one of the following statuses may be updated: requires_payment_method, "
                + "requires_confirmation, requires_action."
        case .authenticate:
            message =
                "This PaymentIntent cannot be authenticated because it has a status of \(status). Only a "
                + "PaymentIntent with a status of requires_action may be authenticated."
        case .expireAttempt:
            message =
                "The payment attempt of this PaymentIntent cannot expire because it has a status of \(status)."
        case .recordAuthorization:
            message = "This PaymentIntent has no authorization in flight; it has a status of \(status)."
        }
        return .unexpectedState(message, paymentIntent: intent.id)
    }
}
