/// The test-mode issuer's decisions: what Stripe's test cards answer to an authorization. Pure; the test-mode
/// network wraps it with its ledger.
public enum TestModeIssuer {
    /// Decides an authorization by the test-card table.
    ///
    /// Live (non-test) numbers are declined with `test_mode_live_card`; an expired card with `expired_card`;
    /// `incorrect_cvc` cards decline only when a CVC was given, as Stripe's do.
    public static func decide(_ request: AuthorizationRequest) -> AuthorizationResult {
        guard let card = TestCards.card(forNumber: request.card.digits) else {
            return .declined(TestCards.liveModeCardDecline)
        }
        if request.expiry.isExpired(atUnixSeconds: request.now) {
            return .declined(
                CardDecline(code: "expired_card", declineCode: "expired_card", message: "Your card has expired.")
            )
        }
        let behavior = request.offSession ? (card.offSessionCharge ?? card.charge) : card.charge
        switch behavior {
        case .approve:
            return .approved(authorizationCode: authorizationCode(for: request.attemptID))
        case .decline(let decline):
            if decline.code == "incorrect_cvc" && !request.cvcProvided {
                return .approved(authorizationCode: authorizationCode(for: request.attemptID))
            }
            return .declined(decline)
        }
    }

    /// A six-digit approval code derived from the attempt id, so asking again gives the same code.
    static func authorizationCode(for attemptID: String) -> String {
        var hash: UInt64 = 1_469_598_103_934_665_603  // FNV-1a offset basis
        for byte in attemptID.utf8 {
            hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211  // FNV-1a prime
        }
        let code = String(hash % 1_000_000)
        return String(repeating: "0", count: 6 - code.count) + code
    }
}
