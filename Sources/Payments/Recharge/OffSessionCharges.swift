import Foundation
import PaymentsCore

/// Charges saved cards while their customers are away: one off-session payment per request, idempotent per
/// merchant reference, for the `payments recharge` job.
///
/// Each charge runs under an idempotency key in its own scope (`recharge`, the reference as the key) that never
/// expires, through the same atomic phases as the API: so running any file again, at any time, or after a crash
/// mid-file, replays finished rows and resumes unfinished ones from their recovery point, and never charges a row
/// twice. A reference another run is charging right now (its lease has not run out) is waited for, then replayed.
public struct OffSessionCharges: Sendable {
    let context: PaymentsContext
    /// Names this run: the request id saved with the references it charges.
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
        /// The reference an older version read the same cell as, when it read it otherwise: `"W-1"` with its quotes
        /// for a cell written `, "W-1"` (before `cdf1dd3`). A row an earlier run charged under it is replayed under
        /// it, never charged again under ``reference``.
        public var referenceReadBefore: String?

        /// Creates a request.
        public init(
            customer: String,
            amount: Int64,
            currency: String,
            reference: String,
            paymentMethod: String? = nil,
            description: String? = nil,
            referenceReadBefore: String? = nil
        ) {
            self.customer = customer
            self.amount = amount
            self.currency = currency
            self.reference = reference
            self.paymentMethod = paymentMethod
            self.description = description
            self.referenceReadBefore = referenceReadBefore
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
            return Outcome(status: "error", error: Self.rowMessage(error))
        } catch let error as StoreError {
            // The database failed (PostgreSQL restarted or down, the file locked): said as the store said it, with
            // what a run does about it (the row looked like a bad one)
            return Outcome(status: "error", error: "\(error) " + Self.rerunAdvice)
        } catch {
            return Outcome(status: "error", error: String(describing: error))
        }
    }

    /// What a row that failed on the way tells its reader: its reference is its key, so a run of the same file
    /// completes it, charging it at most once.
    static let rerunAdvice =
        "Run the same file again to complete this row: a row already charged is answered, not charged again."

    /// How often a run asks again about a reference another run holds: a live run finishes a row in
    /// milliseconds, and a dead one frees it when its lease runs out.
    static let inFlightPollInterval: Duration = .milliseconds(100)

    private func chargeOnce(_ request: Request) async throws -> Outcome {
        var request = request
        if let before = request.referenceReadBefore, before != request.reference,
            try await context.database.read({ tx in try tx.idempotencyKey(apiKey: Self.keyScope, key: before) }) != nil
        {
            // An earlier version charged (or began) this row under the cell as it read it: that reference is the
            // row's, so the row is replayed or resumed, never charged a second time under the new reading
            request.reference = before
        }
        request.referenceReadBefore = nil
        guard (1...IdempotencyKeys.maximumKeyLength).contains(IdempotencyKeys.length(of: request.reference)) else {
            throw PaymentError.invalidRequest("reference must be 1 to 255 characters.")
        }
        // A reference is its key's bytes, and `café` has two spellings in Unicode (é as one character, or as e and
        // an accent): the same file saved again by another tool (macOS's decomposes) charged each row a second
        // time. One spelling is taken, NFC, the composed one that nearly every tool writes; the other is refused
        // rather than read as the first, so that no reference an earlier run charged under it is charged again.
        guard request.reference.utf8.elementsEqual(request.reference.precomposedStringWithCanonicalMapping.utf8)
        else {
            throw PaymentError.invalidRequest(
                "reference is not in Unicode's composed form (NFC): it looks like another spelling of the same text. "
                    + "Save the file with composed characters (NFC) and run it again.",
                param: "reference"
            )
        }
        // As the API's `description` (a 200,000-character one was charged, and copied into every event of the intent)
        // Counted in code points, as the API counts it (a letter with any number of accents is one `Character`)
        if let description = request.description,
            description.unicodeScalars.count > PaymentIntent.maximumDescriptionLength
        {
            throw PaymentError.invalidRequest(
                "description is \(description.unicodeScalars.count) characters; at most \(PaymentIntent.maximumDescriptionLength), as "
                    + "the API takes.",
                code: "parameter_invalid_string_too_long",
                param: "description"
            )
        }
        // SQLite keeps a bound text only up to a null character and PostgreSQL refuses it: `ref<NUL>A` would be
        // stored as `ref`, so two references would share one key (the second reported as charged, never charged).
        // The API refuses such values before they run; a CSV row is refused here, whichever store is behind.
        for (column, value) in [
            ("reference", request.reference), ("customer", request.customer), ("currency", request.currency),
            ("payment_method", request.paymentMethod ?? ""), ("description", request.description ?? ""),
        ] {
            if value.utf8.contains(0) {
                throw PaymentError.invalidRequest("\(column) holds a null character.", param: column)
            }
            // As the API refuses one outside card[number]: it would be stored in plain text (the intent, its events,
            // the reference's key). The message does not repeat it.
            if CardNumber.appears(in: value) {
                throw PaymentError.invalidRequest(
                    "\(column) looks like a card number. Off-session charges name saved cards; card numbers are "
                        + "never accepted here.",
                    code: "card_number_not_allowed",
                    param: column
                )
            }
        }
        let keys = IdempotencyKeys(context: context)
        let key = IdempotencyKeys.Request(
            apiKey: Self.keyScope,
            key: request.reference,
            method: "RECHARGE",
            path: "recharge",
            parameters: Self.parameters(request),
            requestID: instance,
            lifetime: nil
        )
        // A live holder (another run) renews its lease until its row is done: two network time limits and two
        // leases' worth of waiting see it finish, or die and its lease run out, well within it.
        let patience = 2 * context.settings.networkTimeout.components.seconds + 2 * context.settings.idempotencyLease
        let start = context.clock.now()
        while true {
            let decision: IdempotencyKeys.Decision
            do {
                decision = try await keys.begin(key)
            } catch let error as PaymentError where error.kind == .idempotency {
                throw PaymentError.invalidRequest(
                    "Reference \(request.reference) was already used for a different charge: this row's customer, "
                        + "amount, currency, payment_method or description differ from the row that used it (a "
                        + "payment_method named where that row left it empty for the default card counts as "
                        + "different)."
                )
            }
            switch decision {
            case .replay(let saved, _):
                var outcome = try JSONDecoder().decode(Outcome.self, from: Data(saved.body))
                outcome.replayed = true
                return outcome
            case .inFlight:
                guard context.clock.now() - start <= patience else {
                    throw PaymentError.invalidRequest(
                        "Reference \(request.reference) is being charged by another run; run the file again later."
                    )
                }
                try await Task.sleep(for: Self.inFlightPollInterval)
            case .run(let lease):
                do {
                    return try await keys.holding(lease) { try await run(request, lease: lease) }
                } catch is IdempotencyKeyTaken {
                    // Another run took the new reference first (nothing of this try committed): ask again.
                    continue
                } catch let error as PaymentError where error.status == 409 {
                    throw error  // the lease was lost: the row is another run's now
                } catch {
                    // Not executed (a bad row: forgotten, so a corrected file can use the reference), or stopped
                    // on a passing failure after progress (unlocked, so the next run resumes it).
                    try await keys.release(lease)
                    throw error
                }
            }
        }
    }

    private func run(_ request: Request, lease: IdempotencyLease) async throws -> Outcome {
        let scope = IdempotencyScope(lease: lease, expand: []) { outcome in
            guard case .paymentIntent(let bundle, let error, _) = outcome else {
                throw PaymentError.apiError("A recharge row can only end with a PaymentIntent.")
            }
            let result = Self.outcome(intent: bundle.intent, error: error)
            return SavedResponse(status: error?.status ?? 200, body: Array(try EventSnapshot.encoder.encode(result)))
        }
        let paymentMethod: String
        if lease.resumeIntent == nil {
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
                    metadata: ["reference": request.reference],
                    origin: .recharge
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

    /// An error's message as a row's `error`: a row is completed by running its file again (its reference is its
    /// key), not by an API retry with an `Idempotency-Key`, which the card network's message tells API clients.
    static func rowMessage(_ error: PaymentError) -> String {
        let advice = PaymentError.cardNetworkRetryAdvice
        guard error.isTransient else { return error.message }
        if error.message.hasSuffix(advice) {
            return error.message.dropLast(advice.count) + "run the same file again to complete this row."
        }
        // The database's transient failures (a lost commit, a lock held too long) tell an API client to retry with
        // its Idempotency-Key, which a recharge row does not have: the store's own words, then a run's advice
        for apiAdvice in [PaymentError.lockedRetryAdvice, PaymentError.commitUnknownRetryAdvice]
        where error.message.hasSuffix(apiAdvice) {
            return error.message.dropLast(apiAdvice.count) + " " + rerunAdvice
        }
        return error.message
    }

    static func outcome(intent: PaymentIntent?, error: PaymentError?) -> Outcome {
        if let error {
            return Outcome(
                status: error.status == 402 ? "declined" : "error",
                paymentIntent: error.paymentIntent ?? intent?.id,
                declineCode: error.declineCode ?? (error.status == 402 ? error.code : nil),
                error: rowMessage(error)
            )
        }
        guard let intent else { return Outcome(status: "error", error: "No PaymentIntent.") }
        return Outcome(status: intent.status.rawValue, paymentIntent: intent.id)
    }

    /// What the row asks, as the canonical parameters of its reference (only a keyed hash is kept), so the same
    /// reference with another charge is refused.
    static func parameters(_ request: Request) -> String {
        [
            request.customer, String(request.amount), request.currency.lowercased(), request.paymentMethod ?? "",
            request.description ?? "",
        ].joined(separator: "\u{1F}")
    }
}
