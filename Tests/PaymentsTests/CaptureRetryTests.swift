import PaymentsCore
import TestSupport
import Testing

/// A capture that died after the network captured, retried with another amount: the retry records what the
/// network really captured, so the books never disagree with the money that moved.
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
        let captured = try await environment.intents.capture(held.id, amountToCapture: 1_000)

        // Then the intent and its charge show the 1,500 that moved, and the network captured once
        #expect(captured.status == .succeeded)
        #expect(captured.amountReceived == 1_500)
        let charge = try await environment.database.read { tx in try tx.charge(attempt) }
        #expect(charge?.amountCaptured == 1_500)
        #expect(try environment.network.capturedAmount(attemptID: attempt) == 1_500)
    }
}
