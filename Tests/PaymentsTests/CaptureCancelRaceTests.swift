import Payments
import PaymentsCore
import Synchronization
import TestSupport
import Testing

/// Capture and cancel ask the card network before they write: their key is claimed before that call, and what the
/// network did for a request that never wrote (it crashed, or is still on its way) is recorded by the next capture
/// or cancel that runs into it, so the intent shows what the network holds.
@Suite("Capture and cancel against the network")
struct CaptureCancelRaceTests {
    /// An environment whose `point` runs the race set in the returned slot (once), and an authorized intent of 2,000.
    static func authorized(at point: FaultInjector.Point) async throws -> (TestEnvironment, PaymentIntent, Race) {
        let racer = Race()
        let faults = FaultInjector(armed: point) { _ in try await racer.run() }
        let environment = try TestEnvironment(faults: faults)
        let intent = try await environment.intents.create(
            .init(
                amount: 2_000,
                currency: "usd",
                paymentMethod: "pm_card_visa",
                confirm: true,
                captureMethod: .manual
            )
        )
        #expect(intent.status == .requiresCapture)
        return (environment, intent, racer)
    }

    static func request(_ key: String, _ path: String) -> IdempotencyKeys.Request {
        IdempotencyKeys.Request(
            apiKey: "test-scope",
            key: key,
            method: "POST",
            path: path,
            parameters: "",
            requestID: "req_\(key)"
        )
    }

    /// Runs `body` under a new key `key` on `path`, as the HTTP layer does; while the network answers, `point`'s race
    /// begins the same key again and records what it was told.
    static func retryMeanwhile(
        _ point: FaultInjector.Point,
        path: (PaymentIntent) -> String,
        _ body: @escaping @Sendable (TestEnvironment, PaymentIntent, IdempotencyScope) async throws -> PaymentIntent
    ) async throws -> (first: PaymentIntent, retry: IdempotencyKeys.Decision?) {
        let (environment, intent, racer) = try await authorized(at: point)
        let request = request("key-\(point.rawValue)", path(intent))
        guard case .run(let lease) = try await environment.idempotency.begin(request) else {
            Issue.record("expected a new key to run")
            throw CancellationError()
        }
        let retried = Mutex<IdempotencyKeys.Decision?>(nil)
        let keys = environment.idempotency
        racer.set {
            let decision = try await keys.begin(request)
            retried.withLock { $0 = decision }
        }
        let first = try await environment.idempotency.holding(lease) {
            try await body(environment, intent, IdempotencyKeysTests.scope(lease))
        }
        return (first, retried.withLock { $0 })
    }

    @Test("A retry with a capture's key while the network captures finds the key in flight")
    func captureKeyClaimedFirst() async throws {
        let (first, retry) = try await Self.retryMeanwhile(
            .afterCaptureNetwork,
            path: { "/v1/payment_intents/\($0.id)/capture" }
        ) {
            environment,
            intent,
            scope in
            try await environment.intents.capture(intent.id, amountToCapture: 1_500, scope: scope)
        }
        #expect(first.status == .succeeded && first.amountReceived == 1_500)
        guard case .inFlight = retry else {
            Issue.record("the retry was told \(String(describing: retry)), not that the key is in flight")
            return
        }
    }

    @Test("A retry with a cancel's key while the network releases finds the key in flight")
    func cancelKeyClaimedFirst() async throws {
        let (first, retry) = try await Self.retryMeanwhile(
            .beforeCancelWrite,
            path: { "/v1/payment_intents/\($0.id)/cancel" }
        ) {
            environment,
            intent,
            scope in
            try await environment.intents.cancel(intent.id, reason: .requestedByCustomer, scope: scope)
        }
        #expect(first.status == .canceled)
        guard case .inFlight = retry else {
            Issue.record("the retry was told \(String(describing: retry)), not that the key is in flight")
            return
        }
    }

    @Test("A capture's metadata is recorded with its capture though an update meanwhile filled the intent's keys")
    func captureMetadataAfterAnUpdateMeanwhile() async throws {
        // Given a capture adding a key to an intent with none, checked and sent to the network
        let (environment, intent, racer) = try await Self.authorized(at: .afterCaptureNetwork)
        let intents = environment.intents
        racer.set {
            // While the network captures, an update gives the intent 50 keys
            var update = PaymentIntents.UpdateInput()
            update.metadata = Dictionary(uniqueKeysWithValues: (0..<50).map { ("k\($0)", "v") })
            _ = try await intents.update(intent.id, update)
        }
        let captured = try await intents.capture(intent.id, amountToCapture: nil, metadata: ["order": "7"])
        // Then the capture the network made is recorded and answered, with the metadata it asked for: 51 keys, where
        // the limit's refusal once left the money captured at the network and the intent requires_capture
        #expect(captured.status == .succeeded && captured.amountReceived == 2_000)
        #expect(captured.metadata["order"] == "7" && captured.metadata.count == 51)
        #expect(try await intents.retrieve(intent.id) == captured)
    }

    @Test("A capture that finds the authorization released (a cancel died after the network) records the cancel")
    func captureAfterLostCancel() async throws {
        // Given an authorization a cancel released at the network, whose write never came
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        #expect(try await environment.network.void(attemptID: attempt))
        // When the merchant captures it
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
        // Then the capture fails on the intent's true state, which is now recorded: canceled, nothing captured
        #expect(error?.code == "payment_intent_unexpected_state")
        #expect(error?.message.contains("status of canceled") == true, "\(String(describing: error?.message))")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.amountCapturable == 0 && after.amountReceived == 0)
        #expect(try await environment.charge(attempt)?.captured == false)
    }

    @Test("A cancel that finds the authorization captured (a capture died after the network) records the capture")
    func cancelAfterLostCapture() async throws {
        // Given an authorization the network captured 1,500 of, for a capture whose write never came
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500) == 1_500)
        // When the merchant cancels it
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.cancel(intent.id, reason: nil)
        }
        // Then the cancel fails on the intent's true state, which is now recorded: succeeded with 1,500 received
        #expect(error?.message.contains("status of succeeded") == true, "\(String(describing: error?.message))")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .succeeded && after.amountReceived == 1_500)
        #expect(try await environment.charge(attempt)?.amountCaptured == 1_500)
        // and the money received can be refunded
        let refund = try await environment.refunds.create(.init(paymentIntent: intent.id, amount: 1_500))
        #expect(refund.status == .succeeded)
    }

    @Test("A capture that won at the network answers its success though a racing cancel recorded it first")
    func captureRecordedByRacingCancel() async throws {
        // Given a capture that the network captured, and a cancel that runs before the capture's write
        let (environment, intent, racer) = try await Self.authorized(at: .afterCaptureNetwork)
        let intents = environment.intents
        let cancelError = Mutex<PaymentError?>(nil)
        racer.set {
            do { _ = try await intents.cancel(intent.id, reason: nil) } catch let error as PaymentError {
                cancelError.withLock { $0 = error }
            }
        }
        // When the capture goes on
        let captured = try await environment.intents.capture(intent.id, amountToCapture: 1_200)
        // Then the cancel failed (the capture came first at the network) and the capture answers what it did
        #expect(cancelError.withLock { $0 }?.code == "payment_intent_unexpected_state")
        #expect(captured.status == .succeeded && captured.amountReceived == 1_200)
        #expect(try await environment.intents.retrieve(intent.id).amountReceived == 1_200)
    }

    @Test("A cancel that won at the network answers its success though a racing capture recorded it first")
    func cancelRecordedByRacingCapture() async throws {
        // Given a cancel that released the authorization, and a capture that runs before the cancel's write
        let (environment, intent, racer) = try await Self.authorized(at: .beforeCancelWrite)
        let intents = environment.intents
        let captureError = Mutex<PaymentError?>(nil)
        racer.set {
            do { _ = try await intents.capture(intent.id, amountToCapture: nil) } catch let error as PaymentError {
                captureError.withLock { $0 = error }
            }
        }
        // When the cancel goes on
        let canceled = try await environment.intents.cancel(intent.id, reason: .requestedByCustomer)
        // Then the capture failed, and the cancel answers what it did, with its reason
        #expect(captureError.withLock { $0 }?.code == "payment_intent_unexpected_state")
        #expect(canceled.status == .canceled && canceled.cancellationReason == .requestedByCustomer)
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == .requestedByCustomer)
        #expect(try await environment.network.capture(attemptID: #require(intent.latestCharge), amount: 2_000) == nil)
    }

    @Test(
        "Two cancels: the one the network released for wins, and the other is refused as a second cancel",
        arguments: [nil, CancellationReason.requestedByCustomer]
    )
    func racingCancels(reason: CancellationReason?) async throws {
        // Given a cancel that released the authorization, and another cancel that runs before the first one's write
        let (environment, intent, racer) = try await Self.authorized(at: .beforeCancelWrite)
        let intents = environment.intents
        let secondError = Mutex<PaymentError?>(nil)
        racer.set {
            do { _ = try await intents.cancel(intent.id, reason: reason) } catch let error as PaymentError {
                secondError.withLock { $0 = error }
            }
        }
        // When the first cancel goes on
        let canceled = try await environment.intents.cancel(intent.id, reason: reason)
        // Then the second was refused (it found the release another request's), and the first answers its cancel
        #expect(secondError.withLock { $0 }?.code == "payment_intent_unexpected_state")
        #expect(canceled.status == .canceled && canceled.cancellationReason == reason)
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == reason)
        #expect(try await environment.charge(intent.latestCharge)?.captured == false)
    }

    @Test("A cancel without a key after one that released and died is refused; the dead one's cancel is recorded")
    func unkeyedCancelAfterLostOne() async throws {
        // Given an authorization a cancel released at the network (its request named), whose write never came
        let (environment, intent, _) = try await Self.authorized(at: .beforeCancelWrite)
        let attempt = try #require(intent.latestCharge)
        #expect(
            try await environment.network.void(attemptID: attempt, reference: "req_dead")
                == .released(reference: "req_dead")
        )
        // When another cancel comes
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.cancel(intent.id, reason: .abandoned)
        }
        // Then it is refused as a second cancel, and the intent shows the cancel the network made
        #expect(error?.code == "payment_intent_unexpected_state")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.amountCapturable == 0)
    }

    @Test("Two captures of other amounts: the network's first wins, and the other is refused on its outcome")
    func capturesOfOtherAmounts() async throws {
        // Given a capture of 1,000 that the network captured, and a capture of 1,800 that runs before its write
        let (environment, intent, racer) = try await Self.authorized(at: .afterCaptureNetwork)
        let intents = environment.intents
        let secondError = Mutex<PaymentError?>(nil)
        racer.set {
            do { _ = try await intents.capture(intent.id, amountToCapture: 1_800) } catch let error as PaymentError {
                secondError.withLock { $0 = error }
            }
        }
        // When the first goes on
        let first = try await environment.intents.capture(intent.id, amountToCapture: 1_000)
        // Then it answers its capture, and the second was refused on the state the first left (it answered 200 with
        // the first's 1,000 as if it were its own)
        #expect(first.status == .succeeded && first.amountReceived == 1_000)
        let error = secondError.withLock { $0 }
        #expect(error?.code == "payment_intent_unexpected_state", "\(String(describing: error))")
        #expect(error?.message.contains("status of succeeded") == true)
        #expect(try await environment.intents.retrieve(intent.id).amountReceived == 1_000)
    }

    @Test(
        "Two captures of the same amount, without keys or under two: the network's first wins, the other is refused",
        arguments: [nil, ("key-capture-a", "key-capture-b")] as [(String, String)?]
    )
    func capturesOfTheSameAmount(keys: (String, String)?) async throws {
        // Given a capture of 1,000 that the network captured, and another capture of 1,000 that runs before its write
        let (environment, intent, racer) = try await Self.authorized(at: .afterCaptureNetwork)
        let path = "/v1/payment_intents/\(intent.id)/capture"
        let intents = environment.intents
        let secondError = Mutex<(any Error)?>(nil)
        racer.set {
            do {
                if let second = keys?.1 {
                    _ = try await Self.capture(environment, intent.id, 1_000, key: second, path: path)
                } else {
                    _ = try await intents.capture(intent.id, amountToCapture: 1_000)
                }
            } catch { secondError.withLock { $0 = error } }
        }
        // When the first goes on
        let first =
            if let key = keys?.0 {
                try await Self.capture(environment, intent.id, 1_000, key: key, path: path)
            } else {
                try await environment.intents.capture(intent.id, amountToCapture: 1_000)
            }
        // Then it answers its capture, and the second is refused as a second capture, as Stripe refuses it (both
        // answered 200: the network's answer, 1,000 captured, did not say whose capture it was)
        #expect(first.status == .succeeded && first.amountReceived == 1_000)
        let error = secondError.withLock { $0 } as? PaymentError
        #expect(error?.code == "payment_intent_unexpected_state", "\(String(describing: error))")
        #expect(error?.message.contains("status of succeeded") == true)
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.amountReceived == 1_000)
        #expect(try environment.network.capturedAmount(attemptID: #require(intent.latestCharge)) == 1_000)
    }

    /// Captures `amount` of `id` under the idempotency key `key`, as the HTTP layer runs a keyed capture.
    static func capture(_ environment: TestEnvironment, _ id: String, _ amount: Int64, key: String, path: String)
        async throws -> PaymentIntent
    {
        guard case .run(let lease) = try await environment.idempotency.begin(Self.request(key, path)) else {
            Issue.record("expected a new key to run")
            throw CancellationError()
        }
        return try await environment.idempotency.holding(lease) {
            try await environment.intents.capture(id, amountToCapture: amount, scope: IdempotencyKeysTests.scope(lease))
        }
    }

    @Test("A capture without a key after one of the same amount that died after the network is a second capture")
    func unkeyedCaptureAfterLostOne() async throws {
        // Given a capture of 1,500 that the network took, whose write never came
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500) == 1_500)
        // When the merchant captures 1,500 again, without a key (a new request, not the first one's retry)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: 1_500)
        }
        // Then it is refused on the state the first capture left, which is now recorded
        #expect(error?.message.contains("status of succeeded") == true, "\(String(describing: error))")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .succeeded && after.amountReceived == 1_500)
        #expect(try await environment.charge(attempt)?.amountCaptured == 1_500)
    }

    @Test("A full capture after a partial one that died after the network is refused, showing the partial capture")
    func fullCaptureAfterLostPartial() async throws {
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500) == 1_500)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
        #expect(error?.message.contains("status of succeeded") == true, "\(String(describing: error))")
        #expect(try await environment.intents.retrieve(intent.id).amountReceived == 1_500)
    }

    /// Begins `request` after the earlier holder's lease ran out, as its retry does: the key is resumed, not new.
    /// A keyed request's first try that committed its new key (as its first write does) and died: its request, and
    /// the lease it held.
    static func claimedThenDied(_ environment: TestEnvironment, _ key: String, _ path: String) async throws -> (
        IdempotencyKeys.Request, IdempotencyLease
    ) {
        let request = Self.request(key, path)
        guard case .run(let first) = try await environment.idempotency.begin(request) else {
            Issue.record("expected a new key to run")
            throw CancellationError()
        }
        try await environment.idempotency.holding(first) { try await environment.context.database.write { _ in } }
        return (request, first)
    }

    static func resume(_ environment: TestEnvironment, _ request: IdempotencyKeys.Request) async throws
        -> IdempotencyLease
    {
        environment.clock.advance(by: 3_600)
        guard case .run(let lease) = try await environment.idempotency.begin(request), lease.claim == nil else {
            Issue.record("expected to resume the key")
            throw CancellationError()
        }
        return lease
    }

    @Test("A keyed capture that died after the network, recorded since by a cancel: its retry answers the capture")
    func resumedCaptureAfterCancelRecordedIt() async throws {
        // Given a keyed capture of 1,500 whose key was claimed and whose network capture happened, then it died
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let (request, first) = try await Self.claimedThenDied(
            environment,
            "key-resumed-capture",
            "/v1/payment_intents/\(intent.id)/capture"
        )
        let taken = try await environment.network.capture(
            attemptID: #require(intent.latestCharge),
            amount: 1_500,
            reference: IdempotencyKeysTests.scope(first).networkReference
        )
        #expect(taken?.amount == 1_500)
        // and a cancel since found the authorization captured and recorded the capture
        await #expect(throws: PaymentError.self) { try await environment.intents.cancel(intent.id, reason: nil) }
        // When the capture is retried with its key
        let lease = try await Self.resume(environment, request)
        let retried = try await environment.idempotency.holding(lease) {
            try await environment.intents.capture(
                intent.id,
                amountToCapture: 1_500,
                descriptors: StatementDescriptors(statementDescriptor: "RESUMED CAPTURE", suffix: "RETRY"),
                scope: IdempotencyKeysTests.scope(lease)
            )
        }
        // Then it answers the capture it asked for (it was a 400 "status of succeeded"), and replays it after
        #expect(retried.status == .succeeded && retried.amountReceived == 1_500)
        // and its statement descriptors became the charge's, as the first try's write would have made them
        let charge = try await environment.charge(intent.latestCharge)
        #expect(charge?.statementDescriptor == "RESUMED CAPTURE" && charge?.statementDescriptorSuffix == "RETRY")
        guard case .replay(let saved, _) = try await environment.idempotency.begin(request) else {
            Issue.record("expected a replay")
            return
        }
        #expect(String(decoding: saved.body, as: UTF8.self) == "\(intent.id) succeeded")
    }

    @Test(
        "A keyed capture that died after the network, retried once the authorization's 7 days are over, answers the capture"
    )
    func resumedCaptureAfterExpiry() async throws {
        // Given a keyed capture of 1,500 that captured at the network and died before its write
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        let (request, first) = try await Self.claimedThenDied(
            environment,
            "key-late-retry",
            "/v1/payment_intents/\(intent.id)/capture"
        )
        let reference = IdempotencyKeysTests.scope(first).networkReference
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500, reference: reference) != nil)
        // When its retry comes after the authorization's lifetime (the intent still shows it held)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        let lease = try await Self.resume(environment, request)
        let retried = try await environment.idempotency.holding(lease) {
            try await environment.intents.capture(
                intent.id,
                amountToCapture: 1_500,
                scope: IdempotencyKeysTests.scope(lease)
            )
        }
        // Then it answers the capture its first try made (it was refused as expired though the money was captured)
        #expect(retried.status == .succeeded && retried.amountReceived == 1_500)
        #expect(try await environment.charge(attempt)?.amountCaptured == 1_500)
        #expect(try environment.network.capturedAmount(attemptID: attempt) == 1_500)
    }

    @Test("A capture after the authorization's 7 days, when another capture died after the network, shows that capture")
    func lateCaptureFindsLostCapture() async throws {
        // Given a capture of 1,500 that captured at the network and died before its write
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 1_500) == 1_500)
        // When another capture comes after the authorization's lifetime
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
        // Then it is refused on the capture it found, now recorded (not as an expired authorization)
        #expect(error?.message.contains("status of succeeded") == true, "\(String(describing: error))")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .succeeded && after.amountReceived == 1_500)
    }

    @Test("A capture after the authorization's 7 days releases it and cancels the intent, as the sweeper would")
    func lateCaptureReleases() async throws {
        // Given an authorization 7 days old that the sweeper has not released yet
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        // When it is captured
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
        // Then it is refused as expired, the hold is released, and the intent says so at once
        #expect(error?.code == "charge_expired_for_capture")
        #expect(try environment.network.capturedAmount(attemptID: attempt) == 0)
        #expect(try await environment.charge(attempt)?.amountRefunded == 2_000)
        // (the network released it: a capture there now finds nothing to capture)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 2_000) == nil)
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == .automatic)
        #expect(after.amountCapturable == 0)
    }

    @Test("Two captures at once after the authorization's 7 days: both refused, the intent canceled once")
    func lateCapturesRacing() async throws {
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        let first = Task { try await environment.intents.capture(intent.id, amountToCapture: nil) }
        let second = Task { try await environment.intents.capture(intent.id, amountToCapture: 1_000) }
        for result in [await first.result, await second.result] {
            #expect(throws: PaymentError.self) { try result.get() }
        }
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == .automatic)
        let canceled = try await EventsTests.types(environment).filter { $0 == "payment_intent.canceled" }
        #expect(canceled.count == 1)
    }

    @Test("A cancel after the authorization's 7 days releases it as the sweeper would: canceled automatic, refused")
    func lateCancelReleases() async throws {
        // Given an authorization 7 days old that the sweeper has not released yet
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        // When the merchant cancels it
        let error = await #expect(throws: PaymentError.self) {
            try await environment.intents.cancel(intent.id, reason: .requestedByCustomer)
        }
        // Then it is refused on the intent the expiry left, canceled automatic, as a cancel after the pass is
        #expect(error?.code == "payment_intent_unexpected_state", "\(String(describing: error))")
        #expect(error?.message.contains("status of canceled") == true, "\(String(describing: error))")
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == .automatic)
        #expect(after.amountCapturable == 0)
        #expect(try await environment.network.capture(attemptID: attempt, amount: 2_000) == nil)
        // And its charge's release is the expiry's charge.expired, not a merchant's cancel's charge.refunded
        let types = try await EventsTests.types(environment)
        #expect(types.contains("charge.expired") && !types.contains("charge.refunded"), "\(types)")
        #expect(types.filter { $0 == "payment_intent.canceled" }.count == 1)
    }

    @Test("A cancel and a capture at once after the authorization's 7 days: both refused, the intent canceled once")
    func lateCancelAndCaptureRacing() async throws {
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        let cancel = Task { try await environment.intents.cancel(intent.id, reason: .duplicate) }
        let capture = Task { try await environment.intents.capture(intent.id, amountToCapture: nil) }
        await #expect(throws: PaymentError.self) { try await cancel.value }
        await #expect(throws: PaymentError.self) { try await capture.value }
        let after = try await environment.intents.retrieve(intent.id)
        #expect(after.status == .canceled && after.cancellationReason == .automatic)
        let types = try await EventsTests.types(environment)
        #expect(types.filter { $0 == "payment_intent.canceled" }.count == 1)
        #expect(types.filter { $0 == "charge.expired" }.count == 1)
    }

    @Test("A cancel a second before the authorization's 7 days are up cancels it with its own reason")
    func cancelJustBeforeExpiry() async throws {
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        environment.clock.advance(by: PaymentIntents.authorizationLifetime - 1)
        let canceled = try await environment.intents.cancel(intent.id, reason: .requestedByCustomer)
        #expect(canceled.status == .canceled && canceled.cancellationReason == .requestedByCustomer)
        let types = try await EventsTests.types(environment)
        #expect(types.contains("charge.refunded") && !types.contains("charge.expired"), "\(types)")
    }

    @Test("A keyed cancel that released at the network and died, retried after the 7 days: answered as the cancel")
    func resumedCancelAfterExpiry() async throws {
        // Given a keyed cancel whose first try released the authorization at the network under its key, then died
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let attempt = try #require(intent.latestCharge)
        let (request, first) = try await Self.claimedThenDied(
            environment,
            "key-cancel-at-expiry",
            "/v1/payment_intents/\(intent.id)/cancel"
        )
        let reference = IdempotencyKeysTests.scope(first).networkReference
        let release = try await environment.network.void(attemptID: attempt, reference: reference)
        #expect(release.isReleased(by: reference))
        // When its retry comes after the authorization's 7 days, before any sweep
        environment.clock.advance(by: PaymentIntents.authorizationLifetime)
        let lease = try await Self.resume(environment, request)
        let retried = try await environment.idempotency.holding(lease) {
            try await environment.intents.cancel(
                intent.id,
                reason: .requestedByCustomer,
                scope: IdempotencyKeysTests.scope(lease)
            )
        }
        // Then it answers the cancel its first try made, with its reason (not the expiry's refusal)
        #expect(retried.status == .canceled && retried.cancellationReason == .requestedByCustomer)
    }

    @Test("A keyed cancel that died after the network, recorded since by a capture: its retry answers the cancel")
    func resumedCancelAfterCaptureRecordedIt() async throws {
        let (environment, intent, _) = try await Self.authorized(at: .afterCaptureNetwork)
        let (request, _) = try await Self.claimedThenDied(
            environment,
            "key-resumed-cancel",
            "/v1/payment_intents/\(intent.id)/cancel"
        )
        #expect(try await environment.network.void(attemptID: #require(intent.latestCharge)))
        await #expect(throws: PaymentError.self) {
            try await environment.intents.capture(intent.id, amountToCapture: nil)
        }
        let lease = try await Self.resume(environment, request)
        let retried = try await environment.idempotency.holding(lease) {
            try await environment.intents.cancel(
                intent.id,
                reason: .requestedByCustomer,
                scope: IdempotencyKeysTests.scope(lease)
            )
        }
        #expect(retried.status == .canceled && retried.cancellationReason == .requestedByCustomer)
        guard case .replay = try await environment.idempotency.begin(request) else {
            Issue.record("expected a replay")
            return
        }
    }
}
