import PaymentsCore
import Testing

@Suite("Test-mode issuer")
struct TestModeIssuerTests {
    /// 2026-01-01T00:00:00Z.
    static let now: Int64 = 1_767_225_600

    /// An authorization request for `number`, valid until 12/2030 unless told otherwise.
    static func request(
        _ number: String,
        attemptID: String = "ch_test1",
        expMonth: Int = 12,
        expYear: Int = 2030,
        cvcProvided: Bool = true,
        offSession: Bool = false
    ) throws -> AuthorizationRequest {
        AuthorizationRequest(
            attemptID: attemptID,
            card: try CardNumber(parsing: number),
            expiry: CardExpiry(unvalidatedMonth: expMonth, year: expYear),
            cvcProvided: cvcProvided,
            amount: 2_000,
            currency: "usd",
            capture: true,
            offSession: offSession,
            authenticated: false,
            offSessionReady: false,
            now: now
        )
    }

    @Test(
        "Decline cards decline with Stripe's code and decline code",
        arguments: [
            ("4000000000000002", "card_declined", "generic_decline"),
            ("4000000000009995", "card_declined", "insufficient_funds"),
            ("4000000000009987", "card_declined", "lost_card"),
            ("4000000000009979", "card_declined", "stolen_card"),
            ("4000000000000069", "expired_card", "expired_card"),
            ("4000000000000127", "incorrect_cvc", "incorrect_cvc"),
            ("4000000000000119", "processing_error", "processing_error"),
            ("4000000000006975", "card_declined", "card_velocity_exceeded"),
            ("4000000000000341", "card_declined", "generic_decline"),
            ("4100000000000019", "card_declined", "fraudulent"),
        ]
    )
    func declines(number: String, code: String, declineCode: String) throws {
        // When
        let result = TestModeIssuer.decide(try Self.request(number))
        // Then
        guard case .declined(let decline) = result else {
            Issue.record("\(number) was approved")
            return
        }
        #expect(decline.code == code)
        #expect(decline.declineCode == declineCode)
    }

    @Test(
        "Successful cards are approved with a six-digit code",
        arguments: ["4242424242424242", "5555555555554444", "378282246310005", "6011111111111117", "4000002500003155"]
    )
    func approvals(number: String) throws {
        // When
        let result = TestModeIssuer.decide(try Self.request(number))
        // Then
        guard case .approved(let code) = result else {
            Issue.record("\(number) was declined: \(result)")
            return
        }
        #expect(code.count == 6)
        #expect(code.allSatisfy { $0.isNumber })
    }

    @Test("The approval code is a function of the attempt id")
    func approvalCodeIsStable() throws {
        // Given two asks under one attempt id and one under another
        let first = TestModeIssuer.decide(try Self.request("4242424242424242", attemptID: "ch_A"))
        let again = TestModeIssuer.decide(try Self.request("4242424242424242", attemptID: "ch_A"))
        let other = TestModeIssuer.decide(try Self.request("4242424242424242", attemptID: "ch_B"))
        // Then
        #expect(first == again)
        #expect(first != other)
    }

    @Test("A card past its expiry month declines expired_card; one in its expiry month is still good")
    func expiredCard() throws {
        // Given the clock in January 2026
        let expired = TestModeIssuer.decide(try Self.request("4242424242424242", expMonth: 12, expYear: 2025))
        let lastMonth = TestModeIssuer.decide(try Self.request("4242424242424242", expMonth: 1, expYear: 2026))
        // Then
        guard case .declined(let decline) = expired else {
            Issue.record("an expired card was approved")
            return
        }
        #expect(decline.code == "expired_card")
        guard case .approved = lastMonth else {
            Issue.record("a card in its expiry month was declined: \(lastMonth)")
            return
        }
    }

    @Test("4000000000000127 declines incorrect_cvc only when a CVC was given")
    func incorrectCVCNeedsACVC() throws {
        // When
        let withCVC = TestModeIssuer.decide(try Self.request("4000000000000127", cvcProvided: true))
        let withoutCVC = TestModeIssuer.decide(try Self.request("4000000000000127", cvcProvided: false))
        // Then
        guard case .declined(let decline) = withCVC else {
            Issue.record("the CVC card was approved with a CVC")
            return
        }
        #expect(decline.code == "incorrect_cvc")
        guard case .approved = withoutCVC else {
            Issue.record("the CVC card was declined without a CVC: \(withoutCVC)")
            return
        }
    }

    @Test("A valid number that is not a test card is a live card: test_mode_live_card", arguments: ["4111111111111111"])
    func liveCard(number: String) throws {
        // Given a Luhn-valid number outside the test table
        try #require(TestCards.card(forNumber: number) == nil)
        // When
        let result = TestModeIssuer.decide(try Self.request(number))
        // Then
        #expect(result == .declined(TestCards.liveModeCardDecline))
        #expect(TestCards.liveModeCardDecline.code == "card_declined")
        #expect(TestCards.liveModeCardDecline.declineCode == "test_mode_live_card")
    }

    @Test("Off-session payments use the card's off-session behaviour")
    func offSession() throws {
        // When 4000008260003178 is charged off-session
        let result = TestModeIssuer.decide(try Self.request("4000008260003178", offSession: true))
        // Then it declines with insufficient funds
        #expect(result == .declined(.insufficientFunds))
    }

    @Test(
        "Refunds follow the card's refund behaviour: 7726 pending then succeeded, 5126 succeeded then failed",
        arguments: [
            ("4242424242424242", RefundBehavior.succeeds), ("4000000000007726", .pendingThenSucceeds),
            ("4000000000005126", .succeedsThenFails), ("4111111111111111", .succeeds),
        ]
    )
    func refundBehaviour(_ number: String, _ expected: RefundBehavior) throws {
        // Given the card's refund behaviour, and a refund asked for at `now`
        let behavior = TestModeIssuer.refundBehavior(of: try CardNumber(parsing: number))
        #expect(behavior == expected)
        let settlesAt = Self.now + TestModeIssuer.refundSettlementDelay
        // When it is asked about at once, just before the delay ends, and when it ends
        let answers = [Self.now, settlesAt - 1, settlesAt].map {
            TestModeIssuer.refundResult(behavior, requestedAt: Self.now, now: $0)
        }
        // Then the status changes only at the end of the delay, and says when until then
        let first: RefundResult
        let last: RefundResult
        switch expected {
        case .succeeds:
            first = RefundResult(status: .succeeded)
            last = first
        case .pendingThenSucceeds:
            first = RefundResult(status: .pending, settlesAt: settlesAt)
            last = RefundResult(status: .succeeded)
        case .succeedsThenFails:
            first = RefundResult(status: .succeeded, settlesAt: settlesAt)
            last = RefundResult(status: .failed(reason: TestModeIssuer.refundFailureReason))
        }
        #expect(answers == [first, first, last])
    }
}
