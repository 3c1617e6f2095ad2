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
                threeDSecure: testCard.threeDSecure,
                riskLevel: testCard.riskLevel,
                checks: CardChecks(
                    cvc: testCard.cvcCheck,
                    addressLine1: testCard.addressLine1Check,
                    addressPostalCode: testCard.addressPostalCodeCheck
                )
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

    // MARK: - Refunds

    /// How long a test card's refund takes to reach its final status: a `4000000000007726` refund is `pending` for
    /// this long before it succeeds, a `4000000000005126` refund `succeeded` for this long before it fails. Stripe
    /// documents no delay ("some time later"); one minute is long enough to see the first status in a response and
    /// short enough that the sweeper's next pass (every 60 s by default) applies the second.
    public static let refundSettlementDelay: Int64 = 60

    /// Why a `4000000000005126` refund fails. Stripe's testing page names no reason; a card that can no longer take
    /// money back is the usual cause of a card refund's late failure.
    public static let refundFailureReason = "expired_or_canceled_card"

    /// How refunds of payments made with `card` behave; a number that is not a test card refunds normally.
    public static func refundBehavior(of card: CardNumber) -> RefundBehavior {
        TestCards.card(forNumber: card.digits)?.refund ?? .succeeds
    }

    /// Where a refund asked for at `requestedAt` stands at `now`, by its card's refund behaviour.
    public static func refundResult(_ behavior: RefundBehavior, requestedAt: Int64, now: Int64) -> RefundResult {
        let settlesAt = requestedAt + refundSettlementDelay
        let settled = now >= settlesAt
        switch behavior {
        case .succeeds:
            return RefundResult(status: .succeeded)
        case .pendingThenSucceeds:
            return settled ? RefundResult(status: .succeeded) : RefundResult(status: .pending, settlesAt: settlesAt)
        case .succeedsThenFails:
            return settled
                ? RefundResult(status: .failed(reason: refundFailureReason))
                : RefundResult(status: .succeeded, settlesAt: settlesAt)
        }
    }

    // MARK: - Authorization codes

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
