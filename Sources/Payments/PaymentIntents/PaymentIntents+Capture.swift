import PaymentsCore

// MARK: - Capture

extension PaymentIntents {
    /// How long a card authorization can be captured: 7 days for card-not-present payments, after which issuers
    /// release the hold (Stripe's `charge_expired_for_capture`).
    public static let authorizationLifetime: Int64 = 7 * 24 * 3600

    /// Captures all or part (`amountToCapture`) of a `requires_capture` intent; the rest is released.
    ///
    /// The network is asked first, naming the request (idempotent on the attempt id: capturing twice captures once,
    /// and the answer says whose capture it holds), then one transaction records the capture on the charge and the
    /// intent, with a compare-and-set on the status so two racing captures (or a capture racing a cancel) have one
    /// winner. A crash between the two leaves the intent `requires_capture`; capturing again under the same key
    /// completes it without capturing twice at the network, and a capture without it is refused as a second one.
    ///
    /// `descriptors` given with the capture become its charge's (Stripe's capture sets the charge's
    /// `statement_descriptor` and `statement_descriptor_suffix`; the intent keeps its own).
    ///
    /// - Parameter clearMetadata: `metadata=`: every key the intent holds when the capture is checked is unset, then
    ///   `metadata`'s set (it was taken and ignored, a 200 that kept every key).
    public func capture(
        _ id: String,
        amountToCapture: Int64?,
        metadata asked: [String: String?]? = nil,
        clearMetadata: Bool = false,
        descriptors: StatementDescriptors = StatementDescriptors(),
        scope: IdempotencyScope? = nil
    ) async throws -> PaymentIntent {
        let now = context.clock.now()
        let intent = try await retrieve(id)
        // `metadata=` as explicit deletions, so the capture's settlement request (what the sweeper records should this
        // process die) and its record after the network carry the same change
        var change = asked
        if clearMetadata {
            var cleared = [String: String?](uniqueKeysWithValues: intent.metadata.keys.map { ($0, nil) })
            for (key, value) in asked ?? [:] { cleared[key] = value }
            change = cleared
        }
        let metadata = change
        // This request's own capture, if an earlier try of it made it at the network (resumedCapture)
        func resumed(_ intent: PaymentIntent) async throws -> PaymentIntent? {
            guard let scope else { return nil }
            return try await resumedCapture(
                intent,
                amountToCapture: amountToCapture,
                descriptors: descriptors,
                scope: scope
            )
        }
        if let done = try await resumed(intent) { return done }
        try PaymentIntentStateMachine.check(.capture, on: intent)
        let amount = amountToCapture ?? intent.amountCapturable
        guard amount > 0 else {
            throw PaymentError.invalidRequest(
                "Invalid positive integer",
                code: "parameter_invalid_integer",
                param: "amount_to_capture"
            )
        }
        if let amountToCapture, let currency = Currency(code: intent.currency) {
            // A capture is a charge of its own: Stripe's minimum for the currency applies, and a three-decimal
            // amount must end in 0.
            do throws(AmountError) {
                _ = try Money.validateCharge(amount: amountToCapture, currency: currency)
            } catch {
                throw PaymentError.invalidRequest(error.message, code: error.code, param: "amount_to_capture")
            }
        }
        // The capture's metadata merged into the intent's is checked before the network is asked: a capture refused
        // for it after the network captured answered 400 over money that moved, and stayed unrecorded
        var merged = intent.metadata
        try merged.applyMetadata(metadata)
        guard amount <= intent.amountCapturable else {
            throw PaymentError.invalidRequest(
                "The amount to capture (\(amount)) must be less than or equal to the PaymentIntent's "
                    + "amount_capturable (\(intent.amountCapturable)).",
                code: "amount_too_large",
                param: "amount_to_capture"
            )
        }
        if let authorizedAt = intent.authorizedAt, now >= authorizedAt + Self.authorizationLifetime {
            // Released here as the sweeper's next pass would release it, so the refusal and the intent agree
            let current = try await releaseExpired(intent, now: now)
            if current.status == .succeeded {
                // The network had captured it: an earlier try of this request (the key's retry, answered as its
                // capture) or another request that died before its write.
                if let done = try await resumed(current) { return done }
                throw PaymentIntentStateMachine.unexpectedState(.capture, intent: current)
            }
            throw PaymentError(
                kind: .invalidRequest,
                code: "charge_expired_for_capture",
                message: "The authorization of this PaymentIntent expired and can no longer be captured.",
                status: 400,
                paymentIntent: intent.id
            )
        }
        guard let chargeID = intent.latestCharge else {
            throw PaymentError.apiError("The PaymentIntent \(id) has no authorization to capture.")
        }
        // The network learns which request captures: a retry under the same key (after a crash) gets its first
        // try's capture back, and records that; another request gets the capture that came first, whatever its
        // amount, and is refused.
        let reference = scope?.networkReference ?? "req_" + context.ids.token(24)
        // Written before the network is asked, so a process that dies before recording its answer leaves the
        // sweeper what to ask again and record (``SettlementRequest``)
        try await requestSettlement(
            id,
            charge: chargeID,
            .capture(
                amount: amount,
                reference: reference,
                at: now,
                metadata: metadata,
                statementDescriptor: descriptors.statementDescriptor,
                statementDescriptorSuffix: descriptors.suffix
            ),
            for: .capture
        )
        guard let taken = try await context.network.capture(attemptID: chargeID, amount: amount, reference: reference)
        else {
            // A cancel released the authorization first: record it, if that cancel's own write never came (it
            // crashed after the network's answer), so the intent stops showing an authorization the network dropped.
            let current = try await recordAtNetwork(id, charge: chargeID, captured: nil, now: now)
            throw PaymentIntentStateMachine.unexpectedState(.capture, intent: current)
        }
        guard taken.isTaken(by: reference, amount: amount) else {
            // Another capture came first at the network (one racing this one, or one that died before its write):
            // that one is the capture. Record it, if its write has not come, and refuse this one on the state it
            // leaves, as Stripe refuses a second capture. Two captures of the same amount were both answered 200
            // before the network knew whose capture it held.
            let current = try await recordAtNetwork(id, charge: chargeID, captured: taken.amount, now: now)
            throw PaymentIntentStateMachine.unexpectedState(.capture, intent: current)
        }
        let captured = taken.amount
        try await context.faults.reach(.afterCaptureNetwork)
        return try await recordingNetworkOutcome(
            of: id,
            done: "captured \(captured)",
            { try await recordCapture(id, charge: chargeID, captured: captured, metadata, descriptors, scope, now) },
            // The same record, with the capture's metadata and descriptors, without the key the request held
            later: { [self] in
                try await recordCapture(id, charge: chargeID, captured: captured, metadata, descriptors, nil, now)
            }
        )
    }

    /// Records the capture of `captured` that the network made for this request, with its `metadata` and
    /// `descriptors`, finishing `scope`'s key.
    func recordCapture(
        _ id: String,
        charge chargeID: String,
        captured: Int64,
        _ metadata: [String: String?]?,
        _ descriptors: StatementDescriptors,
        _ scope: IdempotencyScope?,
        _ now: Int64
    ) async throws -> PaymentIntent {
        try await context.database.write { tx in
            guard let current = try tx.paymentIntent(id) else {
                throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
            }
            // A cancel, or another capture, that lost to this capture at the network recorded it already
            // (``recordAtNetwork(_:charge:captured:now:)``): the capture recorded is this request's.
            let recordedAlready =
                current.status == .succeeded && current.latestCharge == chargeID && current.amountReceived == captured
            var next = recordedAlready ? current : try current.apply(.captured(amount: captured), now: now)
            // The network captured: its metadata was checked before (``capture(_:amountToCapture:metadata:descriptors:
            // scope:)``), and is recorded now whatever came between
            next.metadata.applyRecordedMetadata(metadata)
            // The charge's `charge.captured` before the intent's `payment_intent.succeeded`, as a confirm's charge
            // events come before its intent's
            let saved = try tx.update(next, from: current) {
                guard let charge = try tx.charge(chargeID) else { return }
                var capturedCharge = charge
                if !recordedAlready { capturedCharge.recordCapture(captured) }
                descriptors.apply(to: &capturedCharge)
                if capturedCharge != charge { try tx.update(capturedCharge, from: charge) }
            }
            guard saved else { throw PaymentIntentStateMachine.unexpectedState(.capture, intent: current) }
            try scope?.finish(tx, intent: next, error: nil)
            return next
        }
    }

    /// The answer to the retry of a keyed capture whose first try died after the network captured, when another
    /// request has recorded that capture since (a cancel that found the authorization captured): the intent
    /// succeeded with the amount this request asked for, and the network holds that capture. Nil otherwise, and the
    /// capture runs (and is refused, or completes) as any other. The capture's `descriptors` become its charge's, as
    /// the first try's write would have made them (the retry carries the same parameters: its key says so).
    func resumedCapture(
        _ intent: PaymentIntent,
        amountToCapture: Int64?,
        descriptors: StatementDescriptors,
        scope: IdempotencyScope
    ) async throws -> PaymentIntent? {
        // A key with no claim to make was begun by an earlier try of this same request (same parameters)
        guard scope.lease.claim == nil, intent.status == .succeeded, let chargeID = intent.latestCharge,
            amountToCapture == nil || amountToCapture == intent.amountReceived,
            let taken = try await context.network.capture(
                attemptID: chargeID,
                amount: intent.amountReceived,
                reference: scope.networkReference
            ),
            taken.isTaken(by: scope.networkReference, amount: intent.amountReceived),
            taken.amount == intent.amountReceived
        else { return nil }
        return try await context.database.write { tx in
            guard let current = try tx.paymentIntent(intent.id), current == intent else {
                throw PaymentIntentStateMachine.unexpectedState(
                    .capture,
                    intent: try tx.paymentIntent(intent.id) ?? intent
                )
            }
            if var charge = try tx.charge(chargeID) {
                let before = charge
                descriptors.apply(to: &charge)
                if charge != before { try tx.update(charge) }
            }
            try scope.finish(tx, intent: current, error: nil)
            return current
        }
    }

    /// Releases the expired authorization of `intent` (in `requires_capture`), found by a capture that came too late,
    /// as the sweeper's rule b does (``Sweeper/record(_:now:tx:)``): released at the network, then the intent canceled
    /// with `cancellation_reason = automatic`; an authorization the network captured first (a capture whose write
    /// never came) is recorded as captured instead. When the network cannot be asked, the intent is left to the
    /// sweeper's next pass. Answers the intent as it now is.
    func releaseExpired(_ intent: PaymentIntent, now: Int64) async throws -> PaymentIntent {
        guard let attempt = intent.latestCharge else { return intent }
        let release: Sweeper.Release
        do {
            if try await context.network.void(attemptID: attempt) {
                release = .released
            } else if let amount = try await context.network.capture(
                attemptID: attempt,
                amount: intent.amountCapturable
            ) {
                release = .captured(amount)
            } else {
                release = .released
            }
        } catch {
            context.logger.warning(
                "could not release an expired authorization a capture or cancel found; the next sweep releases it",
                metadata: ["payment_intent": "\(intent.id)", "charge": "\(attempt)", "error": "\(error)"]
            )
            return intent
        }
        return try await context.database.write { tx in
            _ = try Sweeper.record([(intent.id, release)], now: now, tx: tx)
            return try tx.paymentIntent(intent.id) ?? intent
        }
    }

    /// Records what the network did with the authorization `charge` of the intent `id` for a request whose own write
    /// never came (it died after the network's answer, or is still on its way), if the intent still shows the
    /// authorization held: released (`captured` nil) is a cancel, and a capture of `captured` is recorded as one.
    /// Answers the intent as it now is.
    /// A release is recorded with `reason` (a cancel's own, recorded in the background after its request gave up).
    func recordAtNetwork(
        _ id: String,
        charge chargeID: String,
        captured: Int64?,
        reason: CancellationReason? = nil,
        now: Int64
    ) async throws -> PaymentIntent {
        try await context.database.write { tx in
            guard let current = try tx.paymentIntent(id) else {
                throw PaymentError.resourceMissing("payment_intent", id: id, param: "intent", inURL: true)
            }
            guard current.status == .requiresCapture, current.latestCharge == chargeID else { return current }
            let next = try current.apply(captured.map { .captured(amount: $0) } ?? .canceled(reason), now: now)
            let saved = try tx.update(next, from: current) {
                guard let charge = try tx.charge(chargeID) else { return }
                var settled = charge
                if let captured { settled.recordCapture(captured) } else { settled.releaseAuthorization() }
                try tx.update(settled, from: charge)
            }
            return saved ? next : current
        }
    }
}

/// The statement descriptors a capture names for its charge; nil leaves the charge's as they are.
public struct StatementDescriptors: Sendable, Equatable {
    public var statementDescriptor: String?
    public var suffix: String?

    public init(statementDescriptor: String? = nil, suffix: String? = nil) {
        self.statementDescriptor = statementDescriptor
        self.suffix = suffix
    }

    func apply(to charge: inout Charge) {
        if let statementDescriptor { charge.statementDescriptor = statementDescriptor }
        if let suffix { charge.statementDescriptorSuffix = suffix }
    }
}
