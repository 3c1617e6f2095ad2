import Payments
import PaymentsCore
import PaymentsNetwork
import TestSupport
import Testing

/// A network other than the test-mode one: it takes a card the test-card table does not know, and asks for 3-D
/// Secure on every payment. The use cases follow what the network says, not a test-card table of their own.
struct StrictAcquirer: CardNetwork {
    let ledger: TestModeCardNetwork
    /// The one card this acquirer knows (not a Stripe test card).
    static let card = "4111111111111111"

    func lookUp(_ card: CardNumber) -> CardLookup {
        guard card.digits == Self.card else {
            return .refused(CardDecline(code: "card_declined", declineCode: "generic_decline", message: "Unknown."))
        }
        return .known(CardProfile(brand: .visa, funding: .debit, country: "FR", threeDSecure: .alwaysRequired))
    }

    func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? { nil }

    func testCardNumber(forPaymentMethodID id: String) -> String? { nil }

    func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
        .approved(authorizationCode: "000001")
    }

    func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
        NetworkCapture(amount: amount, reference: reference)
    }

    func void(attemptID: String) async throws -> Bool { true }

    func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
        RefundResult(status: .succeeded)
    }
}

@Suite("The card network is the only source of card behaviour")
struct AcquirerSeamTests {
    @Test("Card metadata, live-card refusal, 3-D Secure and magic ids all come from the network")
    func useCasesFollowTheNetwork() async throws {
        // Given an acquirer that knows 4111… as a French debit card that always asks for 3-D Secure
        let folder = try TestPaths.temporaryFolder()
        let ledger = try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("ledger.sqlite").path)
        let environment = try TestEnvironment(network: StrictAcquirer(ledger: ledger))
        // When a payment method is made from it, then it carries the network's metadata
        let card = try await environment.card(StrictAcquirer.card)
        #expect(card.brand == "visa" && card.funding == "debit" && card.country == "FR")
        // And a payment with it asks for authentication, as the network says (the test table would not)
        let intent = try await environment.pay(card.id)
        #expect(intent.status == .requiresAction)
        // And a Stripe test card, which this acquirer does not know, is refused; magic ids mean nothing to it
        await #expect(throws: PaymentError.self) { try await environment.card("4242424242424242") }
        let magic = await #expect(throws: PaymentError.self) {
            try await environment.paymentMethods.resolve("pm_card_visa", param: "payment_method")
        }
        #expect(magic?.code == "resource_missing")
    }
}
