import Foundation
import GRDB
import PaymentsCore
import PaymentsNetwork
import TestSupport
import Testing

@Suite("Test-mode card network ledger")
struct TestModeCardNetworkTests {
    static func request(_ number: String, attemptID: String, capture: Bool = true) throws -> AuthorizationRequest {
        AuthorizationRequest(
            attemptID: attemptID,
            card: try CardNumber(parsing: number),
            expiry: CardExpiry(unvalidatedMonth: 12, year: 2030),
            cvcProvided: true,
            amount: 2_000,
            currency: "usd",
            capture: capture,
            offSession: false,
            authenticated: false,
            offSessionReady: false,
            now: TestClock.defaultStart
        )
    }

    static func ledgerPath() throws -> String {
        try TestPaths.temporaryFolder().appendingPathComponent("card-network.sqlite").path
    }

    @Test("Authorizing twice under one attempt id answers the same and charges once")
    func idempotentAuthorization() async throws {
        // Given a fresh ledger
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        let request = try Self.request("4242424242424242", attemptID: "ch_once")
        // When the same attempt is sent twice
        let first = try await network.authorize(request)
        let second = try await network.authorize(request)
        // Then
        guard case .approved = first else {
            Issue.record("4242 was declined: \(first)")
            return
        }
        #expect(second == first)
        #expect(try network.approvedCount() == 1)
        #expect(try network.capturedAmount(attemptID: "ch_once") == 2_000)
    }

    @Test("Concurrent retries of one attempt still charge once")
    func concurrentRetries() async throws {
        // Given
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        let request = try Self.request("4242424242424242", attemptID: "ch_race")
        // When ten retries race
        let results = try await withThrowingTaskGroup(of: AuthorizationResult.self) { group in
            for _ in 0..<10 { group.addTask { try await network.authorize(request) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Then
        #expect(results.count == 10)
        #expect(Set(results.map { "\($0)" }).count == 1)
        #expect(try network.approvedCount() == 1)
    }

    @Test("A decline is recorded once and replayed; it is not an approved charge")
    func idempotentDecline() async throws {
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        let request = try Self.request("4000000000009995", attemptID: "ch_declined")
        let first = try await network.authorize(request)
        let second = try await network.authorize(request)
        #expect(first == .declined(.insufficientFunds))
        #expect(second == first)
        #expect(try network.approvedCount() == 0)
    }

    @Test("Different attempt ids are different charges")
    func distinctAttempts() async throws {
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_one"))
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_two"))
        #expect(try network.approvedCount() == 2)
    }

    @Test("The ledger survives a reopen: a retry after our crash gets the first answer")
    func survivesReopen() async throws {
        // Given an approved attempt in a ledger file
        let path = try Self.ledgerPath()
        let request = try Self.request("4242424242424242", attemptID: "ch_durable")
        let first = try await TestModeCardNetwork(ledgerPath: path).authorize(request)
        // When the ledger is opened again and asked again
        let reopened = try TestModeCardNetwork(ledgerPath: path)
        let again = try await reopened.authorize(request)
        // Then
        #expect(again == first)
        #expect(try reopened.approvedCount() == 1)
    }

    @Test("Capture and void are idempotent and exclusive")
    func captureAndVoid() async throws {
        // Given two held authorizations
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_held1", capture: false))
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_held2", capture: false))
        #expect(try network.capturedAmount(attemptID: "ch_held1") == 0)
        // When one is captured twice and then voided, the other voided twice and then captured
        let captured = try await network.capture(attemptID: "ch_held1", amount: 1_500)
        let capturedAgain = try await network.capture(attemptID: "ch_held1", amount: 900)
        let voidAfterCapture = try await network.void(attemptID: "ch_held1")
        let voided = try await network.void(attemptID: "ch_held2")
        let voidedAgain = try await network.void(attemptID: "ch_held2")
        let captureAfterVoid = try await network.capture(attemptID: "ch_held2", amount: 2_000)
        // Then the first to arrive wins, and money moves once
        // (a second capture, as a retry after a crash, answers the amount the first one captured)
        #expect(captured == 1_500 && capturedAgain == 1_500 && !voidAfterCapture)
        #expect(voided && voidedAgain && captureAfterVoid == nil)
        #expect(try network.capturedAmount(attemptID: "ch_held1") == 1_500)
        #expect(try network.capturedAmount(attemptID: "ch_held2") == 0)
    }

    @Test("A capture names its request: every later capture, of any amount, gets the first one's name and amount")
    func captureNamesItsRequest() async throws {
        // Given a held authorization, and an automatic capture
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_held", capture: false))
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_auto", capture: true))
        // When two capture requests of the same amount come one after the other, and the first one again
        let first = try await network.capture(attemptID: "ch_held", amount: 1_500, reference: "key_a")
        let second = try await network.capture(attemptID: "ch_held", amount: 1_500, reference: "req_b")
        let retry = try await network.capture(attemptID: "ch_held", amount: 1_500, reference: "key_a")
        // Then each is told the first one's capture: the second can tell it is not its own, the retry that it is
        #expect(first == NetworkCapture(amount: 1_500, reference: "key_a"))
        #expect(second == first && retry == first)
        #expect(second?.isTaken(by: "req_b", amount: 1_500) == false)
        #expect(retry?.isTaken(by: "key_a", amount: 1_500) == true)
        // and a capture the network made without a request's name (automatic) is told by its amount
        let automatic = try await network.capture(attemptID: "ch_auto", amount: 2_000, reference: "req_c")
        #expect(automatic == NetworkCapture(amount: 2_000, reference: nil))
        #expect(automatic?.isTaken(by: "req_c", amount: 2_000) == true)
        #expect(automatic?.isTaken(by: "req_c", amount: 1_000) == false)
    }

    @Test("A release names its request: a second release request is told the first one's, a retry its own")
    func voidNamesItsRequest() async throws {
        // Given two held authorizations
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_held", capture: false))
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_swept", capture: false))
        // When two release requests come one after the other, and the first one again
        let first = try await network.void(attemptID: "ch_held", reference: "key_a")
        let second = try await network.void(attemptID: "ch_held", reference: "req_b")
        let retry = try await network.void(attemptID: "ch_held", reference: "key_a")
        // Then each is told the first one's release: the second can tell it is not its own, the retry that it is
        #expect(first == .released(reference: "key_a"))
        #expect(second == first && retry == first)
        #expect(!second.isReleased(by: "req_b") && retry.isReleased(by: "key_a"))
        // and nothing can capture it any more
        #expect(try await network.capture(attemptID: "ch_held", amount: 500, reference: "req_c") == nil)
        // And a release made without a request's name (the sweeper's batch) is every request's, as before
        #expect(try await network.void(attemptIDs: ["ch_swept"]) == ["ch_swept": true])
        let later = try await network.void(attemptID: "ch_swept", reference: "req_d")
        #expect(later == .released(reference: nil) && later.isReleased(by: "req_d"))
        // And a captured authorization is not released
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_taken", capture: false))
        _ = try await network.capture(attemptID: "ch_taken", amount: 500, reference: "req_e")
        #expect(try await network.void(attemptID: "ch_taken", reference: "req_f") == .capturedFirst)
    }

    @Test("A refund is made once per refund id; asking again answers its status as of then, by its card")
    func refundsOverTime() async throws {
        // Given captured payments with an ordinary card and the two refund test cards
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        let t0 = TestClock.defaultStart
        let delay = TestModeIssuer.refundSettlementDelay
        for (number, attempt) in [
            ("4242424242424242", "ch_plain"), ("4000000000007726", "ch_pending"), ("4000000000005126", "ch_fails"),
        ] {
            _ = try await network.authorize(try Self.request(number, attemptID: attempt))
        }

        // When each is refunded at t0, and asked again under the same refund id before and after the delay
        var answers: [String: [RefundResult]] = [:]
        for attempt in ["ch_plain", "ch_pending", "ch_fails"] {
            for now in [t0, t0 + delay - 1, t0 + delay] {
                let answer = try await network.refund(
                    attemptID: attempt,
                    refundID: "re_" + attempt,
                    amount: 500,
                    now: now
                )
                answers[attempt, default: []].append(answer)
            }
        }

        // Then each card's refund steps through its statuses, and each refund is in the ledger once
        #expect(answers["ch_plain"] == Array(repeating: RefundResult(status: .succeeded), count: 3))
        #expect(
            answers["ch_pending"] == [
                RefundResult(status: .pending, settlesAt: t0 + delay),
                RefundResult(status: .pending, settlesAt: t0 + delay), RefundResult(status: .succeeded),
            ]
        )
        #expect(
            answers["ch_fails"] == [
                RefundResult(status: .succeeded, settlesAt: t0 + delay),
                RefundResult(status: .succeeded, settlesAt: t0 + delay),
                RefundResult(status: .failed(reason: "expired_or_canceled_card")),
            ]
        )
        for attempt in ["ch_plain", "ch_pending", "ch_fails"] {
            #expect(try network.refunds(attemptID: attempt) == ["re_" + attempt: 500])
        }
    }

    @Test(
        "A refund that would give back more than was captured is refused and not recorded; a partial capture bounds it"
    )
    func overRefundRefused() async throws {
        // Given a payment of 2,000 captured whole, one of 2,000 captured at 800, and one whose refunds fail later
        let network = try TestModeCardNetwork(ledgerPath: try Self.ledgerPath())
        let t0 = TestClock.defaultStart
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_whole"))
        _ = try await network.authorize(try Self.request("4242424242424242", attemptID: "ch_part", capture: false))
        #expect(try await network.capture(attemptID: "ch_part", amount: 800, reference: "cap") != nil)
        _ = try await network.authorize(try Self.request("4000000000005126", attemptID: "ch_fails"))
        let declined = RefundResult(status: .failed(reason: TestModeCardNetwork.overRefundReason))

        // When refunds add up past the capture (as a database restored from an older backup than the ledger asks:
        // it paid 500 + 2,030 back on a capture of 2,030)
        #expect(
            try await network.refund(attemptID: "ch_whole", refundID: "re_1", amount: 1_500, now: t0).status
                == .succeeded
        )
        #expect(try await network.refund(attemptID: "ch_whole", refundID: "re_2", amount: 600, now: t0) == declined)
        // Then the one past the capture is refused, asked again too, and not recorded; one within it goes through
        #expect(try await network.refund(attemptID: "ch_whole", refundID: "re_2", amount: 600, now: t0) == declined)
        #expect(
            try await network.refund(attemptID: "ch_whole", refundID: "re_3", amount: 500, now: t0).status == .succeeded
        )
        #expect(try network.refunds(attemptID: "ch_whole") == ["re_1": 1_500, "re_3": 500])
        // And a retry of a recorded refund is answered as before, whatever was refunded since
        #expect(
            try await network.refund(attemptID: "ch_whole", refundID: "re_1", amount: 1_500, now: t0).status
                == .succeeded
        )
        // And a partial capture bounds its refunds by what was captured
        #expect(try await network.refund(attemptID: "ch_part", refundID: "re_p", amount: 900, now: t0) == declined)
        #expect(
            try await network.refund(attemptID: "ch_part", refundID: "re_q", amount: 800, now: t0).status == .succeeded
        )
        // And the refunds of a card whose refunds fail later never count: each gives its money back, which the
        // service may learn (`payments sweep --now +2m`) before this network's clock says so
        _ = try await network.refund(attemptID: "ch_fails", refundID: "re_f1", amount: 2_000, now: t0)
        #expect(try await network.refund(attemptID: "ch_fails", refundID: "re_f2", amount: 2_000, now: t0) != declined)
    }

    @Test("A ledger made before refunds had a status over time opens with the new columns; old refunds are final")
    func olderLedger() async throws {
        // Given a ledger file of the first version, with a refund in it
        let path = try Self.ledgerPath()
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE authorizations (
                        attempt_id TEXT PRIMARY KEY NOT NULL, created INTEGER NOT NULL, last4 TEXT NOT NULL,
                        amount INTEGER NOT NULL, currency TEXT NOT NULL, approved INTEGER NOT NULL, code TEXT,
                        decline_code TEXT, message TEXT, authorization_code TEXT,
                        captured_amount INTEGER NOT NULL DEFAULT 0, voided INTEGER NOT NULL DEFAULT 0) STRICT;
                    CREATE TABLE refunds (
                        refund_id TEXT PRIMARY KEY NOT NULL,
                        attempt_id TEXT NOT NULL REFERENCES authorizations (attempt_id),
                        amount INTEGER NOT NULL) STRICT;
                    INSERT INTO authorizations (attempt_id, created, last4, amount, currency, approved,
                        captured_amount) VALUES ('ch_old', 1, '7726', 2000, 'usd', 1, 2000);
                    INSERT INTO refunds VALUES ('re_old', 'ch_old', 500);
                    """
            )
        }
        try queue.close()

        // When the network opens it and is asked about the old refund, and makes a new one
        let network = try TestModeCardNetwork(ledgerPath: path)
        let old = try await network.refund(attemptID: "ch_old", refundID: "re_old", amount: 500, now: 100)
        _ = try await network.authorize(try Self.request("4000000000007726", attemptID: "ch_new"))
        let new = try await network.refund(attemptID: "ch_new", refundID: "re_new", amount: 500, now: 100)

        // Then the old refund is final and the new one follows its card
        #expect(old == RefundResult(status: .succeeded))
        #expect(new == RefundResult(status: .pending, settlesAt: 100 + TestModeIssuer.refundSettlementDelay))
        #expect(try network.refunds(attemptID: "ch_old") == ["re_old": 500])
        // and its authorization, captured before captures were named, is told by its amount
        let captured = try await network.capture(attemptID: "ch_old", amount: 2_000, reference: "req_new")
        #expect(captured == NetworkCapture(amount: 2_000, reference: nil))
    }
}
