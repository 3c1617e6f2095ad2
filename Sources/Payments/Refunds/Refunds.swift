import Logging
import PaymentsCore

/// Giving money back: whole or partial refunds of a captured payment, several per payment up to what was
/// received.
public struct Refunds: Sendable {
    let context: PaymentsContext

    /// Creates the use case.
    public init(context: PaymentsContext) { self.context = context }

    /// The parameters of `POST /v1/refunds`.
    public struct CreateInput: Sendable {
        public var paymentIntent: String?
        public var charge: String?
        /// Default: all that is still refundable.
        public var amount: Int64?
        public var reason: Refund.Reason?
        public var metadata: [String: String]
        /// The refund's currency, when the caller names it (Stripe's `currency`): it must be the charge's.
        public var currency: String?

        /// Creates input.
        public init(
            paymentIntent: String? = nil,
            charge: String? = nil,
            amount: Int64? = nil,
            reason: Refund.Reason? = nil,
            metadata: [String: String] = [:]
        ) {
            self.paymentIntent = paymentIntent
            self.charge = charge
            self.amount = amount
            self.reason = reason
            self.metadata = metadata
        }
    }

    /// Refunds a captured payment in atomic phases: one transaction reserves the amount on the charge, records a
    /// pending refund and (under an idempotency key) the recovery point `refund_recorded` naming it; the network is
    /// asked outside it, idempotent on the refund id; a last transaction records the network's answer (`succeeded`,
    /// or `pending` when the network pays out later) and saves the response. A retry with the key after a crash or
    /// a network failure resumes that same refund; without a key, the sweeper completes a refund a crash left
    /// pending, and asks again about one the network said would change, through ``settle(_:now:scope:)``.
    public func create(_ input: CreateInput, scope: IdempotencyScope? = nil) async throws -> Refund {
        if let reserved = scope?.resumeRefund {
            // An earlier try of this request reserved the refund and stopped: finish that one, never a second.
            return try await settle(try await retrieve(reserved), now: context.clock.now(), scope: scope)
        }
        let now = context.clock.now()
        let id = context.ids.refund()
        let refund = try await context.writeNaming(paymentIntent: nil, refund: id, keyed: scope != nil) {
            tx -> Refund in
            let charge = try Self.charge(for: input, tx: tx)
            if let currency = input.currency, currency != charge.currency {
                throw PaymentError.invalidRequest(
                    "The currency of a refund must be that of its charge (\(charge.currency)), not \(currency).",
                    code: "parameter_invalid_string",
                    param: "currency"
                )
            }
            let remaining = charge.refundable
            guard remaining > 0 else {
                throw PaymentError.invalidRequest(
                    "Charge \(charge.id) has already been refunded.",
                    code: "charge_already_refunded",
                    param: input.paymentIntent != nil ? "payment_intent" : "charge"
                )
            }
            let amount = input.amount ?? remaining
            guard amount > 0 else {
                throw PaymentError.invalidRequest(
                    "Invalid positive integer",
                    code: "parameter_invalid_integer",
                    param: "amount"
                )
            }
            if let asked = input.amount, let currency = Currency(code: charge.currency) {
                do throws(AmountError) {
                    try Money.checkPrecision(asked, currency: currency)
                } catch {
                    throw PaymentError.invalidRequest(error.message, code: error.code, param: "amount")
                }
            }
            guard amount <= remaining else {
                let currency = Currency(code: charge.currency)
                let asked = currency?.formatted(amount) ?? String(amount)
                let left = currency?.formatted(remaining) ?? String(remaining)
                throw PaymentError.invalidRequest(
                    "Refund amount (\(asked)) is greater than unrefunded amount on charge (\(left))",
                    code: "amount_too_large",
                    param: "amount"
                )
            }
            let refund = Refund(
                id: id,
                created: now,
                charge: charge.id,
                paymentIntent: charge.paymentIntent,
                amount: amount,
                currency: charge.currency,
                reason: input.reason,
                metadata: input.metadata
            )
            try tx.insert(refund)
            // The charge after the refund, so its `charge.refunded` lists the refund (reserved, as `GET` shows it
            // until the network answers)
            var reserved = charge
            reserved.amountRefunded += amount
            try tx.update(reserved)
            try scope?.mark(tx, .refundRecorded, intent: charge.paymentIntent, refund: refund.id)
            return refund
        }
        try await context.faults.reach(.afterRefundReserved)
        do {
            return try await settle(refund, now: now, scope: scope)
        } catch let failure as PaymentError where failure.isTransient {
            // The card network did not answer: the refund stays reserved, and a request without a key is told a
            // retry would be a second refund (it was told to retry with the key it did not have)
            throw scope == nil ? failure.withoutIdempotencyKey(refund: refund.id) : failure
        } catch  where !(error is PaymentError) && !(error is CancellationError) {
            // The network may have refunded, and its answer is not recorded: as for a payment (see
            // `PaymentIntents.authorize`), named, resumable with the key, not retried without one
            context.logger.error(
                "recording the card network's refund answer failed; the refund stays pending until a retry or the sweeper settles it",
                metadata: ["refund": .string(refund.id), "error": .string(String(describing: error))]
            )
            let failure = PaymentError.answerNotRecorded(error, refund: refund.id)
            throw scope == nil ? failure.withoutIdempotencyKey(refund: refund.id) : failure
        }
    }

    /// Asks the network where a refund stands (idempotent on its id: the first ask makes the refund) unless its
    /// status is final, and records the answer, with the response of the request that made it.
    ///
    /// The answer is recorded against the refund as it stands when the write runs: a refund's status only moves
    /// forward, so of two askers racing (a retried request, the sweeper) an older answer changes nothing, and a
    /// refund that fails gives its amount back to the charge exactly once.
    /// - Parameter now: the time of the question, which the network's answer is as of.
    func settle(_ refund: Refund, now: Int64, scope: IdempotencyScope? = nil) async throws -> Refund {
        var answer: RefundResult?
        if refund.awaitsNetwork {
            answer = try await context.network.refund(
                attemptID: refund.charge,
                refundID: refund.id,
                amount: refund.amount,
                now: now
            )
            try await context.faults.reach(.afterRefundNetwork)
        }
        return try await context.database.write { [answer] tx in
            guard var current = try tx.refund(refund.id) else {
                throw PaymentError.apiError("The refund \(refund.id) is missing.")
            }
            if let answer {
                let before = current
                if current.record(answer), var charge = try tx.charge(current.charge) {
                    charge.reverseRefund(current.amount)
                    try tx.update(charge)
                }
                if current != before { try tx.update(current) }
            }
            try scope?.finish(tx, refund: current)
            return current
        }
    }

    /// Retrieves a refund.
    public func retrieve(_ id: String) async throws -> Refund {
        let found = try await context.database.read { tx in try tx.refund(id) }
        guard let found else { throw PaymentError.resourceMissing("refund", id: id, param: "id", inURL: true) }
        return found
    }

    /// Updates a refund's metadata.
    public func update(_ id: String, metadata: [String: String?]?, clearMetadata: Bool) async throws -> Refund {
        try await context.database.write { tx in
            guard var refund = try tx.refund(id) else {
                throw PaymentError.resourceMissing("refund", id: id, param: "id", inURL: true)
            }
            try refund.metadata.applyMetadata(metadata, clearingFirst: clearMetadata)
            try tx.update(refund)
            return refund
        }
    }

    /// Lists refunds, newest first.
    public func list(
        paymentIntent: String?,
        charge: String?,
        created: CreatedFilter?,
        page: PageRequest
    ) async throws -> Page<Refund> {
        try await context.database.read { tx in
            try tx.refunds(paymentIntent: paymentIntent, charge: charge, created: created, page: page)
        }
    }

    /// The captured charge a refund request names (by intent or by charge), with Stripe's errors. A request naming both
    /// must name the intent's own charge: a charge of another payment is refused, never refunded in its place.
    static func charge(for input: CreateInput, tx: any StoreTransaction) throws -> Charge {
        if let intentID = input.paymentIntent, let named = input.charge {
            // Both: the charge must be one of the intent's (its latest, or an earlier attempt, whose refusal is the
            // charge's own: an earlier declined charge was told it did not belong to its intent, a probe), and is
            // then refunded as the charge alone is
            guard let charge = try tx.charge(named) else {
                throw PaymentError.resourceMissing("charge", id: named, param: "charge", inURL: false)
            }
            guard charge.paymentIntent == intentID else {
                guard try tx.paymentIntent(intentID) != nil else {
                    throw PaymentError.resourceMissing(
                        "payment_intent",
                        id: intentID,
                        param: "payment_intent",
                        inURL: false
                    )
                }
                throw PaymentError.invalidRequest(
                    "Charge \(named) does not belong to PaymentIntent \(intentID): name one of them, or both of the "
                        + "same payment.",
                    param: "charge"
                )
            }
            return try Self.charge(for: CreateInput(charge: named), tx: tx)
        }
        if let intentID = input.paymentIntent {
            guard let intent = try tx.paymentIntent(intentID) else {
                throw PaymentError.resourceMissing(
                    "payment_intent",
                    id: intentID,
                    param: "payment_intent",
                    inURL: false
                )
            }
            guard intent.status == .succeeded, let chargeID = intent.latestCharge, let charge = try tx.charge(chargeID),
                charge.captured
            else {
                let hint =
                    intent.status == .requiresCapture
                    ? " It has not been captured yet: cancel the PaymentIntent to release the authorization instead."
                    : ""
                throw PaymentError.invalidRequest(
                    "This PaymentIntent does not have a successful charge to refund.\(hint)",
                    code: "charge_not_refundable",
                    param: "payment_intent"
                )
            }
            return charge
        }
        guard let chargeID = input.charge else {
            throw PaymentError.invalidRequest(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code: "parameter_missing",
                param: "payment_intent"
            )
        }
        guard let charge = try tx.charge(chargeID) else {
            throw PaymentError.resourceMissing("charge", id: chargeID, param: "charge", inURL: false)
        }
        if charge.status == .succeeded, !charge.captured, charge.amountRefunded >= charge.amount {
            // A released authorization (its intent canceled, or expired) shows as refunded, as Stripe's does; telling
            // the merchant to cancel an intent already canceled sent them looking for another way to refund it
            throw PaymentError.invalidRequest(
                "Charge \(chargeID) has already been refunded.",
                code: "charge_already_refunded",
                param: "charge"
            )
        }
        guard charge.status == .succeeded, charge.captured else {
            // Say why: a declined attempt moved no money, and an authorization is released, not refunded
            let why =
                switch charge.status {
                case .failed:
                    "failed (\(charge.failureCode ?? "declined")): no money moved, so there is nothing to refund."
                case .pending: "is still waiting for the card network's answer; it cannot be refunded yet."
                case .succeeded:
                    "has not been captured; cancel its PaymentIntent to release the authorization instead."
                }
            throw PaymentError.invalidRequest(
                "Charge \(chargeID) \(why)",
                code: "charge_not_refundable",
                param: "charge"
            )
        }
        return charge
    }
}
