import Payments
import PaymentsCore

/// Two days of payments through the use cases, for the report views' tests (`ReportViewTests` checks the figures
/// on SQLite; `SchemaParityTests` copies the same rows into PostgreSQL and compares every view).
public enum ReportScript {
    /// What the script made that a test builds on.
    public struct Made {
        public let environment: TestEnvironment
        public let customer: Customer
        /// The day-one payment of the customer (a test may add a pending refund of it).
        public let paidWithCustomer: PaymentIntent
    }

    /// The 3-D Secure test card the script challenges.
    public static let threeDSecureCard = "pm_card_authenticationRequiredOnSetup"

    /// Successes in three currencies, declines, a failed and an expired 3-D Secure challenge, captured and
    /// uncaptured authorizations, open intents and refunds; ends with a sweeper pass on day two, 10:00 UTC.
    public static func twoDays() async throws -> Made {
        let environment = try TestEnvironment()
        let intents = environment.intents
        let customer = try await environment.customers.create(.init(email: "jenny@example.com"))

        // Day one, 10:00 UTC.
        environment.clock.advance(by: 10 * 3_600)
        let paid = try await pay(environment, "pm_card_visa", 2_000, "usd")
        let paidWithCustomer = try await intents.create(
            .init(
                amount: 3_000,
                currency: "usd",
                customer: customer.id,
                paymentMethod: "pm_card_mastercard",
                confirm: true,
                description: "Order 2"
            )
        )
        _ = try? await pay(environment, "pm_card_chargeDeclinedInsufficientFunds", 1_500, "usd")
        let challenged = try await pay(environment, threeDSecureCard, 2_500, "usd")
        guard let token = challenged.authenticationToken else { throw ScriptError.noChallenge(challenged.id) }
        _ = try await intents.authenticate(challenged.id, token: token, outcome: .fail)
        let toCapture = try await pay(environment, "pm_card_visa", 5_000, "usd", captureMethod: .manual)
        _ = try await intents.create(.init(amount: 700, currency: "usd"))
        _ = try await pay(environment, threeDSecureCard, 1_200, "usd")  // abandoned: the sweeper expires it

        // Day two, 10:00 UTC.
        environment.clock.advance(by: 86_400)
        let euros = try await pay(environment, "pm_card_visa", 1_000, "eur")
        _ = try await pay(environment, "pm_card_visa", 500, "jpy")
        _ = try await environment.refunds.create(.init(paymentIntent: paid.id, amount: 500))
        _ = try await environment.refunds.create(.init(paymentIntent: euros.id))
        _ = try await intents.capture(toCapture.id, amountToCapture: 4_000)
        _ = try await pay(environment, "pm_card_amex", 2_000, "eur", captureMethod: .manual)
        _ = try await intents.create(.init(amount: 900, currency: "usd", paymentMethod: "pm_card_visa"))
        _ = try? await pay(environment, "pm_card_chargeDeclinedInsufficientFunds", 1_100, "eur")
        _ = try await Sweeper(context: environment.context).sweep(now: environment.clock.now)
        return Made(environment: environment, customer: customer, paidWithCustomer: paidWithCustomer)
    }

    /// Creates and confirms an intent.
    public static func pay(
        _ environment: TestEnvironment,
        _ paymentMethod: String,
        _ amount: Int64,
        _ currency: String,
        captureMethod: CaptureMethod = .automatic
    ) async throws -> PaymentIntent {
        try await environment.intents.create(
            .init(
                amount: amount,
                currency: currency,
                paymentMethod: paymentMethod,
                confirm: true,
                captureMethod: captureMethod
            )
        )
    }

    /// The script's 3-D Secure card answered without a challenge.
    public enum ScriptError: Error {
        case noChallenge(String)
    }
}
