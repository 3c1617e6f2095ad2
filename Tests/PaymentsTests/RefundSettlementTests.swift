import Payments
import PaymentsCore
import TestSupport
import Testing

/// Refunds whose status the card network changes later, as Stripe's refund test cards do: `4000000000007726`
/// (pending, then succeeded) and `4000000000005126` (succeeded, then failed). The sweeper asks the network again
/// when it said to, and a refund is made at the network once, whoever asks.
@Suite("Refunds the network settles later")
struct RefundSettlementTests {
    /// How long after the refund its status changes.
    static let delay = TestModeIssuer.refundSettlementDelay

    /// A payment of 2000 usd with `paymentMethod`, and the refunds use case.
    static func paid(_ paymentMethod: String) async throws -> (TestEnvironment, PaymentIntent, Refunds) {
        let environment = try TestEnvironment()
        let intent = try await environment.pay(paymentMethod)
        try #require(intent.status == .succeeded)
        return (environment, intent, Refunds(context: environment.context))
    }

    /// One sweeper pass as of `now`.
    static func sweep(_ environment: TestEnvironment, at now: Int64) async throws -> SweepReport {
        try await Sweeper(context: environment.context).sweep(now: now)
    }

    @Test("A 4000000000007726 refund is pending, then succeeded after a pass a minute later; nothing before")
    func pendingThenSucceeds() async throws {
        // Given a paid 7726 payment, refunded 500 at t0
        let (environment, intent, refunds) = try await Self.paid("pm_card_pendingRefund")
        let chargeID = try #require(intent.latestCharge)
        let t0 = environment.clock.now
        let refund = try await refunds.create(.init(paymentIntent: intent.id, amount: 500))

        // Then it is pending, its amount reserved on the charge, due to settle a minute later
        #expect(refund.status == .pending)
        #expect(refund.settlesAt == t0 + Self.delay)
        #expect(try await environment.charge(chargeID)?.amountRefunded == 500)

        // When the sweeper runs just before, then at that time, then again later
        let early = try await Self.sweep(environment, at: t0 + Self.delay - 1)
        let stillPending = try await refunds.retrieve(refund.id)
        let due = try await Self.sweep(environment, at: t0 + Self.delay)
        let later = try await Self.sweep(environment, at: t0 + 10 * Self.delay)

        // Then the refund waited, then succeeded once; the charge's refunded amount did not move again
        #expect(early == SweepReport())
        #expect(stillPending.status == .pending)
        #expect(due == SweepReport(examined: 1, refundsUpdated: 1))
        #expect(later == SweepReport())
        let settled = try await refunds.retrieve(refund.id)
        #expect(settled.status == .succeeded)
        #expect(settled.settlesAt == nil)
        #expect(settled.failureReason == nil)
        #expect(try await environment.charge(chargeID)?.amountRefunded == 500)
        #expect(try environment.network.refunds(attemptID: chargeID) == [refund.id: 500])
    }

    @Test("A 4000000000005126 refund succeeds, then fails a minute later and gives its amount back to the charge")
    func succeedsThenFails() async throws {
        // Given a paid 5126 payment, refunded in full at t0
        let (environment, intent, refunds) = try await Self.paid("pm_card_refundFail")
        let chargeID = try #require(intent.latestCharge)
        let t0 = environment.clock.now
        let refund = try await refunds.create(.init(paymentIntent: intent.id))

        // Then it succeeded, and the charge is refunded in full, for now
        #expect(refund.status == .succeeded)
        #expect(refund.amount == 2_000)
        #expect(refund.settlesAt == t0 + Self.delay)
        #expect(try await environment.charge(chargeID)?.refunded == true)

        // When the sweeper runs just before a minute has passed, then at a minute
        let early = try await Self.sweep(environment, at: t0 + Self.delay - 1)
        let due = try await Self.sweep(environment, at: t0 + Self.delay)

        // Then the refund failed with a reason, and the charge may be refunded again
        #expect(early == SweepReport())
        #expect(due == SweepReport(examined: 1, refundsUpdated: 1))
        let failed = try await refunds.retrieve(refund.id)
        #expect(failed.status == .failed)
        #expect(failed.failureReason == "expired_or_canceled_card")
        #expect(failed.settlesAt == nil)
        let charge = try #require(try await environment.charge(chargeID))
        #expect(charge.amountRefunded == 0)
        #expect(charge.refunded == false)
        #expect(charge.refundable == 2_000)

        // And a second pass changes nothing: the amount went back once
        #expect(try await Self.sweep(environment, at: t0 + 10 * Self.delay) == SweepReport())
        #expect(try await environment.charge(chargeID)?.amountRefunded == 0)

        // When the merchant refunds again, then that is a new refund, made once at the network
        let again = try await refunds.create(.init(paymentIntent: intent.id))
        #expect(again.id != refund.id)
        #expect(again.status == .succeeded)
        #expect(try environment.network.refunds(attemptID: chargeID) == [refund.id: 2_000, again.id: 2_000])
    }

    @Test("A 7726 refund a crash left unanswered is asked by the recovery rule, then settled by the later one")
    func unansweredThenSettled() async throws {
        // Given a paid 7726 payment and a refund reserved whose network call never happened (a crash)
        let (environment, intent, refunds) = try await Self.paid("pm_card_pendingRefund")
        let chargeID = try #require(intent.latestCharge)
        let t0 = environment.clock.now
        let refund = Refund(
            id: "re_unansweredsettlement0000001",
            created: t0,
            charge: chargeID,
            paymentIntent: intent.id,
            amount: 700,
            currency: "usd",
            reason: nil,
            metadata: [:]
        )
        try await environment.database.write { tx in
            try tx.insert(refund)
            guard var charge = try tx.charge(chargeID) else { return }
            charge.amountRefunded += refund.amount
            try tx.update(charge)
        }

        // When the sweeper runs past the grace period: the network is asked for the first time then
        let t1 = t0 + Sweeper.pendingChargeGrace + 1
        let recovered = try await Self.sweep(environment, at: t1)
        let asked = try await refunds.retrieve(refund.id)
        // And again once the network's minute has passed
        let settled = try await Self.sweep(environment, at: t1 + Self.delay)

        // Then the first pass made the refund at the network, still pending, and the second saw it succeed
        #expect(recovered == SweepReport(examined: 1, pendingRefundsSettled: 1))
        #expect(asked.status == .pending)
        #expect(asked.settlesAt == t1 + Self.delay)
        #expect(settled == SweepReport(examined: 1, refundsUpdated: 1))
        #expect(try await refunds.retrieve(refund.id).status == .succeeded)
        #expect(try await environment.charge(chargeID)?.amountRefunded == 700)
        #expect(try environment.network.refunds(attemptID: chargeID) == [refund.id: 700])
    }

    @Test("An ordinary card's refund succeeds at once and is never read by the sweeper again")
    func ordinaryRefund() async throws {
        // Given a paid 4242 payment, refunded
        let (environment, intent, refunds) = try await Self.paid("pm_card_visa")
        let refund = try await refunds.create(.init(paymentIntent: intent.id, amount: 100))

        // Then it is final at once, and no pass reads it
        #expect(refund.status == .succeeded)
        #expect(refund.settlesAt == nil)
        #expect(try await Self.sweep(environment, at: environment.clock.now + 86_400) == SweepReport())
    }
}
