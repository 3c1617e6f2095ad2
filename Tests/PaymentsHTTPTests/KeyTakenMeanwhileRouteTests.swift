import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Payments
import Synchronization
import TestSupport
import Testing

/// A request whose `Idempotency-Key` was new when it began runs without writing until its first write. When another
/// request with the same key commits first, what it reads can be that request's outcome, and its refusal of that
/// state must not stand: the key's first answer does (a probe of three PostgreSQL instances saw six captures under
/// one key answer 200, 200, 409, 409, 409 and 400).
@Suite("A key taken while its request ran")
struct KeyTakenMeanwhileRouteTests {
    /// The money-moving endpoints whose second run under one key is refused on the state the first left.
    enum Operation: String, CaseIterable, Sendable {
        case capture, cancel, refund

        func path(_ intent: String) -> String {
            switch self {
            case .capture: "/v1/payment_intents/\(intent)/capture"
            case .cancel: "/v1/payment_intents/\(intent)/cancel"
            case .refund: "/v1/refunds"
            }
        }

        func form(_ intent: String) -> [(String, String)] {
            switch self {
            case .capture: [("amount_to_capture", "1500")]
            case .cancel: [("cancellation_reason", "requested_by_customer")]
            case .refund: [("payment_intent", intent)]
            }
        }
    }

    /// Runs `body` against the router, where the first request that finds its key new waits there while `racer`
    /// (set by `body`) runs.
    static func withRace(_ body: @Sendable (WireClient, Race) async throws -> Void) async throws {
        let racer = Race()
        let faults = FaultInjector(armed: .afterKeyBegin) { _ in try await racer.run() }
        let http = try TestHTTP(environment: try TestEnvironment(faults: faults))
        try await http.application().test(.router) { client in
            try await body(WireClient(client: client, http: http), racer)
        }
    }

    @Test("The same request, committed meanwhile under the key, is replayed", arguments: Operation.allCases)
    func sameRequestReplays(operation: Operation) async throws {
        try await Self.withRace { api, racer in
            // Given an authorization held (captured already for a refund)
            let intent = try await api.intent([
                ("payment_method", "pm_card_visa"), ("confirm", "true"),
                ("capture_method", operation == .refund ? "automatic" : "manual"),
            ])
            let id = try #require(intent["id"]?.string)
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "retry-\(operation.rawValue)"]
            // When a request with a new key is overtaken, between finding the key new and running, by the same
            // request under that key, which commits
            let first = Mutex<WireResponse?>(nil)
            racer.set {
                let answer = try await api.post(operation.path(id), operation.form(id), headers: key)
                first.withLock { $0 = answer }
            }
            let second = try await api.post(operation.path(id), operation.form(id), headers: key)
            // Then the first answered 200, and the second replays it rather than refusing the state it left
            let answered = try #require(first.withLock { $0 })
            #expect(answered.status == 200, "\(answered.text)")
            #expect(second.status == 200, "\(second.text)")
            #expect(second.header("Idempotent-Replayed") == "true")
            #expect(second.text == answered.text)
            // And the money moved once
            let after = try await api.retrieveIntent(id)
            switch operation {
            case .capture: #expect(after["amount_received"]?.int == 1_500)
            case .cancel: #expect(after["status"]?.string == "canceled")
            case .refund: #expect(try await api.listCount("/v1/refunds") == 1)
            }
        }
    }

    @Test("Another request, committed meanwhile under the key, makes the refusal a key mismatch")
    func otherRequestMismatches() async throws {
        try await Self.withRace { api, racer in
            let intent = try await api.intent([
                ("payment_method", "pm_card_visa"), ("confirm", "true"), ("capture_method", "manual"),
            ])
            let id = try #require(intent["id"]?.string)
            let path = "/v1/payment_intents/\(id)/capture"
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "retry-other"]
            racer.set {
                let answer = try await api.post(path, [("amount_to_capture", "1000")], headers: key)
                #expect(answer.status == 200, "\(answer.text)")
            }
            // When the overtaken request asked for another amount
            let second = try await api.post(path, [("amount_to_capture", "1500")], headers: key)
            // Then it is told the key was used with other parameters, as a later retry would be
            #expect(second.status == 400, "\(second.text)")
            #expect(second.error["type"]?.string == "idempotency_error")
            #expect(try await api.retrieveIntent(id)["amount_received"]?.int == 1_000)
        }
    }

    /// Found by a probe: `/pay` answers its refusals itself (the seed's error shape), not by throwing, and such an
    /// answer went out as it was: two `/pay`s with one key and a new card got a 200 and a 400 "PaymentMethod
    /// previously used", the card charged once, and the checkout, which retries with its key, showed the 400.
    @Test("/pay with a new card, committed meanwhile under the key, is replayed, not refused as a card used before")
    func payReplays() async throws {
        try await Self.withRace { api, racer in
            let card = try await api.card("4242424242424242")
            let body = #"{"payment_method_id": "\#(card)"}"#
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "retry-pay"]
            let first = Mutex<WireResponse?>(nil)
            racer.set {
                let answer = try await api.postJSON("/pay", body, auth: nil, headers: key)
                first.withLock { $0 = answer }
            }
            let second = try await api.postJSON("/pay", body, auth: nil, headers: key)
            let answered = try #require(first.withLock { $0 })
            #expect(answered.status == 200, "\(answered.text)")
            #expect(second.status == 200, "\(second.text)")
            #expect(second.header("Idempotent-Replayed") == "true")
            #expect(second.text == answered.text)
            #expect(try await api.listCount("/v1/payment_intents") == 1)
        }
    }
}
