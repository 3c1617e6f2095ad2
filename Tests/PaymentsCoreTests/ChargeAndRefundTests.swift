import PaymentsCore
import Testing

/// The amounts a charge shows, and how a refund records the network's answers.
@Suite("Charge amounts and refund statuses")
struct ChargeAndRefundTests {
    /// An approved charge of 1000 usd, captured at once unless `capture` is false.
    static func approved(capture: Bool = true) -> Charge {
        var charge = Charge(
            id: "ch_amounts",
            created: 100,
            paymentIntent: "pi_amounts",
            paymentMethod: nil,
            customer: nil,
            amount: 1_000,
            currency: "usd",
            capture: capture,
            offSession: false,
            threeDSecure: nil
        )
        charge.approve(authorizationCode: "000001", at: 100)
        return charge
    }

    /// A pending refund of 400.
    static func refund() -> Refund {
        Refund(
            id: "re_statuses",
            created: 100,
            charge: "ch_amounts",
            paymentIntent: "pi_amounts",
            amount: 400,
            currency: "usd",
            reason: nil,
            metadata: [:]
        )
    }

    @Test("A partial capture shows the released remainder as refunded, as Stripe does")
    func partialCapture() {
        // Given an authorization of 1000 captured for 600
        var charge = Self.approved(capture: false)
        #expect(charge.totalAmountRefunded == 0 && charge.refundable == 0 && !charge.refunded)
        charge.recordCapture(600)
        // Then 400 were released and count as refunded; 600 may be refunded
        #expect(charge.amountReleased == 400)
        #expect(charge.totalAmountRefunded == 400)
        #expect(charge.refundable == 600)
        #expect(!charge.refunded)
        // When the 600 are refunded, then it is refunded in full
        charge.amountRefunded = 600
        #expect(charge.totalAmountRefunded == 1_000)
        #expect(charge.refundable == 0)
        #expect(charge.refunded)
        // When a refund of 600 fails later, then they may be refunded again
        charge.reverseRefund(600)
        #expect(charge.totalAmountRefunded == 400 && charge.refundable == 600 && !charge.refunded)
    }

    @Test("A released hold is refunded in full; a captured charge only once all of it is refunded")
    func refundedFlag() {
        var held = Self.approved(capture: false)
        held.releaseAuthorization()
        #expect(held.totalAmountRefunded == 1_000 && held.refunded && held.refundable == 0)
        var paid = Self.approved()
        paid.amountRefunded = 999
        #expect(!paid.refunded && paid.refundable == 1)
        paid.amountRefunded = 1_000
        #expect(paid.refunded)
    }

    @Test("A refund's status only moves forward; a failure is reported once, with its reason")
    func refundStatuses() {
        // Given a pending refund
        var refund = Self.refund()
        // When the network answers pending, then succeeded with a later change
        let pending = refund.record(RefundResult(status: .pending, settlesAt: 160))
        #expect(!pending && refund.status == .pending && refund.settlesAt == 160 && refund.awaitsNetwork)
        let succeeded = refund.record(RefundResult(status: .succeeded, settlesAt: 220))
        #expect(!succeeded && refund.status == .succeeded && refund.settlesAt == 220 && refund.awaitsNetwork)
        // And an older answer comes late: it changes nothing
        let stale = refund.record(RefundResult(status: .pending, settlesAt: 160))
        #expect(!stale && refund.status == .succeeded && refund.settlesAt == 220)
        // When it fails, the amount must go back, once
        let failed = refund.record(RefundResult(status: .failed(reason: "declined")))
        #expect(failed && refund.status == .failed && refund.failureReason == "declined" && refund.settlesAt == nil)
        #expect(!refund.awaitsNetwork)
        let failedAgain = refund.record(RefundResult(status: .failed(reason: "declined")))
        let lateSuccess = refund.record(RefundResult(status: .succeeded))
        #expect(!failedAgain && !lateSuccess && refund.status == .failed)
    }

    @Test("An assessment records the checks only for the data the payment method carries")
    func assessment() {
        // Given a card whose issuer fails the address checks, and payment methods with and without the data
        let profile = CardProfile(
            brand: .visa,
            funding: .credit,
            country: "US",
            threeDSecure: .supportedNotRequired,
            riskLevel: .elevated,
            checks: CardChecks(cvc: .pass, addressLine1: .fail, addressPostalCode: .unavailable)
        )
        let bare = PaymentMethod(
            id: "pm_bare",
            created: 1,
            brand: "visa",
            last4: "4242",
            expMonth: 12,
            expYear: 2030,
            fingerprint: "fp",
            funding: "credit",
            country: "US",
            cvcCheck: nil
        )
        var full = bare
        full.cvcCheck = "unchecked"
        full.billingDetails.address = BillingDetails.Address(line1: "1 Main St", postalCode: "94107")
        // When charges are assessed
        var withNothing = Self.approved()
        withNothing.assess(profile, paymentMethod: bare)
        var withEverything = Self.approved()
        withEverything.assess(profile, paymentMethod: full)
        // Then
        #expect(withNothing.riskLevel == .elevated)
        #expect(withNothing.cvcCheck == nil && withNothing.addressLine1Check == nil)
        #expect(withNothing.addressPostalCodeCheck == nil)
        #expect(withEverything.cvcCheck == .pass && withEverything.addressLine1Check == .fail)
        #expect(withEverything.addressPostalCodeCheck == .unavailable)
        // And an off-session charge of the same card sends no CVC, so shows none checked (it showed the collection's
        // check on every recharge), while its address is checked as before
        var offSession = Self.approved()
        offSession.offSession = true
        offSession.assess(profile, paymentMethod: full)
        #expect(!offSession.cvcSent(with: full) && withEverything.cvcSent(with: full))
        #expect(offSession.cvcCheck == nil && offSession.addressLine1Check == .fail)
    }
}
