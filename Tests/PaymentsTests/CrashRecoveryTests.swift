import Foundation
import Payments
import PaymentsCore
import PaymentsNetwork
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// A card network that makes the first authorization "crash" the caller: the request reaches the real ledger
/// (or not, for `.beforeNetwork`) and then the call throws, as if our process died there. Later calls pass.
final class CrashingNetwork: CardNetwork {
    /// Where the simulated crash happens.
    enum Moment: Sendable {
        /// After the network recorded (and answered) the authorization.
        case afterNetwork
        /// Before the request left our process.
        case beforeNetwork
    }

    /// Thrown in place of the network's answer.
    struct SimulatedCrash: Error {}

    let ledger: TestModeCardNetwork
    let moment: Moment
    private let armed = Mutex(true)
    private let calls = Mutex(0)

    init(ledger: TestModeCardNetwork, moment: Moment) {
        self.ledger = ledger
        self.moment = moment
    }

    /// How many times `authorize` was called.
    var authorizeCalls: Int { calls.withLock { $0 } }

    func lookUp(_ card: CardNumber) -> CardLookup { ledger.lookUp(card) }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
        ledger.attachDecline(card, cvcProvided: cvcProvided)
    }

    func testCardNumber(forPaymentMethodID id: String) -> String? { ledger.testCardNumber(forPaymentMethodID: id) }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        calls.withLock { $0 += 1 }
        let crash = armed.withLock { armed in
            defer { armed = false }
            return armed
        }
        if crash && moment == .beforeNetwork { throw SimulatedCrash() }
        let result = try await ledger.authorize(request)
        if crash { throw SimulatedCrash() }
        return result
    }

    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        try await ledger.capture(attemptID: attemptID, amount: amount, reference: reference)
    }

    func void(attemptID: String) async throws -> Bool {
        try await ledger.void(attemptID: attemptID)
    }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        try await ledger.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
    }
}

@Suite("Crash recovery")
struct CrashRecoveryTests {
    /// An environment whose network crashes the first authorization at `moment`.
    static func crashingEnvironment(_ moment: CrashingNetwork.Moment) throws -> (TestEnvironment, CrashingNetwork) {
        let ledgerPath = try TestPaths.temporaryFolder().appendingPathComponent("ledger.sqlite").path
        let network = CrashingNetwork(ledger: try TestModeCardNetwork(ledgerPath: ledgerPath), moment: moment)
        return (try TestEnvironment(network: network), network)
    }

    /// Pays with `number` and expects the simulated crash; returns the intent left behind.
    /// - Parameter namingCard: whether the confirm names the card (else the intent is created with it).
    static func crash(
        _ environment: TestEnvironment,
        number: String = "4242424242424242",
        namingCard: Bool = false
    ) async throws -> PaymentIntent {
        let card = try await environment.card(number)
        let created = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: namingCard ? nil : card.id)
        )
        // The use case sees the crash as a network that did not answer: a transient failure, resumable.
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(created.id, .init(paymentMethod: namingCard ? card.id : nil))
        }
        #expect(error?.isTransient == true)
        return try await environment.intents.retrieve(created.id)
    }

    @Test("Dying after the network answered leaves processing + a pending charge; recover settles it, charged once")
    func afterNetwork() async throws {
        // Given a confirm that died after the network approved
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment)
        // Then the intent is in flight with a pending charge, and the network did charge
        #expect(left.status == .processing)
        let chargeID = try #require(left.latestCharge)
        #expect(try await environment.charge(chargeID)?.status == .pending)
        #expect(try network.ledger.approvedCount() == 1)
        // When recovery looks for orphans and settles them
        let orphans = try await environment.intents.orphanedAttempts()
        #expect(orphans == [chargeID])
        let (settled, error) = try await environment.intents.recover(charge: chargeID)
        // Then the outcome is recorded without a second charge
        #expect(error == nil)
        #expect(settled.status == .succeeded)
        #expect(settled.amountReceived == 2_000)
        #expect(settled.latestCharge == chargeID)
        #expect(try await environment.charge(chargeID)?.status == .succeeded)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(network.authorizeCalls == 2)
        #expect(try await environment.intents.orphanedAttempts().isEmpty)
        // And recovering again changes nothing
        let (again, _) = try await environment.intents.recover(charge: chargeID)
        #expect(again.status == .succeeded)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(network.authorizeCalls == 2)
    }

    @Test("Dying before the request left: recovery authorizes once")
    func beforeNetwork() async throws {
        // Given a confirm that died before asking the network
        let (environment, network) = try Self.crashingEnvironment(.beforeNetwork)
        let left = try await Self.crash(environment)
        #expect(left.status == .processing)
        #expect(try network.ledger.approvedCount() == 0)
        // When
        let chargeID = try #require(left.latestCharge)
        #expect(try await environment.intents.orphanedAttempts() == [chargeID])
        let (settled, _) = try await environment.intents.recover(charge: chargeID)
        // Then
        #expect(settled.status == .succeeded)
        #expect(try network.ledger.approvedCount() == 1)
    }

    @Test("A confirm of an intent left processing settles the orphaned attempt instead of charging anew")
    func confirmRecovers() async throws {
        // Given
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment)
        // When the client retries its confirm
        let confirmed = try await environment.intents.confirm(left.id, .init())
        // Then the same attempt is completed
        #expect(confirmed.status == .succeeded)
        #expect(confirmed.latestCharge == left.latestCharge)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try environment.count("charges") == 1)
    }

    @Test(
        "A confirm asking other than the attempt in flight settles that attempt and is refused as a race's loser",
        arguments: [
            ConfirmCase.anotherCard, .anotherReceiptEmail, .anotherCaptureMethod,
        ]
    )
    func confirmWithOtherParametersRefused(_ other: ConfirmCase) async throws {
        // Given an attempt in flight with 4242, left by a crash (or begun by another process)
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment)
        var input = PaymentIntents.ConfirmInput()
        switch other {
        case .anotherCard: input.paymentMethod = try await environment.card("5555555555554444").id
        case .anotherReceiptEmail: input.receiptEmail = "other@example.com"
        case .anotherCaptureMethod: input.captureMethod = .manual
        }
        // When a confirm asks for something else meanwhile
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(left.id, input)
        }
        // Then it is refused as the loser of a race in one process is: the attempt was not its own (it answered
        // that attempt's outcome, a 200 for a card it never sent)
        #expect(error?.code == "payment_intent_unexpected_state", "\(String(describing: error))")
        #expect(error?.message.contains("confirmed by another request") == true, "\(String(describing: error))")
        // And the attempt in flight was settled all the same, as its own request asked, charged once
        let settled = try await environment.intents.retrieve(left.id)
        #expect(settled.status == .succeeded)
        #expect(settled.latestCharge == left.latestCharge)
        #expect(settled.receiptEmail == nil && settled.captureMethod == .automatic)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try environment.count("charges") == 1)
    }

    enum ConfirmCase: String, CustomTestStringConvertible, Sendable {
        case anotherCard, anotherReceiptEmail, anotherCaptureMethod
        var testDescription: String { rawValue }
    }

    @Test("A confirm naming no card is not the retry of an attempt whose request named one: it is refused")
    func confirmWithoutCardAfterOneNamed() async throws {
        // Given an attempt in flight whose confirm named its card (the intent holds that card since its phase one)
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment, namingCard: true)
        let attempt = try #require(left.latestCharge)
        #expect(try await environment.charge(attempt)?.namedPaymentMethod == true)
        // When a confirm naming no card comes meanwhile (from another process, racing it)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.confirm(left.id, .init())
        }
        // Then it is refused as the race's loser (it answered the other request's card as its own), and the attempt
        // is settled all the same, charged once
        #expect(error?.code == "payment_intent_unexpected_state", "\(String(describing: error))")
        #expect(error?.message.contains("confirmed by another request") == true, "\(String(describing: error))")
        let settled = try await environment.intents.retrieve(left.id)
        #expect(settled.status == .succeeded && settled.latestCharge == left.latestCharge)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try environment.count("charges") == 1)
    }

    @Test("The retry of a confirm that named its card names it again: it answers the attempt's outcome")
    func confirmNamingTheCardAgain() async throws {
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment, namingCard: true)
        let confirmed = try await environment.intents.confirm(left.id, .init(paymentMethod: left.paymentMethod))
        #expect(confirmed.status == .succeeded)
        #expect(confirmed.latestCharge == left.latestCharge)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try environment.count("charges") == 1)
    }

    @Test("A confirm naming the attempt's card by its test id is the same request: it answers the attempt's outcome")
    func confirmWithTheSameCardByTestID() async throws {
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment)
        let confirmed = try await environment.intents.confirm(left.id, .init(paymentMethod: "pm_card_visa"))
        #expect(confirmed.status == .succeeded)
        #expect(confirmed.latestCharge == left.latestCharge)
        #expect(try network.ledger.approvedCount() == 1)
        #expect(try environment.count("payment_methods") == 1)
    }

    @Test("A decline recovered after a crash is reported as the card error it was")
    func declineRecovered() async throws {
        // Given a declined authorization whose answer was lost
        let (environment, network) = try Self.crashingEnvironment(.afterNetwork)
        let left = try await Self.crash(environment, number: "4000000000009995")
        let chargeID = try #require(left.latestCharge)
        // When
        let (settled, error) = try await environment.intents.recover(charge: chargeID)
        // Then
        #expect(settled.status == .requiresPaymentMethod)
        #expect(settled.lastPaymentError?.declineCode == "insufficient_funds")
        #expect(error?.status == 402)
        #expect(error?.declineCode == "insufficient_funds")
        #expect(try await environment.charge(chargeID)?.status == .failed)
        #expect(try network.ledger.approvedCount() == 0)
    }
}
