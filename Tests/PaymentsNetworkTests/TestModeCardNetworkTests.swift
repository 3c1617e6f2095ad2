import Foundation
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
}
