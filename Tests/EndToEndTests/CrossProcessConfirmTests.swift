import Foundation
import TestSupport
import Testing

/// Two `payments serve` processes on one database confirming one intent at once: a confirm that finds the other
/// process's attempt in flight settles it (it cannot tell it from a crash's leftover) and answers its outcome only
/// when it could be that request's retry.
@Suite("Confirms of one intent from two processes")
struct CrossProcessConfirmTests {
    @Test(
        "B's confirm naming no card while A's naming one is in flight is refused; naming that card, it is answered",
        arguments: TestStore.allCases
    )
    func namedCardInFlight(_ store: TestStore) async throws {
        // Given two servers on one database, A holding each payment after its attempt's commit until the test lets
        // it go (a debug-only fault action)
        let release = FileManager.default.temporaryDirectory.appendingPathComponent("release-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: release) }
        let a = try await ServerProcess.start(
            store: store,
            environment: [
                "PAYMENTS_FAULT_POINT": "after-attempt-commit", "PAYMENTS_FAULT_ACTION": "hold:\(release.path)",
            ]
        )
        defer { a.kill() }
        let b = try await ServerProcess.start(store: store, folder: a.folder, keys: a.keys)
        defer { b.kill() }
        let ledgers = Ledgers(folder: a.folder)
        /// An intent without a card, made on B.
        func newIntent() async throws -> String {
            let created = try await b.client.postForm(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd")],
                auth: b.secret
            )
            return try #require(try created.json()["id"]?.string, "\(created)")
        }
        /// The intent's status, read on B.
        func status(_ id: String) async throws -> String? {
            try await b.client.get("/v1/payment_intents/\(id)", auth: b.secret).json()["status"]?.string
        }
        let noCard = try await newIntent()
        let sameCard = try await newIntent()

        // When A confirms each naming a card, and holds both attempts
        async let firstA = a.client.postForm(
            "/v1/payment_intents/\(noCard)/confirm",
            [("payment_method", "pm_card_visa")],
            auth: a.secret
        )
        async let secondA = a.client.postForm(
            "/v1/payment_intents/\(sameCard)/confirm",
            [("payment_method", "pm_card_visa")],
            auth: a.secret
        )
        for id in [noCard, sameCard] {
            try await LeaseTests.eventually("A's attempt on \(id) in flight") { try await status(id) == "processing" }
        }
        // And B confirms the first naming no card, the second naming the same card
        let refused = try await b.client.postForm("/v1/payment_intents/\(noCard)/confirm", [], auth: b.secret)
        let answered = try await b.client.postForm(
            "/v1/payment_intents/\(sameCard)/confirm",
            [("payment_method", "pm_card_visa")],
            auth: b.secret
        )

        // Then the confirm naming no card is the race's loser (it answered A's card's 200 as its own), the one naming
        // the same card answers the outcome, and both attempts are settled
        #expect(refused.status == 400, "\(refused)\n\(b.diagnostics)")
        #expect(try refused.json()["error"]?["code"]?.string == "payment_intent_unexpected_state", "\(refused)")
        #expect(
            try refused.json()["error"]?["message"]?.string?.contains("confirmed by another request") == true,
            "\(refused)"
        )
        #expect(answered.status == 200, "\(answered)\n\(b.diagnostics)")
        #expect(try answered.json()["status"]?.string == "succeeded", "\(answered)")
        #expect(try await status(noCard) == "succeeded")

        // And A, let go, answers its own confirms with the outcomes recorded, charged once each
        try Data().write(to: release)
        for (id, answer) in [(noCard, try await firstA), (sameCard, try await secondA)] {
            #expect(answer.status == 200, "\(id): \(answer)\n\(a.diagnostics)")
            #expect(try answer.json()["status"]?.string == "succeeded", "\(id): \(answer)")
        }
        #expect(try ledgers.networkApprovedAttempts().count == 2)
        #expect(try await ledgers.intentsChargedTwice().isEmpty)
    }
}
