import Foundation
import Synchronization
import Testing

/// The built binary killed with SIGKILL mid-payment — at each injected fault point, and at random moments in a
/// stream of requests — then restarted, with every unanswered request retried under its key. Afterwards the
/// invariants of "Never charge twice" must hold.
@Suite("Crash recovery: never charge twice, never lose a payment")
struct CrashRecoveryTests {
    /// What the injected fault points are called (FaultInjector.Point).
    static let faultPoints = ["after-attempt-commit", "after-network", "before-response"]

    @Test(
        "killed at a fault point, restarted, retried with the key: one charge, answered",
        arguments: TestStore.allCases,
        faultPoints
    )
    func faultPoint(_ store: TestStore, _ point: String) async throws {
        let key = UUID().uuidString
        let form: [(String, String)] = [
            ("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
        ]
        // Given a server that dies at `point`
        let dying = try await ServerProcess.start(store: store, environment: ["PAYMENTS_FAULT_POINT": point])
        defer { dying.kill() }
        // When a payment reaches that point, the client gets no answer and the process is gone
        let lost = try? await dying.client.postForm(
            "/v1/payment_intents",
            form,
            auth: dying.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(lost == nil, "the request was answered: \(String(describing: lost))")
        let termination = await dying.stop(signal: SIGKILL)
        #expect(termination?.reason == .uncaughtSignal, "\(String(describing: termination))\n\(dying.diagnostics)")
        // An outcome that did not commit left no event (before-response dies after the commit)
        let succeededEvents = try await Ledgers(folder: dying.folder).eventCounts(type: "payment_intent.succeeded")
        #expect(succeededEvents.count == (point == "before-response" ? 1 : 0))

        // Then a restart settles what was pending, and the retry with the key (refused while the dead request's
        // lease runs) answers the one payment
        let server = try await ServerProcess.start(store: store, folder: dying.folder, keys: dying.keys)
        defer { server.kill() }
        let ledgers = Ledgers(folder: server.folder)
        #expect(try await ledgers.pendingCharges() == 0)
        let retry = try await server.client.postFormRetryingInFlight(
            "/v1/payment_intents",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(retry.status == 200, "\(retry)\n\(server.diagnostics)")
        let intent = try retry.json()
        #expect(intent["status"]?.string == "succeeded")
        #expect(intent["amount_received"]?.int == 2500)
        // A second retry replays the same bytes.
        let replay = try await server.client.postForm(
            "/v1/payment_intents",
            form,
            auth: server.secret,
            headers: ["Idempotency-Key": key]
        )
        #expect(replay.header("Idempotent-Replayed") == "true")
        #expect(replay.body == retry.body)
        try await Self.checkInvariants(ledgers, answered: [intent["id"]?.string ?? ""], expectedIntents: 1)
    }

    /// One planned request of the stream: its key, its card, and its answer once it has one.
    struct Planned: Sendable {
        let key: String
        let paymentMethod: String
    }

    @Test(
        "SIGKILL at random moments during a stream of payments; every request retried until answered",
        arguments: TestStore.allCases
    )
    func randomKills(_ store: TestStore) async throws {
        let cards = ["pm_card_visa", "pm_card_visa", "pm_card_mastercard", "pm_card_chargeDeclinedInsufficientFunds"]
        let planned = (0..<60).map { Planned(key: UUID().uuidString, paymentMethod: cards[$0 % cards.count]) }
        let answers = Shared<[Int: (status: Int, intent: String)]>([:])
        var keys = ServerProcess.Keys.random()
        var folder: URL? = nil
        var rounds = 0
        var generator = SystemRandomNumberGenerator()
        while answers.withLock({ $0.count }) < planned.count {
            rounds += 1
            try #require(rounds <= 12, "still \(planned.count - answers.withLock { $0.count }) unanswered")
            let server = try await ServerProcess.start(store: store, folder: folder, keys: keys)
            defer { server.kill() }
            folder = server.folder
            keys = server.keys
            #expect(try await Ledgers(folder: server.folder).pendingCharges() == 0, "start-up recovery left pending")
            let pending = planned.indices.filter { index in answers.withLock { $0[index] == nil } }
            let queue = Shared(pending[...])
            // Kill once 1 to 8 more requests are answered, a moment later (then inside other requests' phases),
            // unless this is a late round (then let it finish). A random time after the start (50 to 400 ms) came
            // after the whole stream when the machine was quick: nothing was interrupted.
            let killAt: Int? =
                rounds <= 4 ? answers.withLock { $0.count } + Int.random(in: 1...8, using: &generator) : nil
            let killDelay = Duration.milliseconds(Int.random(in: 0...20, using: &generator))
            let killer = Task {
                guard let killAt else { return }
                while answers.withLock({ $0.count }) < killAt {
                    guard !Task.isCancelled else { return }
                    try? await Task.sleep(for: .milliseconds(2))
                }
                try? await Task.sleep(for: killDelay)
                server.kill()
            }
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        while let index = queue.withLock({ $0.popFirst() }) {
                            let request = planned[index]
                            let form: [(String, String)] = [
                                ("amount", "1500"), ("currency", "usd"), ("confirm", "true"),
                                ("payment_method", request.paymentMethod),
                            ]
                            guard
                                let answer = try? await server.client.postForm(
                                    "/v1/payment_intents",
                                    form,
                                    auth: server.secret,
                                    headers: ["Idempotency-Key": request.key]
                                )
                            else { return }  // the server died: retry in the next round
                            if answer.status == 409 {
                                // Held by a request the last kill interrupted, until its lease runs out: again later.
                                try? await Task.sleep(for: .milliseconds(200))
                                queue.withLock { $0.append(index) }
                                continue
                            }
                            guard answer.status == 200 || answer.status == 402 else { continue }
                            let json = try? answer.json()
                            let id = json?["id"]?.string ?? json?["error"]?["payment_intent"]?["id"]?.string ?? ""
                            answers.withLock { $0[index] = (answer.status, id) }
                        }
                    }
                }
            }
            killer.cancel()
            server.kill()
        }
        // After a final clean start (which runs recovery), the invariants hold.
        let final = try await ServerProcess.start(store: store, folder: folder, keys: keys)
        defer { final.kill() }
        let ledgers = Ledgers(folder: final.folder)
        let answered = answers.withLock { $0 }
        for (index, answer) in answered {
            let intent = try await final.client.get("/v1/payment_intents/\(answer.intent)", auth: final.secret)
            #expect(intent.status == 200, "answered intent \(answer.intent) is missing")
            let status = try intent.json()["status"]?.string
            let declines = planned[index].paymentMethod.contains("Declined")
            #expect(status == (declines ? "requires_payment_method" : "succeeded"), "\(answer.intent): \(status ?? "")")
            #expect(answer.status == (declines ? 402 : 200))
        }
        try await Self.checkInvariants(
            ledgers,
            answered: Set(answered.values.map(\.intent)),
            expectedIntents: planned.count
        )
        #expect(rounds >= 2, "the stream was never interrupted")
    }

    /// The invariants: no intent charged twice; the network's approved charges are exactly the service's
    /// succeeded charges, one per succeeded intent; nothing pending; one intent per planned request.
    static func checkInvariants(_ ledgers: Ledgers, answered: Set<String>, expectedIntents: Int) async throws {
        #expect(try await ledgers.intentsChargedTwice().isEmpty)
        let network = try ledgers.networkApprovedAttempts()
        let succeeded = try await ledgers.succeededCharges()
        #expect(network == Set(succeeded.keys), "network \(network.count) vs service \(succeeded.count)")
        #expect(Set(succeeded.values) == (try await ledgers.intentIDs(status: "succeeded")))
        #expect(try await ledgers.pendingCharges() == 0)
        #expect(try await ledgers.intentCount() == expectedIntents)
        #expect(answered.count == expectedIntents)
        // Each committed outcome has its event once, and no event outlived a change that did not commit
        let intentsSucceeded = try await ledgers.eventCounts(type: "payment_intent.succeeded")
        #expect(Set(intentsSucceeded.keys) == (try await ledgers.intentIDs(status: "succeeded")))
        #expect(intentsSucceeded.values.allSatisfy { $0 == 1 })
        let chargesSucceeded = try await ledgers.eventCounts(type: "charge.succeeded")
        #expect(Set(chargesSucceeded.keys) == Set(succeeded.keys))
        #expect(chargesSucceeded.values.allSatisfy { $0 == 1 })
        #expect(try await ledgers.eventCounts(type: "payment_intent.created").count == expectedIntents)
    }
}

/// A value shared by concurrent tasks, behind a lock.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    init(_ value: Value) { self.value = Mutex(value) }

    func withLock<T>(_ body: (inout sending Value) throws -> sending T) rethrows -> T {
        try value.withLock(body)
    }
}
