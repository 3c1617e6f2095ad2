import Crypto
import Foundation
import PaymentsCore
import PaymentsStore

/// Charges saved cards while their customers are away: one off-session payment per request, idempotent per
/// merchant reference, for the `payments recharge` job.
///
/// Each charge runs under an idempotency key in its own scope (`recharge`, the reference as the key), through
/// the same atomic phases as the API: so running a file again, or after a crash mid-file, replays finished rows
/// and resumes unfinished ones from their recovery point, and never charges a row twice.
public struct OffSessionCharges: Sendable {
    let context: PaymentsContext
    /// Names this run; a key locked by another name was left by a crash (or by a run still going).
    let instance: String

    /// The idempotency scope of recharge references, apart from every API key's.
    public static let keyScope = "recharge"

    /// Creates the use case for one run.
    public init(context: PaymentsContext, instance: String) {
        self.context = context
        self.instance = instance
    }

    /// One charge to make.
    public struct Request: Sendable, Equatable {
        public var customer: String
        public var amount: Int64
        public var currency: String
        /// The merchant's unique reference: charging the same reference again never charges twice.
        public var reference: String
        public var paymentMethod: String?
        public var description: String?

        /// Creates a request.
        public init(
            customer: String,
            amount: Int64,
            currency: String,
            reference: String,
            paymentMethod: String? = nil,
            description: String? = nil
        ) {
            self.customer = customer
            self.amount = amount
            self.currency = currency
            self.reference = reference
            self.paymentMethod = paymentMethod
            self.description = description
        }
    }

    /// What became of a charge; saved as the reference's idempotent response.
    public struct Outcome: Codable, Sendable, Equatable {
        /// `succeeded`, `declined` or `error`.
        public var status: String
        public var paymentIntent: String?
        public var declineCode: String?
        public var error: String?
        /// True when this run replayed an earlier run's outcome.
        public var replayed: Bool

        /// Creates an outcome.
        public init(status: String, paymentIntent: String? = nil, declineCode: String? = nil, error: String? = nil) {
            self.status = status
            self.paymentIntent = paymentIntent
            self.declineCode = declineCode
            self.error = error
            self.replayed = false
        }

        enum CodingKeys: String, CodingKey {
            case status, error
            case paymentIntent = "payment_intent"
            case declineCode = "decline_code"
            case replayed
        }
    }

    /// Charges one request, or replays what an earlier run did with its reference. Never throws: every failure
    /// becomes an `error` outcome, so one bad row does not stop the others.
    public func charge(_ request: Request) async -> Outcome {
        do {
            return try await chargeOnce(request)
        } catch let error as PaymentError {
            return Outcome(status: "error", error: error.message)
        } catch {
            return Outcome(status: "error", error: String(describing: error))
        }
    }

    private func chargeOnce(_ request: Request) async throws -> Outcome {
        guard !request.reference.isEmpty, request.reference.count <= 255 else {
            throw PaymentError.invalidRequest("reference must be 1 to 255 characters.")
        }
        let now = context.clock.now()
        let fingerprint = Self.fingerprint(request)
        let instance = self.instance
        let begin = try await context.database.write { tx in
            try tx.beginIdempotentRequest(
                apiKey: Self.keyScope,
                key: request.reference,
                method: "RECHARGE",
                path: "recharge",
                fingerprint: fingerprint,
                requestID: instance,
                instance: instance,
                now: now
            )
        }
        switch begin {
        case .replay(let row):
            var outcome = try JSONDecoder().decode(Outcome.self, from: row.responseBody ?? Data())
            outcome.replayed = true
            return outcome
        case .inFlight:
            throw PaymentError.invalidRequest("Another row with reference \(request.reference) is being charged.")
        case .mismatch:
            throw PaymentError.invalidRequest(
                "Reference \(request.reference) was already used for a different charge (customer, amount, currency, "
                    + "card or description differ)."
            )
        case .proceed(let row):
            do {
                return try await run(request, row: row)
            } catch let error as PaymentError where error.status != 402 && error.status < 500 {
                // Not executed (bad row): forget the reference so a corrected file can use it.
                try await context.database.write { tx in
                    try tx.abandonIdempotentRequest(apiKey: Self.keyScope, key: request.reference)
                }
                throw error
            }
        }
    }

    private func run(_ request: Request, row: IdempotencyKey) async throws -> Outcome {
        let scope = IdempotencyScope(
            apiKey: Self.keyScope,
            key: request.reference,
            resumeIntent: row.paymentIntent,
            resumeCharge: row.charge
        ) { _, intent, error in
            let outcome = Self.outcome(intent: intent, error: error)
            return (error?.status ?? 200, Array(try JSONEncoder().encode(outcome)))
        }
        let paymentMethod: String
        if row.paymentIntent == nil {
            paymentMethod = try await chooseCard(request)
        } else {
            paymentMethod = request.paymentMethod ?? ""
        }
        let intents = PaymentIntents(context: context)
        do {
            let intent = try await intents.create(
                .init(
                    amount: request.amount,
                    currency: request.currency,
                    customer: request.customer,
                    paymentMethod: paymentMethod.isEmpty ? nil : paymentMethod,
                    confirm: true,
                    offSession: true,
                    description: request.description,
                    metadata: ["reference": request.reference]
                ),
                scope: scope
            )
            return Self.outcome(intent: intent, error: nil)
        } catch let error as PaymentError where error.status == 402 {
            return Self.outcome(intent: nil, error: error)
        }
    }

    /// The card to charge: the row's, else the customer's default, else its only saved card.
    private func chooseCard(_ request: Request) async throws -> String {
        if let paymentMethod = request.paymentMethod, !paymentMethod.isEmpty { return paymentMethod }
        let customers = Customers(context: context)
        let customer: Customer
        do {
            customer = try await customers.retrieve(request.customer)
        } catch {
            throw PaymentError.resourceMissing("customer", id: request.customer, param: "customer", inURL: false)
        }
        guard !customer.deleted else {
            throw PaymentError.resourceMissing("customer", id: request.customer, param: "customer", inURL: false)
        }
        if let card = customer.defaultPaymentMethod { return card }
        let cards = try await customers.paymentMethods(request.customer, page: PageRequest(limit: 2), inURL: false)
        guard let only = cards.items.first else {
            throw PaymentError.invalidRequest("Customer \(request.customer) has no saved card.")
        }
        guard cards.items.count == 1 else {
            throw PaymentError.invalidRequest(
                "Customer \(request.customer) has several saved cards and no default; name one in payment_method."
            )
        }
        return only.id
    }

    static func outcome(intent: PaymentIntent?, error: PaymentError?) -> Outcome {
        if let error {
            return Outcome(
                status: error.status == 402 ? "declined" : "error",
                paymentIntent: error.paymentIntent ?? intent?.id,
                declineCode: error.declineCode ?? (error.status == 402 ? error.code : nil),
                error: error.message
            )
        }
        guard let intent else { return Outcome(status: "error", error: "No PaymentIntent.") }
        return Outcome(status: intent.status.rawValue, paymentIntent: intent.id)
    }

    /// A hash of what the row asks, so the same reference with another charge is refused.
    static func fingerprint(_ request: Request) -> String {
        let text = [
            request.customer, String(request.amount), request.currency.lowercased(), request.paymentMethod ?? "",
            request.description ?? "",
        ].joined(separator: "\u{1F}")
        return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
