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

    /// What the test-card table says of a card being collected; a number that is not a test card is refused as
    /// Stripe's test mode refuses live cards.
    public static func lookUp(_ card: CardNumber) -> CardLookup {
        guard let testCard = TestCards.card(forNumber: card.digits) else {
            return .refused(TestCards.liveModeCardDecline)
        }
        return .known(
            CardProfile(
                brand: testCard.brand,
                funding: testCard.funding,
                country: testCard.country,
                threeDSecure: testCard.threeDSecure
            )
        )
    }

    /// The decline of a test card that refuses attachment; an `incorrect_cvc` card refuses only when a CVC was
    /// given (none checked, none wrong), as Stripe's does.
    public static func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        guard let testCard = TestCards.card(forNumber: card.digits), case .fails(let decline) = testCard.attach else {
            return nil
        }
        return decline.code != "incorrect_cvc" || cvcProvided ? decline : nil
    }

    /// The number behind one of Stripe's magic PaymentMethod ids.
    public static func testCardNumber(forPaymentMethodID id: String) -> String? {
        TestCards.card(forMagicPaymentMethodID: id)?.number
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
