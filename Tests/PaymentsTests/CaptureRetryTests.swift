import PaymentsCore
import TestSupport
import Testing

/// A capture that died after the network captured, followed by a capture of another amount: the second records what
/// the network really captured, so the books never disagree with the money that moved, and is refused on that state
/// (it is not the capture that happened; Stripe refuses a second capture).
@Suite("Capture retried after a crash")
struct CaptureRetryTests {
    @Test("the retry records the amount the first try captured at the network")
    func retryRecordsNetworkAmount() async throws {
        // Given an authorization of 2,000 whose first capture of 1,500 reached the network, then the process died
        let environment = try TestEnvironment()
        let held = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true, captureMethod: .manual)
        )
        #expect(held.status == .requiresCapture)
        let attempt = try #require(held.latestCharge)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500) == 1_500)

        // When the merchant captures again, asking for 1,000
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(held.id, amountToCapture: 1_000)
        }

        // Then that capture is refused on the state the first left, which the intent and its charge now show: the
        // 1,500 that moved, captured once at the network
        #expect(error?.code == "payment_intent_unexpected_state")
        let captured = try await environment.intents.retrieve(held.id)
        #expect(captured.status == .succeeded)
        #expect(captured.amountReceived == 1_500)
        let charge = try await environment.database.read { tx in try tx.charge(attempt) }
        #expect(charge?.amountCaptured == 1_500)
        #expect(try environment.network.capturedAmount(attemptID: attempt) == 1_500)
    }
}
