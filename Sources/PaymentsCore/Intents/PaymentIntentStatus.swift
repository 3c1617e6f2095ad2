/// Where a PaymentIntent is in its life, with Stripe's names.
public enum PaymentIntentStatus: String, Sendable, Codable, CaseIterable {
    case requiresPaymentMethod = "requires_payment_method"
    case requiresConfirmation = "requires_confirmation"
    case requiresAction = "requires_action"
    /// An authorization is in flight at the card network; the recovery point of a confirm.
    case processing
    case requiresCapture = "requires_capture"
    case succeeded
    case canceled

    /// Whether no further call can change the intent's money.
    public var isFinal: Bool { self == .succeeded || self == .canceled }

    /// The name Stripe used before API version 2019-02-11, where it differs.
    public var legacyName: String {
        switch self {
        case .requiresPaymentMethod: "requires_source"
        case .requiresAction: "requires_source_action"
        default: rawValue
        }
    }
}

/// When the authorized amount is captured.
public enum CaptureMethod: String, Sendable, Codable, CaseIterable {
    case automatic
    case automaticAsync = "automatic_async"
    case manual
}

/// Who may confirm the intent, and whether a second confirm follows customer action.
public enum ConfirmationMethod: String, Sendable, Codable, CaseIterable {
    case automatic
    case manual
}

/// How a payment method is to be reused after this payment.
public enum SetupFutureUsage: String, Sendable, Codable, CaseIterable {
    case onSession = "on_session"
    case offSession = "off_session"
}

/// Why an intent was canceled; the last three are set by the service itself.
public enum CancellationReason: String, Sendable, Codable, CaseIterable {
    case duplicate
    case fraudulent
    case requestedByCustomer = "requested_by_customer"
    case abandoned
    case automatic
    case failedInvoice = "failed_invoice"
    case voidInvoice = "void_invoice"

    /// The reasons a caller may give when canceling.
    public static let callerSupplied: [CancellationReason] = [
        .duplicate, .fraudulent, .requestedByCustomer, .abandoned,
    ]
}
