/// The SetupIntent state machine: which operation each status allows, and Stripe's exact error for the rest.
///
/// Data plus pure functions, like ``PaymentIntentStateMachine``. Every status change goes through
/// ``SetupIntent/apply(_:now:)``, which checks the operation against ``allowedStatuses(for:)`` first.
public enum SetupIntentStateMachine {
    /// Everything that can happen to a setup intent.
    public enum Operation: String, Sendable, CaseIterable {
        /// A confirm call (also create with `confirm=true`), and the verification that completes it.
        case confirm
        /// A cancel call.
        case cancel
        /// An update of the customer or payment method.
        case updatePaymentDetails
        /// An update of metadata or description.
        case updateBookkeeping
        /// The customer completed or failed the 3-D Secure challenge.
        case authenticate
        /// The sweeper (or a late answer) expires an attempt the customer never finished.
        case expireAttempt
    }

    /// The statuses from which an operation is allowed.
    public static func allowedStatuses(for operation: Operation) -> Set<SetupIntentStatus> {
        switch operation {
        case .confirm, .cancel, .updatePaymentDetails: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction]
        case .updateBookkeeping: Set(SetupIntentStatus.allCases)
        case .authenticate, .expireAttempt: [.requiresAction]
        }
    }

    /// Checks that `operation` is allowed on `setup` now.
    /// - Throws: `setup_intent_unexpected_state` with Stripe's wording for the operation.
    public static func check(_ operation: Operation, on setup: SetupIntent) throws(PaymentError) {
        guard !allowedStatuses(for: operation).contains(setup.status) else { return }
        throw unexpectedState(operation, setup: setup)
    }

    /// Stripe's error for an operation the setup intent's status does not allow.
    public static func unexpectedState(_ operation: Operation, setup: SetupIntent) -> PaymentError {
        let status = setup.status.rawValue
        let open = "requires_payment_method, requires_confirmation, requires_action"
        let message: String
        switch operation {
        case .confirm where setup.status == .succeeded:
            message =
                "You cannot confirm this SetupIntent because it has already succeeded after being previously "
                + "confirmed."
        case .confirm:
            message =
                "You cannot confirm this SetupIntent because it has a status of \(status). Only a SetupIntent with "
                + "one of the following statuses may be confirmed: \(open)."
        case .cancel:
            message =
                "You cannot cancel this SetupIntent because it has a status of \(status). Only a SetupIntent with "
                + "one of the following statuses may be canceled: \(open)."
        case .updatePaymentDetails, .updateBookkeeping:
            message =
                "You cannot update this SetupIntent because it has a status of \(status). Only a SetupIntent with "
                + "one of the following statuses may be updated: \(open)."
        case .authenticate:
            message =
                "This SetupIntent cannot be authenticated because it has a status of \(status). Only a SetupIntent "
                + "with a status of requires_action may be authenticated."
        case .expireAttempt:
            message = "The setup attempt of this SetupIntent cannot expire because it has a status of \(status)."
        }
        return .setupIntentUnexpectedState(message, setupIntent: setup.id)
    }
}
