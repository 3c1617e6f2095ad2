/// Where a SetupIntent is in its life, with Stripe's names.
public enum SetupIntentStatus: String, Sendable, Codable, CaseIterable {
    case requiresPaymentMethod = "requires_payment_method"
    case requiresConfirmation = "requires_confirmation"
    case requiresAction = "requires_action"
    /// Stripe's status for payment methods set up asynchronously; cards never stay in it.
    case processing
    case succeeded
    case canceled

    /// The name Stripe used before API version 2019-02-11, where it differs (as for PaymentIntents).
    public var legacyName: String {
        switch self {
        case .requiresPaymentMethod: "requires_source"
        case .requiresAction: "requires_source_action"
        default: rawValue
        }
    }
}

/// Why a setup intent was canceled; only callers cancel setup intents.
public enum SetupIntentCancellationReason: String, Sendable, Codable, CaseIterable {
    case abandoned
    case duplicate
    case requestedByCustomer = "requested_by_customer"
}
