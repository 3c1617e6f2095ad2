import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import Synchronization
import TestSupport
import Testing

/// Found by two probes: a capture or cancel whose process stopped (SIGTERM, SIGKILL) after the card network
/// captured or released, before its record, left the intent `requires_capture` over money the network had moved,
/// until another capture or cancel of it, or the 7-day rule. The request now writes what it asks before asking, and
/// the sweeper completes it.
@Suite("Captures and releases recorded after a crash")
struct SettlementRecoveryTests {
    /// Thrown in place of the process dying at the fault point.
    struct Died: Error {}

    /// An environment whose process "dies" the first time it reaches `point`, and a manual-capture payment in it.
    static func authorized(dyingAt point: FaultInjector.Point) async throws -> (TestEnvironment, PaymentIntent) {
        let armed = Mutex(true)
        let faults = FaultInjector(armed: point) { _ in
            if armed.withLock({ armed in
                defer { armed = false }; return armed
            }) {
                throw Died()
            }
        }
        let environment = try TestEnvironment(faults: faults)
        let intent = try await environment.intents.create(
            .init(amount: 1_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true, captureMethod: .manual)
        )
        #expect(intent.status == .requiresCapture)
        return (environment, intent)
    }

    @Test("A capture that died after the network captured is recorded by the sweeper, with its metadata")
    func capture() async throws {
        let (environment, intent) = try await Self.authorized(dyingAt: .afterCaptureNetwork)
        // When a capture of 600 with metadata and a suffix dies after the network's answer
        await #expect(throws: Died.self) {
            try await environment.intents.capture(
                intent.id,
                amountToCapture: 600,
                metadata: ["order": "7"],
                descriptors: StatementDescriptors(suffix: "ORDER 7")
            )
        }
        let stuck = try await environment.intents.retrieve(intent.id)
        #expect(stuck.status == .requiresCapture && stuck.settling?.operation == .capture)
        // Then a sweep within the grace period leaves it to its request; one after it records the capture
        let sweeper = Sweeper(context: environment.context)
        _ = try await sweeper.sweep(now: environment.clock.now + Sweeper.pendingChargeGrace - 1)
        #expect(try await environment.intents.retrieve(intent.id).status == .requiresCapture)
        let report = try await sweeper.sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        #expect(report.settlementsRecorded == 1 && report.pendingChargesRecovered == 0, "\(report)")
        let captured = try await environment.intents.retrieve(intent.id)
        #expect(captured.status == .succeeded && captured.amountReceived == 600, "\(captured)")
        #expect(captured.metadata == ["order": "7"] && captured.settling == nil)
        let charge = try await environment.database.read { tx in try tx.charge(intent.latestCharge ?? "") }
        #expect(charge?.amountCaptured == 600 && charge?.statementDescriptorSuffix == "ORDER 7")
        // And a second pass has nothing to do
        let again = try await sweeper.sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        #expect(again.settlementsRecorded == 0)
    }

    @Test("A cancel that died after the network released is recorded by the sweeper, with its reason")
    func cancel() async throws {
        let (environment, intent) = try await Self.authorized(dyingAt: .beforeCancelWrite)
        await #expect(throws: Died.self) { try await environment.intents.cancel(intent.id, reason: .duplicate) }
        #expect(try await environment.intents.retrieve(intent.id).status == .requiresCapture)
        let report = try await Sweeper(context: environment.context)
            .sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        #expect(report.settlementsRecorded == 1 && report.pendingChargesRecovered == 0, "\(report)")
        let canceled = try await environment.intents.retrieve(intent.id)
        #expect(canceled.status == .canceled && canceled.cancellationReason == .duplicate, "\(canceled)")
        // And the network released it once: a capture now finds nothing to take
        #expect(try await environment.network.capture(attemptID: intent.latestCharge ?? "", amount: 1_000) == nil)
    }

    @Test("A cancel whose network call failed is made by the sweeper a minute later, with its reason")
    func cancelWhoseNetworkFailed() async throws {
        // Given an authorization on a network that cannot be reached for releases
        let ledgerPath = try TestPaths.temporaryFolder().appendingPathComponent("ledger.sqlite").path
        let network = SweeperTestNetwork(ledger: try TestModeCardNetwork(ledgerPath: ledgerPath), void: .unreachable)
        let environment = try TestEnvironment(network: network)
        let intent = try await environment.intents.create(
            .init(amount: 1_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true, captureMethod: .manual)
        )
        // When the merchant's cancel fails at the network, then the network is back
        await #expect(throws: (any Error).self) { try await environment.intents.cancel(intent.id, reason: .duplicate) }
        #expect(try await environment.intents.retrieve(intent.id).status == .requiresCapture)
        network.setVoidBehavior(.ledger)
        // Then the sweeper makes the release the merchant asked for, and records it with the reason
        _ = try await Sweeper(context: environment.context)
            .sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        let canceled = try await environment.intents.retrieve(intent.id)
        #expect(canceled.status == .canceled && canceled.cancellationReason == .duplicate, "\(canceled)")
        #expect(network.voidedAttempts.count == 2)
    }

    @Test("A cancel that died, found by the 7-day rule first, keeps the merchant's reason")
    func cancelFoundAtExpiry() async throws {
        let (environment, intent) = try await Self.authorized(dyingAt: .beforeCancelWrite)
        await #expect(throws: Died.self) { try await environment.intents.cancel(intent.id, reason: .fraudulent) }
        // When the first pass after it is the authorization's expiry (the 7-day rule runs before rule d)
        let expiry = (intent.authorizedAt ?? 0) + PaymentIntents.authorizationLifetime
        _ = try await Sweeper(context: environment.context).sweep(now: expiry)
        // Then the cancel recorded is the merchant's, not `automatic` (found by a probe)
        let canceled = try await environment.intents.retrieve(intent.id)
        #expect(canceled.status == .canceled && canceled.cancellationReason == .fraudulent, "\(canceled)")
    }

    @Test("A capture asked and never sent (the process died before the network) is made by the sweeper, once")
    func captureNeverSent() async throws {
        // Given a capture whose request wrote what it asks, then died before the network heard of it
        let (environment, intent) = try await Self.authorized(dyingAt: .afterCaptureNetwork)
        try await environment.database.write { tx in
            guard var current = try tx.paymentIntent(intent.id) else { return }
            current.settling = .capture(
                amount: 1_000,
                reference: "req_never_sent",
                at: environment.clock.now,
                metadata: nil,
                statementDescriptor: nil,
                statementDescriptorSuffix: nil
            )
            _ = try tx.update(current, expecting: .requiresCapture)
        }
        // When the sweeper comes by, then the capture the merchant asked for is made and recorded
        _ = try await Sweeper(context: environment.context)
            .sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        let captured = try await environment.intents.retrieve(intent.id)
        #expect(captured.status == .succeeded && captured.amountReceived == 1_000)
        // And a capture by another request now is refused, the network holding the first
        await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
    }
}
