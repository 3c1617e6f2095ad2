import PaymentsCore
import Testing

@Suite("PaymentIntent state machine")
struct PaymentIntentStateMachineTests {
    typealias Operation = PaymentIntentStateMachine.Operation

    /// The time every `apply` in this suite happens at.
    static let now: Int64 = 1_767_225_600

    /// The whole truth about transitions, written out independently of the source's table: which statuses each
    /// operation is allowed from (Stripe's lifecycle, `stripe-semantics.md` §3, plus our internal operations).
    static let expectedAllowed: [Operation: Set<PaymentIntentStatus>] = [
        .confirm: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction],
        .capture: [.requiresCapture],
        .cancel: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction, .requiresCapture],
        .updatePaymentDetails: [.requiresPaymentMethod, .requiresConfirmation, .requiresAction],
        .updateBookkeeping: Set(PaymentIntentStatus.allCases),
        .authenticate: [.requiresAction],
        .expireAttempt: [.requiresAction, .requiresConfirmation],
        .expireAuthorization: [.requiresCapture],
        .recordAuthorization: [.processing],
    ]

    /// An intent of 20.00 USD with a payment method, forced into `status`.
    static func intent(
        _ status: PaymentIntentStatus,
        captureMethod: CaptureMethod = .automatic,
        confirmationMethod: ConfirmationMethod = .automatic
    ) -> PaymentIntent {
        var intent = PaymentIntent(
            id: "pi_test",
            created: now - 60,
            amount: 2_000,
            currency: "usd",
            captureMethod: captureMethod,
            confirmationMethod: confirmationMethod,
            clientSecret: "pi_test_secret_test",
            paymentMethod: "pm_test"
        )
        intent.status = status
        if status == .requiresCapture { intent.amountCapturable = 2_000 }
        if status == .requiresAction {
            intent.authenticationToken = "token"
            intent.attemptExpiresAt = now + 3_600
        }
        return intent
    }

    /// The event that carries out `operation`, or nil for the updates (which change fields, not status, and are
    /// checked with `check` only).
    static func event(for operation: Operation) -> PaymentIntentEvent? {
        switch operation {
        case .confirm: .authorizationStarted(charge: "ch_new", paymentMethod: "pm_new", offSession: true)
        case .capture: .captured(amount: 1_500)
        case .cancel: .canceled(.requestedByCustomer)
        case .authenticate: .authenticationSucceeded
        case .expireAttempt: .attemptExpired
        case .expireAuthorization: .canceled(.automatic)
        case .recordAuthorization: .authorizationApproved
        case .updatePaymentDetails, .updateBookkeeping: nil
        }
    }

    // MARK: - The table

    @Test(
        "Every operation from every status: allowed moves succeed, the rest are payment_intent_unexpected_state",
        arguments: Operation.allCases,
        PaymentIntentStatus.allCases
    )
    func transition(operation: Operation, status: PaymentIntentStatus) {
        check(operation, from: status)
    }

    /// Checks one cell of the table.
    func check(_ operation: Operation, from status: PaymentIntentStatus) {
        let expected = Self.expectedAllowed[operation] ?? []
        let intent = Self.intent(status)
        // Then the source's table agrees with ours
        #expect(
            PaymentIntentStateMachine.allowedStatuses(for: operation).contains(status) == expected.contains(status),
            "\(operation) from \(status)"
        )
        // When the operation is attempted (through its event where it has one)
        let attempt: () throws(PaymentError) -> PaymentIntent? = {
            if let event = Self.event(for: operation) {
                return try intent.apply(event, now: Self.now)
            }
            try PaymentIntentStateMachine.check(operation, on: intent)
            return nil
        }
        if expected.contains(status) {
            // Then an allowed move succeeds with the right resulting fields
            do {
                let next = try attempt()
                if let next { verifyResult(of: operation, from: intent, to: next) }
            } catch {
                Issue.record("\(operation) from \(status) threw \(error.code ?? "")")
            }
        } else {
            // Then anything else is Stripe's 400 naming the intent
            do {
                _ = try attempt()
                Issue.record("\(operation) from \(status) should have thrown")
            } catch {
                verifyUnexpectedState(error, operation: operation, status: status)
            }
        }
    }

    /// Checks the fields an allowed operation's event sets.
    func verifyResult(of operation: Operation, from intent: PaymentIntent, to next: PaymentIntent) {
        switch operation {
        case .confirm:
            #expect(next.status == .processing)
            #expect(next.paymentMethod == "pm_new")
            #expect(next.latestCharge == "ch_new")
            #expect(next.offSession)
            #expect(next.lastPaymentError == nil)
            #expect(next.authenticationToken == nil)
            #expect(next.attemptExpiresAt == nil)
        case .capture:
            #expect(next.status == .succeeded)
            #expect(next.amountReceived == 1_500)
            #expect(next.amountCapturable == 0)
            #expect(next.succeededAt == Self.now)
        case .cancel:
            #expect(next.status == .canceled)
            #expect(next.canceledAt == Self.now)
            #expect(next.cancellationReason == .requestedByCustomer)
            #expect(next.amountCapturable == 0)
            #expect(next.authenticationToken == nil)
        case .authenticate:
            // Automatic confirmation: the caller authorizes from here, so the status does not move yet.
            #expect(next.status == .requiresAction)
            #expect(next.authenticatedPaymentMethod == intent.paymentMethod)
            #expect(next.authenticationToken == nil)
        case .expireAttempt:
            #expect(next.status == .requiresPaymentMethod)
            #expect(next.lastPaymentError?.code == "payment_intent_payment_attempt_expired")
            #expect(next.lastPaymentError?.paymentMethod == intent.paymentMethod)
            #expect(next.paymentMethod == nil)
            #expect(next.attemptExpiresAt == nil)
        case .expireAuthorization:
            #expect(next.status == .canceled)
            #expect(next.cancellationReason == .automatic)
            #expect(next.canceledAt == Self.now)
            #expect(next.amountCapturable == 0)
        case .recordAuthorization:
            #expect(next.status == .succeeded)
            #expect(next.amountReceived == intent.amount)
            #expect(next.succeededAt == Self.now)
            #expect(next.authorizedAt == Self.now)
        case .updatePaymentDetails, .updateBookkeeping:
            Issue.record("updates have no event")
        }
    }

    /// Checks a refusal: code, status, type, the intent named, and Stripe's wording for confirm/capture/cancel.
    func verifyUnexpectedState(_ error: PaymentError, operation: Operation, status: PaymentIntentStatus) {
        #expect(error.code == "payment_intent_unexpected_state", "\(operation) from \(status)")
        #expect(error.status == 400)
        #expect(error.kind == .invalidRequest)
        #expect(error.paymentIntent == "pi_test")
        let name = status.rawValue
        switch operation {
        case .confirm where status == .succeeded:
            #expect(error.message.hasPrefix("You cannot confirm this PaymentIntent because it has already succeeded"))
        case .confirm:
            #expect(
                error.message.hasPrefix("You cannot confirm this PaymentIntent because it has a status of \(name).")
            )
            #expect(error.message.hasSuffix("requires_confirmation, requires_payment_method, requires_action."))
        case .capture, .expireAuthorization:
            #expect(
                error.message.hasPrefix("This PaymentIntent could not be captured because it has a status of \(name).")
            )
            #expect(error.message.hasSuffix("may be captured: requires_capture."))
        case .cancel:
            #expect(error.message.hasPrefix("You cannot cancel this PaymentIntent because it has a status of \(name)."))
        default:
            #expect(error.message.contains(name))
        }
    }

    @Test("Each event belongs to its operation")
    func eventOperations() {
        let failure = LastPaymentError(type: .card, code: "card_declined", message: "Declined.", paymentMethod: nil)
        let rows: [(PaymentIntentEvent, Operation)] = [
            (.authorizationStarted(charge: "ch_1", paymentMethod: "pm_1", offSession: false), .confirm),
            (.actionRequired(paymentMethod: "pm_1", token: "t", returnURL: nil, expiresAt: 1), .confirm),
            (.attemptFailed(failure), .confirm),
            (.authorizationApproved, .recordAuthorization),
            (.authenticationSucceeded, .authenticate),
            (.authenticationFailed, .authenticate),
            (.attemptExpired, .expireAttempt),
            (.captured(amount: 1), .capture),
            (.canceled(nil), .cancel),
            (.canceled(.duplicate), .cancel),
            (.canceled(.automatic), .expireAuthorization),
        ]
        for (event, operation) in rows {
            #expect(event.operation == operation, "\(event)")
        }
    }

    // MARK: - Events

    @Test("A new intent starts in requires_payment_method without a payment method, requires_confirmation with one")
    func initialStatus() {
        // Given / When
        let bare = PaymentIntent(id: "pi_a", created: 1, amount: 100, currency: "usd", clientSecret: "s")
        let withMethod = PaymentIntent(
            id: "pi_b",
            created: 1,
            amount: 100,
            currency: "usd",
            clientSecret: "s",
            paymentMethod: "pm_1"
        )
        // Then
        #expect(bare.status == .requiresPaymentMethod)
        #expect(withMethod.status == .requiresConfirmation)
        #expect(bare.amountReceived == 0 && bare.amountCapturable == 0)
    }

    @Test("An approved authorization with capture_method=manual holds the amount in requires_capture")
    func approvedManualCapture() throws {
        // Given an authorization in flight on a manual-capture intent
        let intent = Self.intent(.processing, captureMethod: .manual)
        // When the network approves
        let next = try intent.apply(.authorizationApproved, now: Self.now)
        // Then the amount is capturable, not received
        #expect(next.status == .requiresCapture)
        #expect(next.amountCapturable == 2_000)
        #expect(next.amountReceived == 0)
        #expect(next.authorizedAt == Self.now)
        #expect(next.succeededAt == nil)
    }

    @Test("An approved authorization with automatic capture succeeds with amount_received")
    func approvedAutomaticCapture() throws {
        // Given an authorization in flight
        let intent = Self.intent(.processing)
        // When the network approves
        let next = try intent.apply(.authorizationApproved, now: Self.now)
        // Then
        #expect(next.status == .succeeded)
        #expect(next.amountReceived == 2_000)
        #expect(next.amountCapturable == 0)
        #expect(next.succeededAt == Self.now)
    }

    @Test(
        "A failed attempt clears payment_method and records last_payment_error",
        arguments: [
            PaymentIntentStatus.processing, .requiresPaymentMethod, .requiresConfirmation, .requiresAction,
        ]
    )
    func attemptFailed(from status: PaymentIntentStatus) throws {
        // Given an intent whose attempt is about to fail
        var intent = Self.intent(status)
        intent.offSession = true
        intent.authenticatedPaymentMethod = "pm_test"
        let failure = LastPaymentError(
            type: .card,
            code: "card_declined",
            declineCode: "insufficient_funds",
            message: "Your card has insufficient funds.",
            paymentMethod: "pm_test",
            charge: "ch_1"
        )
        // When
        let next = try intent.apply(.attemptFailed(failure), now: Self.now)
        // Then
        #expect(next.status == .requiresPaymentMethod)
        #expect(next.paymentMethod == nil)
        #expect(next.lastPaymentError == failure)
        #expect(next.authenticatedPaymentMethod == nil)
        #expect(next.authenticationToken == nil)
        #expect(next.attemptExpiresAt == nil)
        #expect(!next.offSession)
    }

    @Test("A failed attempt cannot land on a finished intent", arguments: [PaymentIntentStatus.succeeded, .canceled])
    func attemptFailedOnFinalIntent(status: PaymentIntentStatus) {
        // Given a final intent
        let intent = Self.intent(status)
        let failure = LastPaymentError(type: .card, code: "card_declined", message: "Declined.", paymentMethod: nil)
        // When / Then
        let error = #expect(throws: PaymentError.self) { try intent.apply(.attemptFailed(failure), now: Self.now) }
        #expect(error?.code == "payment_intent_unexpected_state")
    }

    @Test("Authentication with confirmation_method=manual waits in requires_confirmation")
    func authenticationSucceededManual() throws {
        // Given a manual-confirmation intent in requires_action
        let intent = Self.intent(.requiresAction, confirmationMethod: .manual)
        // When the customer completes the challenge
        let next = try intent.apply(.authenticationSucceeded, now: Self.now)
        // Then the server must confirm again
        #expect(next.status == .requiresConfirmation)
        #expect(next.authenticatedPaymentMethod == "pm_test")
        #expect(next.authenticationToken == nil)
        #expect(next.paymentMethod == "pm_test")
    }

    @Test("Authentication with confirmation_method=automatic stays in requires_action for the caller to authorize")
    func authenticationSucceededAutomatic() throws {
        // Given an automatic-confirmation intent in requires_action
        let intent = Self.intent(.requiresAction, confirmationMethod: .automatic)
        // When the customer completes the challenge
        let next = try intent.apply(.authenticationSucceeded, now: Self.now)
        // Then it remembers the authenticated method and the caller goes on to authorize
        #expect(next.status == .requiresAction)
        #expect(next.authenticatedPaymentMethod == "pm_test")
        #expect(next.authenticationToken == nil)
    }

    @Test("A failed authentication is payment_intent_authentication_failure")
    func authenticationFailed() throws {
        // Given an intent in requires_action
        let intent = Self.intent(.requiresAction)
        // When the customer fails the challenge
        let next = try intent.apply(.authenticationFailed, now: Self.now)
        // Then
        #expect(next.status == .requiresPaymentMethod)
        #expect(next.lastPaymentError?.code == "payment_intent_authentication_failure")
        #expect(next.lastPaymentError?.type == .invalidRequest)
        #expect(next.lastPaymentError?.paymentMethod == "pm_test")
        #expect(next.paymentMethod == nil)
    }

    @Test("Action required sets the challenge and keeps an earlier return_url")
    func actionRequired() throws {
        // Given an intent with a return_url from an earlier confirm
        var intent = Self.intent(.requiresConfirmation)
        intent.returnURL = "https://shop.example/return"
        // When a confirm needs 3-D Secure
        let next = try intent.apply(
            .actionRequired(paymentMethod: "pm_3ds", token: "tok", returnURL: nil, expiresAt: Self.now + 3_600),
            now: Self.now
        )
        // Then
        #expect(next.status == .requiresAction)
        #expect(next.paymentMethod == "pm_3ds")
        #expect(next.authenticationToken == "tok")
        #expect(next.attemptExpiresAt == Self.now + 3_600)
        #expect(next.returnURL == "https://shop.example/return")
        #expect(!next.offSession)
    }

    @Test("Capture and cancel of a held authorization")
    func captureAndCancelHeld() throws {
        // Given a held authorization
        let held = Self.intent(.requiresCapture, captureMethod: .manual)
        // When captured in full, or canceled by the sweeper
        let captured = try held.apply(.captured(amount: 2_000), now: Self.now)
        let expired = try held.apply(.canceled(.automatic), now: Self.now)
        // Then
        #expect(captured.status == .succeeded && captured.amountReceived == 2_000 && captured.amountCapturable == 0)
        #expect(
            expired.status == .canceled && expired.cancellationReason == .automatic && expired.amountCapturable == 0
        )
    }

    // MARK: - Names

    @Test(
        "Legacy status names before 2019-02-11",
        arguments: [
            (PaymentIntentStatus.requiresPaymentMethod, "requires_source"),
            (.requiresAction, "requires_source_action"),
            (.requiresConfirmation, "requires_confirmation"),
            (.processing, "processing"),
            (.requiresCapture, "requires_capture"),
            (.succeeded, "succeeded"),
            (.canceled, "canceled"),
        ]
    )
    func legacyNames(status: PaymentIntentStatus, legacy: String) {
        #expect(status.legacyName == legacy)
    }

    @Test("Only succeeded and canceled are final")
    func finalStatuses() {
        let finals = PaymentIntentStatus.allCases.filter(\.isFinal)
        #expect(Set(finals) == [.succeeded, .canceled])
    }
}
