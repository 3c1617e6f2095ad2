import Foundation
import HTTPTypes
import Payments
import PaymentsCore
import PaymentsStore
import Synchronization
import TestSupport
import Testing

@testable import PaymentsHTTP

/// A store whose writes fail once it is broken, as a database gone down or read-only under the server.
final class BreakableStore: PaymentStore {
    let base: PaymentDatabase
    let broken = Mutex(false)

    init(_ base: PaymentDatabase) { self.base = base }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        if broken.withLock({ $0 }) { throw StoreError.unavailable("cannot execute UPDATE in a read-only transaction") }
        return try await base.write(body)
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await base.read(body)
    }
}

/// Found by the PostgreSQL probe: when the database failed a keyed request, the key's own bookkeeping (saving the
/// answer, releasing the key) failed on the same database, and its error replaced the request's.
@Suite("Idempotency keys' bookkeeping on a failing database")
struct IdempotencyBookkeepingRouteTests {
    @Test("A keyed payment the network charged and the database could not record says so, naming its intent")
    func paymentNotRecordedKeepsItsAnswer() async throws {
        // Given a database that fails every write from the moment the card network has answered
        let environment = try TestEnvironment(outcomePatience: .zero)
        let store = BreakableStore(environment.database)
        let context = environment.context(
            over: store,
            faults: FaultInjector(armed: .afterNetwork) { _ in store.broken.withLock { $0 = true } }
        )
        var http = try TestHTTP(environment: environment)
        http.services = HTTPServices(context: context, keys: http.services.keys, catalog: .development)
        try await withWire(http) { api in
            // When a keyed create+confirm is charged and its record fails
            let answer = try await api.post(
                "/v1/payment_intents",
                [("amount", "2500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
                headers: [HTTPField.Name("Idempotency-Key")!: "order-9"]
            )
            // Then the answer is the request's own, naming the intent the network charged, not the key's failure
            // to be saved ("An unknown error occurred.", without a code or an intent, saying to retry)
            #expect(answer.status == 500, "\(answer.text)")
            #expect(answer.error["code"]?.string == PaymentError.answerNotRecordedCode, "\(answer.text)")
            let id = try #require(answer.error["payment_intent"]?["id"]?.string, "\(answer.text)")
            #expect(try await environment.intents.retrieve(id).status == .processing)
            #expect(try environment.network.approvedCount() == 1)
        }
    }
}
