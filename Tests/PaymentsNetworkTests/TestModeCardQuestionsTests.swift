import PaymentsCore
import PaymentsNetwork
import TestSupport
import Testing

/// The questions the use cases ask the network about a card before any payment, answered by the test-mode network
/// from Stripe's test-card table.
@Suite("Test-mode card network: card questions")
struct TestModeCardQuestionsTests {
    static func network() throws -> TestModeCardNetwork {
        try TestModeCardNetwork(
            ledgerPath: try TestPaths.temporaryFolder().appendingPathComponent("card-network.sqlite").path
        )
    }

    @Test("A test card is known with its brand, funding, country and 3-D Secure behaviour")
    func knownCards() throws {
        let network = try Self.network()
        let visa = network.lookUp(try CardNumber(parsing: "4242424242424242"))
        #expect(
            visa
                == .known(
                    CardProfile(brand: .visa, funding: .credit, country: "US", threeDSecure: .supportedNotRequired)
                )
        )
        guard case .known(let always) = network.lookUp(try CardNumber(parsing: "4000002760003184")) else {
            Issue.record("3184 is a test card")
            return
        }
        #expect(always.threeDSecure == .alwaysRequired)
    }

    @Test("A real card number is refused as Stripe's test mode refuses live cards")
    func liveCardsRefused() throws {
        guard case .refused(let decline) = try Self.network().lookUp(try CardNumber(parsing: "4111111111111111"))
        else {
            Issue.record("a live number was taken")
            return
        }
        #expect(decline.declineCode == "test_mode_live_card")
    }

    @Test("Attach-time declines: decline cards refuse, 0341 attaches, incorrect_cvc refuses only with a CVC")
    func attachDeclines() throws {
        let network = try Self.network()
        #expect(network.attachDecline(try CardNumber(parsing: "4242424242424242"), cvcProvided: true) == nil)
        #expect(
            network.attachDecline(try CardNumber(parsing: "4000000000009995"), cvcProvided: true)?.declineCode
                == "insufficient_funds"
        )
        #expect(network.attachDecline(try CardNumber(parsing: "4000000000000341"), cvcProvided: true) == nil)
        #expect(
            network.attachDecline(try CardNumber(parsing: "4000000000000127"), cvcProvided: true)?.code
                == "incorrect_cvc"
        )
        #expect(network.attachDecline(try CardNumber(parsing: "4000000000000127"), cvcProvided: false) == nil)
    }

    @Test("Magic PaymentMethod ids stand for their cards; other ids for none")
    func magicIDs() throws {
        let network = try Self.network()
        #expect(network.testCardNumber(forPaymentMethodID: "pm_card_visa") == "4242424242424242")
        #expect(network.testCardNumber(forPaymentMethodID: "pm_card_authenticationRequired") == "4000002760003184")
        #expect(network.testCardNumber(forPaymentMethodID: "pm_1234567890") == nil)
    }
}
