import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Payments
import PaymentsCore
import PaymentsHTTP
import PaymentsNetwork
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// A card network that fails (its ledger's disk full, say): the error line that says why names the request.
@Suite("Card network failure log routes")
struct NetworkFailureLogRouteTests {
    /// The test-mode network, whose authorizations and refunds fail with the ledger's own error once `failing`.
    final class FailingLedger: CardNetwork {
        struct DiskFull: Error, CustomStringConvertible {
            var description: String { "SQLite error 13: database or disk is full" }
        }

        let base: TestModeCardNetwork
        let failing = Mutex(false)

        init(base: TestModeCardNetwork) { self.base = base }

        func lookUp(_ card: CardNumber) -> CardLookup { base.lookUp(card) }
        func attachDecline(_ card: CardNumber, cvcProvided: Bool) -> CardDecline? {
            base.attachDecline(card, cvcProvided: cvcProvided)
        }
        func testCardNumber(forPaymentMethodID id: String) -> String? { base.testCardNumber(forPaymentMethodID: id) }

        func authorize(_ request: AuthorizationRequest) async throws -> AuthorizationResult {
            if failing.withLock({ $0 }) { throw DiskFull() }
            return try await base.authorize(request)
        }
        func capture(attemptID: String, amount: Int64, reference: String) async throws -> NetworkCapture? {
            try await base.capture(attemptID: attemptID, amount: amount, reference: reference)
        }
        func void(attemptID: String) async throws -> Bool { try await base.void(attemptID: attemptID) }
        func refund(attemptID: String, refundID: String, amount: Int64, now: Int64) async throws -> RefundResult {
            if failing.withLock({ $0 }) { throw DiskFull() }
            return try await base.refund(attemptID: attemptID, refundID: refundID, amount: amount, now: now)
        }
    }

    @Test("The card network's failed authorize and refund are logged with the request's request_id")
    func failedCallNamesTheRequest() async throws {
        // Given the router over a network that fails on demand, logging to a kept log
        let folder = try TestPaths.temporaryFolder()
        let ledger = FailingLedger(
            base: try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("ledger.sqlite").path)
        )
        let http = try TestHTTP(environment: try TestEnvironment(network: ledger))
        let kept = KeptLog()
        let logger = kept.logger(label: "payments.test", level: .error)
        let application = buildApplication(.init(port: 0, sweepInterval: 0), services: http.services, logger: logger)
        try await application.test(.router) { client in
            let api = WireClient(client: client, http: http)
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            try #require(paid.status == 200, "\(paid.text)")
            let intent = try #require(paid.json["id"]?.string)

            // When the network fails, under a payment and under a refund
            ledger.failing.withLock { $0 = true }
            let payment = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let refund = try await api.post("/v1/refunds", [("payment_intent", intent)])

            // Then each is a 500 card_network_unavailable, and its error line names its request
            for (name, response) in [("authorize", payment), ("refund", refund)] {
                #expect(response.status == 500, "\(name): \(response.text)")
                #expect(response.error["code"]?.string == PaymentError.cardNetworkUnavailableCode, "\(name)")
                // (a code of this service's own: no doc_url, which named a Stripe page that does not exist)
                #expect(response.error.has("doc_url") == false, "\(name): \(response.text)")
                let requestID = try #require(response.header("Request-Id"))
                let lines = kept.lines
                let line = lines.first { $0.message == "the card network's \(name) failed" }
                #expect(line?.metadata["request_id"] == .string(requestID), "\(name): \(lines)")
                #expect(line?.metadata["error"]?.description.contains("disk is full") == true, "\(name): \(lines)")
            }
        }
    }

    @Test("A payment the card network did not answer names its intent; without a key it says to read it, not retry")
    func unansweredPaymentNamesItsIntent() async throws {
        // Given the router over a network that fails
        let folder = try TestPaths.temporaryFolder()
        let ledger = FailingLedger(
            base: try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("ledger.sqlite").path)
        )
        try await withWire(try TestHTTP(environment: try TestEnvironment(network: ledger))) { api in
            ledger.failing.withLock { $0 = true }
            let form = [
                ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ]
            // When a create+confirm is sent without an Idempotency-Key, and another with one
            let unkeyed = try await api.post("/v1/payment_intents", form)
            let keyed = try await api.post(
                "/v1/payment_intents",
                form,
                headers: [HTTPField.Name("Idempotency-Key")!: "unanswered-1"]
            )
            // Then each is a 500 card_network_unavailable naming its intent, processing (its attempt pending)
            for response in [unkeyed, keyed] {
                #expect(response.status == 500, "\(response.text)")
                #expect(response.error["code"]?.string == PaymentError.cardNetworkUnavailableCode)
                #expect(response.error["payment_intent"]?["status"]?.string == "processing", "\(response.text)")
            }
            #expect(unkeyed.error["payment_intent"]?["id"]?.string != keyed.error["payment_intent"]?["id"]?.string)
            // And the unkeyed one is told a retry would be a new payment, and to read the intent; the keyed one, to
            // retry with its key
            let unkeyedMessage = try #require(unkeyed.error["message"]?.string)
            #expect(unkeyedMessage.contains("this request had no Idempotency-Key"), "\(unkeyedMessage)")
            #expect(!unkeyedMessage.contains("retry with the same Idempotency-Key"), "\(unkeyedMessage)")
            let keyedMessage = try #require(keyed.error["message"]?.string)
            #expect(keyedMessage.hasSuffix(PaymentError.cardNetworkRetryAdvice), "\(keyedMessage)")
            // And the keyed one's answer names its key (a client library's generated key was otherwise unknown to
            // its caller), the unkeyed one's none
            #expect(keyed.headers[HTTPField.Name("Idempotency-Key")!] == "unanswered-1")
            #expect(unkeyed.headers[HTTPField.Name("Idempotency-Key")!] == nil)
            // And a retry with the key that the network again does not answer names the same intent (it named none,
            // so a client library's retries ended on an error naming no intent: a probe)
            let retried = try await api.post(
                "/v1/payment_intents",
                form,
                headers: [HTTPField.Name("Idempotency-Key")!: "unanswered-1"]
            )
            #expect(retried.status == 500, "\(retried.text)")
            #expect(retried.error["payment_intent"]?["id"] == keyed.error["payment_intent"]?["id"], "\(retried.text)")
            #expect(retried.error["payment_intent"]?["status"]?.string == "processing", "\(retried.text)")
        }
    }

    /// Without a key the answer does not invite a retry (a second payment); with one, the retry completes it.
    @Test("A payment the network answered but the database could not record names its intent")
    func unrecordedAnswerNamesItsIntent() async throws {
        // Given a router whose first two payments find the database's write lock held by another process, for
        // longer than the 5 s busy timeout, once the card network has approved them
        let environment = try Self.writeLockHeld(after: .afterNetwork, times: 2)
        try await withWire(try TestHTTP(environment: environment)) { api in
            let form = [
                ("amount", "1000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ]
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "unrecorded-1"]
            // When a create+confirm is sent without an Idempotency-Key, and another with one
            let unkeyed = try await api.post("/v1/payment_intents", form)
            let keyed = try await api.post("/v1/payment_intents", form, headers: key)

            // Then each is a lock_timeout naming its intent, processing (its approved attempt not recorded)
            for response in [unkeyed, keyed] {
                #expect(response.status == 429, "\(response.text)")
                #expect(response.error["code"]?.string == PaymentError.lockTimeoutCode, "\(response.text)")
                #expect(response.error["payment_intent"]?["status"]?.string == "processing", "\(response.text)")
            }
            // And only the keyed one is told to retry: without a key a retry would be a second payment
            #expect(unkeyed.header("Stripe-Should-Retry") == "false")
            #expect(keyed.header("Stripe-Should-Retry") == "true")

            // When the keyed one is retried with its key, the lock released
            let retried = try await api.post("/v1/payment_intents", form, headers: key)
            // Then it completes the same intent, and the network approved each payment once
            #expect(retried.status == 200, "\(retried.text)")
            #expect(retried.json["status"]?.string == "succeeded")
            let intent = try #require(keyed.error["payment_intent"]?["id"]?.string)
            #expect(retried.json["id"]?.string == intent)
            #expect(try environment.network.approvedCount() == 2)
        }
    }

    /// A refund is the same: a keyless retry would be a second refund.
    @Test("A refund the network answered but the database could not record is not retried without a key")
    func unsettledRefundWithoutAKey() async throws {
        // Given a router whose first refund finds the database's write lock held once the network has refunded
        let environment = try Self.writeLockHeld(after: .afterRefundNetwork, times: 1)
        try await withWire(try TestHTTP(environment: environment)) { api in
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let intent = try #require(paid.json["id"]?.string, "\(paid.text)")
            // When a refund is sent without a key, then one with a key
            let unkeyed = try await api.post("/v1/refunds", [("payment_intent", intent), ("amount", "100")])
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "unrecorded-refund-1"]
            let keyed = try await api.post(
                "/v1/refunds",
                [("payment_intent", intent), ("amount", "200")],
                headers: key
            )
            // Then the first is a lock_timeout not to be retried; the second ran after the lock went, once
            #expect(unkeyed.status == 429, "\(unkeyed.text)")
            #expect(unkeyed.header("Stripe-Should-Retry") == "false")
            #expect(keyed.status == 200, "\(keyed.text)")
            let retried = try await api.post(
                "/v1/refunds",
                [("payment_intent", intent), ("amount", "200")],
                headers: key
            )
            #expect(retried.json["id"]?.string == keyed.json["id"]?.string)
            // And the charge holds both refunds, the first reserved until the sweeper records its answer
            let charge = try #require(paid.json["latest_charge"]?.string)
            let refunds = try await api.get("/v1/charges/\(charge)/refunds")
            #expect(refunds.json.ids.count == 2, "\(refunds.text)")
        }
    }

    /// Found by a probe: an admin's `BEGIN EXCLUSIVE` held past the 5 s lock timeout right after the network
    /// captured (or released) made the request a 429, and the intent went on showing `requires_capture`.
    @Test(
        "A capture or cancel the network made while another process held the write lock is recorded once it is free",
        arguments: [false, true]
    )
    func outcomeRecordedAfterLock(cancel: Bool) async throws {
        // Given an authorization, and the write lock held by another process for 5.5 s once the network has acted
        let environment = try Self.writeLockHeld(after: cancel ? .beforeCancelWrite : .afterCaptureNetwork, times: 1)
        try await withWire(try TestHTTP(environment: environment)) { api in
            // When it is captured (in part) or canceled without a key
            let (intent, response) = try await Self.settleAuthorization(api, cancel: cancel)
            // Then the request waits for the lock and records what the network did
            #expect(response.status == 200, "\(response.text)")
            let stored = try await api.retrieveIntent(intent)
            if cancel {
                #expect(stored["status"]?.string == "canceled" && stored["cancellation_reason"]?.string == "duplicate")
            } else {
                #expect(stored["status"]?.string == "succeeded" && stored["amount_received"]?.int == 600, "\(stored)")
            }
        }
    }

    @Test(
        "A capture or cancel whose record outlasts the request's patience is answered so, and recorded in the background",
        arguments: [false, true]
    )
    func outcomeRecordedInBackground(cancel: Bool) async throws {
        // Given a request that waits no longer than one try of the lock
        let environment = try Self.writeLockHeld(
            after: cancel ? .beforeCancelWrite : .afterCaptureNetwork,
            times: 1,
            outcomePatience: .zero
        )
        try await withWire(try TestHTTP(environment: environment)) { api in
            let (intent, response) = try await Self.settleAuthorization(api, cancel: cancel)
            // Then it is a lock_timeout that says what the network did, names the intent and asks for no retry
            #expect(response.status == 429, "\(response.text)")
            #expect(response.error["code"]?.string == PaymentError.lockTimeoutCode)
            #expect(response.error["payment_intent"]?["id"]?.string == intent, "\(response.text)")
            let message = try #require(response.error["message"]?.string)
            let done = cancel ? "released the authorization" : "captured 600"
            #expect(message.contains("The card network \(done)") && message.contains("background"), "\(message)")
            #expect(response.header("Stripe-Should-Retry") == "false")
            // And once the lock is gone the intent shows it, without another request
            let deadline = ContinuousClock.now + .seconds(30)
            var stored = try await api.retrieveIntent(intent)
            while stored["status"]?.string == "requires_capture", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
                stored = try await api.retrieveIntent(intent)
            }
            if cancel {
                #expect(stored["status"]?.string == "canceled" && stored["cancellation_reason"]?.string == "duplicate")
            } else {
                #expect(stored["status"]?.string == "succeeded" && stored["amount_received"]?.int == 600, "\(stored)")
            }
            // And the network acted once
            #expect(try environment.network.approvedCount() == 1)
        }
    }

    @Test("A refund the card network did not answer, sent without a key, is told a retry would be a second refund")
    func unansweredRefundWithoutAKey() async throws {
        let folder = try TestPaths.temporaryFolder()
        let ledger = FailingLedger(
            base: try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("ledger.sqlite").path)
        )
        try await withWire(try TestHTTP(environment: try TestEnvironment(network: ledger))) { api in
            let paid = try await api.payment([("payment_method", "pm_card_visa"), ("confirm", "true")])
            let intent = try #require(paid.json["id"]?.string, "\(paid.text)")
            ledger.failing.withLock { $0 = true }
            let unkeyed = try await api.post("/v1/refunds", [("payment_intent", intent), ("amount", "100")])
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "unanswered-refund-1"]
            let keyed = try await api.post(
                "/v1/refunds",
                [("payment_intent", intent), ("amount", "100")],
                headers: key
            )
            for response in [unkeyed, keyed] {
                #expect(response.status == 500, "\(response.text)")
                #expect(response.error["code"]?.string == PaymentError.cardNetworkUnavailableCode)
            }
            let message = try #require(unkeyed.error["message"]?.string)
            #expect(message.contains("a retry would be a second refund"), "\(message)")
            #expect(message.contains("GET /v1/refunds/re_"), "\(message)")
            #expect(unkeyed.header("Stripe-Should-Retry") == "false")
            #expect(keyed.error["message"]?.string?.hasSuffix(PaymentError.cardNetworkRetryAdvice) == true)
            #expect(keyed.header("Stripe-Should-Retry") == "true")
        }
    }

    /// Authorizes a payment of 10.00 for manual capture, then captures 6.00 of it, or cancels it as a duplicate,
    /// without a key: the intent's id and the answer.
    static func settleAuthorization(_ api: WireClient, cancel: Bool) async throws -> (String, WireResponse) {
        let paid = try await api.payment([
            ("payment_method", "pm_card_visa"), ("confirm", "true"), ("capture_method", "manual"),
        ])
        let intent = try #require(paid.json["id"]?.string, "\(paid.text)")
        let response =
            cancel
            ? try await api.post("/v1/payment_intents/\(intent)/cancel", [("cancellation_reason", "duplicate")])
            : try await api.post("/v1/payment_intents/\(intent)/capture", [("amount_to_capture", "600")])
        return (intent, response)
    }

    /// An environment whose database's write lock another connection holds for 5.5 s (past the 5 s busy timeout)
    /// each of the first `times` times `point` is reached, as another process's open write transaction would.
    static func writeLockHeld(
        after point: FaultInjector.Point,
        times: Int,
        outcomePatience: Duration = PaymentsContext.Settings.defaultOutcomePatience
    ) throws -> TestEnvironment {
        let path = Mutex<String?>(nil)
        let reached = Mutex(0)
        let faults = FaultInjector(armed: point) { _ in
            let held = reached.withLock { count in
                count += 1
                return count <= times
            }
            guard held, let file = path.withLock({ $0 }) else { return }
            try await Self.holdWriteLock(of: file, seconds: 5.5)
        }
        let environment = try TestEnvironment(outcomePatience: outcomePatience, faults: faults)
        path.withLock { $0 = environment.folder.appendingPathComponent("payments.sqlite").path }
        return environment
    }

    /// Takes the write lock of the SQLite database at `path` through a connection of its own and holds it for
    /// `seconds` after returning, as another process's open write transaction would.
    static func holdWriteLock(of path: String, seconds: Double) async throws {
        let other = try PaymentDatabase(path: path, migrations: MigrationSet(folder: TestPaths.migrations))
        let locked = DispatchSemaphore(value: 0)
        Task {
            try await other.write { _ in
                locked.signal()
                Thread.sleep(forTimeInterval: seconds)
            }
        }
        try await offCooperativePool { locked.wait() }
    }

    @Test("A 3-D Secure answer the card network fails is a page, which tells its modal to read the intent afresh")
    func challengeFailureIsAPage() async throws {
        // Given a payment waiting for its challenge, and a card network that then fails
        let folder = try TestPaths.temporaryFolder()
        let ledger = FailingLedger(
            base: try TestModeCardNetwork(ledgerPath: folder.appendingPathComponent("ledger.sqlite").path)
        )
        try await withWire(try TestHTTP(environment: try TestEnvironment(network: ledger))) { api in
            let card = try await api.card("4000002500003155")
            let waiting = try await api.payment([("payment_method", card), ("confirm", "true")])
            try #require(waiting.json["status"]?.string == "requires_action", "\(waiting.text)")
            ledger.failing.withLock { $0 = true }

            // When the shopper completes the challenge
            let page = try await api.completeChallenge(of: waiting.json)

            // Then the answer is the page's HTML with the error's status (it was the API's JSON), saying to return
            // to the merchant, and telling a modal to read the intent afresh
            #expect(page.status == 500, "\(page.text)")
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true, "\(page.headers)")
            #expect(page.text.contains("Something went wrong") && page.text.contains("return to the merchant"))
            #expect(page.text.contains("outcome: \"expired\""), "\(page.text)")
            #expect(!page.text.contains("\"error\""), "\(page.text)")
        }
    }
}
