/// Decides, before any money moves, whether a payment must first be authenticated with 3-D Secure.
///
/// This is the test-mode stand-in for the card scheme's directory lookup: a pure function of the card's
/// enrolment (from the test-card table), whether the customer is present, and what already happened.
public enum ThreeDSecurePolicy {
    /// What a confirm must do next.
    public enum Decision: Sendable, Equatable {
        /// Go ahead and authorize.
        case proceed
        /// Show the customer a challenge first (on-session only).
        case challenge
        /// Fail the attempt without asking the network.
        case decline(CardDecline)
    }

    /// Decides for a card with `behavior`.
    /// - Parameters:
    ///   - offSession: the customer is not present, so no challenge can be shown.
    ///   - offSessionReady: the card was saved for off-session use after an authenticated payment.
    ///   - authenticated: the cardholder already passed a challenge for this intent and payment method.
    public static func decide(
        _ behavior: ThreeDSecureBehavior,
        offSession: Bool,
        offSessionReady: Bool,
        authenticated: Bool
    ) -> Decision {
        if authenticated { return .proceed }
        switch behavior {
        case .notSupported, .supportedNotRequired:
            return .proceed
        case .lookupFails:
            return .decline(
                CardDecline(code: "card_declined", declineCode: "generic_decline", message: "Your card was declined.")
            )
        case .requiredUnlessSetUp:
            if offSession { return offSessionReady ? .proceed : .decline(TestCards.authenticationRequiredDecline) }
            return .challenge
        case .alwaysRequired:
            return offSession ? .decline(TestCards.authenticationRequiredDecline) : .challenge
        case .requiredSetUpForOffSession:
            return offSession ? .proceed : .challenge
        }
    }
}
