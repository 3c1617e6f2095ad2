import PaymentsCore
import Testing

@Suite("3-D Secure policy")
struct ThreeDSecurePolicyTests {
    /// What a row expects: the decision, with declines compared by code.
    enum Expected: Equatable, Sendable {
        case proceed
        case challenge
        case decline(String)
    }

    /// One row of the decision table.
    struct Row: Sendable, CustomTestStringConvertible {
        var behavior: ThreeDSecureBehavior
        var offSession: Bool
        var offSessionReady: Bool
        var authenticated: Bool
        var expected: Expected

        var testDescription: String {
            "\(behavior) off=\(offSession) ready=\(offSessionReady) auth=\(authenticated) → \(expected)"
        }
    }

    static let rows: [Row] = [
        // Not enrolled, or cannot do 3-D Secure: never asks.
        Row(
            behavior: .notSupported,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .proceed
        ),
        Row(
            behavior: .notSupported,
            offSession: true,
            offSessionReady: false,
            authenticated: false,
            expected: .proceed
        ),
        Row(
            behavior: .supportedNotRequired,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .proceed
        ),
        Row(
            behavior: .supportedNotRequired,
            offSession: true,
            offSessionReady: false,
            authenticated: false,
            expected: .proceed
        ),
        // 4000002500003155: challenge on-session (even once set up), off-session only once set up.
        Row(
            behavior: .requiredUnlessSetUp,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .challenge
        ),
        Row(
            behavior: .requiredUnlessSetUp,
            offSession: false,
            offSessionReady: true,
            authenticated: false,
            expected: .challenge
        ),
        Row(
            behavior: .requiredUnlessSetUp,
            offSession: true,
            offSessionReady: false,
            authenticated: false,
            expected: .decline("authentication_required")
        ),
        Row(
            behavior: .requiredUnlessSetUp,
            offSession: true,
            offSessionReady: true,
            authenticated: false,
            expected: .proceed
        ),
        Row(
            behavior: .requiredUnlessSetUp,
            offSession: false,
            offSessionReady: false,
            authenticated: true,
            expected: .proceed
        ),
        // 4000002760003184: every on-session payment challenges, off-session always fails.
        Row(
            behavior: .alwaysRequired,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .challenge
        ),
        Row(
            behavior: .alwaysRequired,
            offSession: false,
            offSessionReady: true,
            authenticated: false,
            expected: .challenge
        ),
        Row(
            behavior: .alwaysRequired,
            offSession: true,
            offSessionReady: false,
            authenticated: false,
            expected: .decline("authentication_required")
        ),
        Row(
            behavior: .alwaysRequired,
            offSession: true,
            offSessionReady: true,
            authenticated: false,
            expected: .decline("authentication_required")
        ),
        Row(
            behavior: .alwaysRequired,
            offSession: false,
            offSessionReady: false,
            authenticated: true,
            expected: .proceed
        ),
        // 4000003800000446: challenges on-session, proceeds off-session as if set up.
        Row(
            behavior: .requiredSetUpForOffSession,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .challenge
        ),
        Row(
            behavior: .requiredSetUpForOffSession,
            offSession: true,
            offSessionReady: false,
            authenticated: false,
            expected: .proceed
        ),
        // 4000008400001280: the lookup fails before any challenge.
        Row(
            behavior: .lookupFails,
            offSession: false,
            offSessionReady: false,
            authenticated: false,
            expected: .decline("card_declined")
        ),
        Row(
            behavior: .lookupFails,
            offSession: true,
            offSessionReady: true,
            authenticated: false,
            expected: .decline("card_declined")
        ),
    ]

    @Test("Decision table", arguments: rows)
    func decide(row: Row) {
        // When
        let decision = ThreeDSecurePolicy.decide(
            row.behavior,
            offSession: row.offSession,
            offSessionReady: row.offSessionReady,
            authenticated: row.authenticated
        )
        // Then
        let actual: Expected =
            switch decision {
            case .proceed: .proceed
            case .challenge: .challenge
            case .decline(let decline): .decline(decline.code)
            }
        #expect(actual == row.expected)
    }

    @Test("The off-session decline is Stripe's authentication_required")
    func authenticationRequiredDecline() {
        // When
        let decision = ThreeDSecurePolicy.decide(
            .alwaysRequired,
            offSession: true,
            offSessionReady: false,
            authenticated: false
        )
        // Then
        guard case .decline(let decline) = decision else {
            Issue.record("expected a decline, got \(decision)")
            return
        }
        #expect(decline.declineCode == "authentication_required")
        #expect(decline == TestCards.authenticationRequiredDecline)
    }

    @Test("The lookup failure declines generic_decline")
    func lookupFailure() {
        let decision = ThreeDSecurePolicy.decide(
            .lookupFails,
            offSession: false,
            offSessionReady: false,
            authenticated: false
        )
        #expect(decision == .decline(.genericDecline))
    }

    @Test(
        "The seed's cards take the policy the reference gives them",
        arguments: [
            ("4242424242424242", Expected.proceed, Expected.proceed),
            ("4000002500003155", .challenge, .decline("authentication_required")),
            ("4000002760003184", .challenge, .decline("authentication_required")),
            ("4000003800000446", .challenge, .proceed),
            ("378282246310005", .proceed, .proceed),
        ]
    )
    func seedCards(number: String, onSession: Expected, offSession: Expected) throws {
        // Given the card's enrolment from the test-card table
        let card = try #require(TestCards.card(forNumber: number))
        // When / Then, for a card never set up
        for (off, expected) in [(false, onSession), (true, offSession)] {
            let decision = ThreeDSecurePolicy.decide(
                card.threeDSecure,
                offSession: off,
                offSessionReady: false,
                authenticated: false
            )
            let actual: Expected =
                switch decision {
                case .proceed: .proceed
                case .challenge: .challenge
                case .decline(let decline): .decline(decline.code)
                }
            #expect(actual == expected, "\(number) off-session: \(off)")
        }
    }
}
