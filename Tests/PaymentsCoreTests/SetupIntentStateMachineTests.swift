import PaymentsCore
import Testing

@Suite("SetupIntent state machine")
struct SetupIntentStateMachineTests {
    typealias Operation = SetupIntentStateMachine.Operation

    /// The time every `apply` in this suite happens at.
    static let now: Int64 = 1_767_225_600

    /// Which statuses each operation is allowed from, written out independently of the source's table (Stripe's
    /// SetupIntent lifecycle: only an unfinished setup may be confirmed, updated or canceled).
    static let expectedAllowed: [Operation: Set<SetupIntentStatus>] = [
        .confirm: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction],
        .cancel: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction],
        .updatePaymentDetails: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction],
        .updateBookkeeping: Set(SetupIntentStatus.allCases),
        .authenticate: [.requiresAction],
        .expireAttempt: [.requiresAction],
    ]

    /// A setup intent with a payment method, forced into `status`.
    static func setup(_ status: SetupIntentStatus) -> SetupIntent {
        var setup = SetupIntent(
            id: "seti_test",
            created: now - 60,
            clientSecret: "seti_test_secret_test",
            customer: "cus_test",
            paymentMethod: "pm_test"
        )
        setup.status = status
        if status == .requiresAction {
            setup.authenticationToken = "token"
            setup.attemptExpiresAt = now + 3_600
            setup.latestAttempt = "setatt_1"
        }
        return setup
    }

    /// The event that carries out `operation`, or nil for the updates (checked with `check` only).
    static func event(for operation: Operation) -> SetupIntentEvent? {
        switch operation {
        case .confirm: .setUp(paymentMethod: "pm_new", attempt: "setatt_2")
        case .cancel: .canceled(.requestedByCustomer)
        case .authenticate: .authenticationFailed
        case .expireAttempt: .attemptExpired
        case .updatePaymentDetails, .updateBookkeeping: nil
        }
    }

    @Test(
        "Every operation from every status: allowed moves succeed, the rest are setup_intent_unexpected_state",
        arguments: Operation.allCases,
        SetupIntentStatus.allCases
    )
    func transition(operation: Operation, status: SetupIntentStatus) {
        let expected = Self.expectedAllowed[operation] ?? []
        let setup = Self.setup(status)
        // Then the source's table agrees with ours
        #expect(SetupIntentStateMachine.allowedStatuses(for: operation) == expected)
        // When the operation is attempted (through its event where it has one)
        let attempt: () throws(PaymentError) -> Void = {
            if let event = Self.event(for: operation) {
                _ = try setup.apply(event, now: Self.now)
            } else {
                try SetupIntentStateMachine.check(operation, on: setup)
            }
        }
        do {
            try attempt()
            #expect(expected.contains(status), "\(operation) from \(status) should have thrown")
        } catch {
            // Then a refusal is Stripe's 400 naming the setup intent
            #expect(!expected.contains(status), "\(operation) from \(status) threw \(error.code ?? "")")
            #expect(error.code == "setup_intent_unexpected_state")
            #expect(error.status == 400)
            #expect(error.setupIntent == "seti_test")
            #expect(error.paymentIntent == nil)
        }
    }

    @Test("Confirming a succeeded setup says it already succeeded; other refusals name the allowed statuses")
    func messages() {
        let succeeded = SetupIntentStateMachine.unexpectedState(.confirm, setup: Self.setup(.succeeded))
        let canceled = SetupIntentStateMachine.unexpectedState(.cancel, setup: Self.setup(.canceled))
        #expect(succeeded.message.contains("already succeeded"))
        #expect(canceled.message.contains("status of canceled"))
        #expect(canceled.message.contains("requires_payment_method, requires_confirmation, requires_action"))
    }

    // MARK: - Each event's result

    @Test("actionRequired waits for the customer's challenge with the attempt's token and due time")
    func actionRequired() throws {
        let next = try Self.setup(.requiresConfirmation).apply(
            .actionRequired(
                paymentMethod: "pm_3ds",
                attempt: "setatt_1",
                token: "tok",
                returnURL: "https://shop.example/back",
                expiresAt: Self.now + 3_600
            ),
            now: Self.now
        )
        #expect(next.status == .requiresAction)
        #expect(next.paymentMethod == "pm_3ds")
        #expect(next.latestAttempt == "setatt_1")
        #expect(next.authenticationToken == "tok")
        #expect(next.returnURL == "https://shop.example/back")
        #expect(next.attemptExpiresAt == Self.now + 3_600)
        #expect(!next.attemptIsDue(now: Self.now + 3_599))
        #expect(next.attemptIsDue(now: Self.now + 3_600))
    }

    @Test("setUp succeeds, clears the challenge and any earlier error, and records when")
    func setUp() throws {
        var setup = Self.setup(.requiresAction)
        setup.lastSetupError = .setupAuthenticationFailure(paymentMethod: "pm_old")
        let next = try setup.apply(.setUp(paymentMethod: "pm_test", attempt: "setatt_1"), now: Self.now)
        #expect(next.status == .succeeded)
        #expect(next.succeededAt == Self.now)
        #expect(next.authenticationToken == nil && next.attemptExpiresAt == nil && next.lastSetupError == nil)
        #expect(!next.attemptIsDue(now: .max))
    }

    @Test(
        "A failed attempt goes back to requires_payment_method, the card only in last_setup_error",
        arguments: [
            (SetupIntentEvent.authenticationFailed, "setup_intent_authentication_failure"),
            (.attemptExpired, "setup_intent_setup_attempt_expired"),
            (
                .attemptFailed(
                    LastPaymentError(
                        type: .card,
                        code: "card_declined",
                        declineCode: "generic_decline",
                        message: "Your card was declined.",
                        paymentMethod: "pm_test"
                    ),
                    attempt: "setatt_1"
                ),
                "card_declined"
            ),
        ]
    )
    func failures(event: SetupIntentEvent, code: String) throws {
        let next = try Self.setup(.requiresAction).apply(event, now: Self.now)
        #expect(next.status == .requiresPaymentMethod)
        #expect(next.paymentMethod == nil)
        #expect(next.lastSetupError?.code == code)
        #expect(next.lastSetupError?.paymentMethod == "pm_test")
        #expect(next.authenticationToken == nil && next.attemptExpiresAt == nil)
    }

    @Test("canceled records the reason and the time")
    func canceled() throws {
        let next = try Self.setup(.requiresAction).apply(.canceled(.duplicate), now: Self.now)
        #expect(next.status == .canceled)
        #expect(next.cancellationReason == .duplicate)
        #expect(next.canceledAt == Self.now)
        #expect(next.authenticationToken == nil)
    }

    @Test("Before API version 2019-02-11 two statuses had other names")
    func legacyNames() {
        #expect(SetupIntentStatus.requiresPaymentMethod.legacyName == "requires_source")
        #expect(SetupIntentStatus.requiresAction.legacyName == "requires_source_action")
        #expect(SetupIntentStatus.succeeded.legacyName == "succeeded")
    }

    @Test("A new setup intent waits for a payment method, or for a confirm when it has one")
    func initialStatus() {
        #expect(SetupIntent(id: "seti_a", created: 0, clientSecret: "s").status == .requiresPaymentMethod)
        let withCard = SetupIntent(id: "seti_b", created: 0, clientSecret: "s", paymentMethod: "pm_x")
        #expect(withCard.status == .requiresConfirmation)
        #expect(withCard.usage == .offSession)
    }
}
