import Foundation
import Payments
import PaymentsCore
import PaymentsStore
import Synchronization
import TestSupport
import Testing

/// A store whose next write commits and then fails as a connection that ended while its COMMIT was on its way
/// (``StoreError/commitUnknown(_:)``): the change is made, the caller cannot know it.
final class CommitLostStore: PaymentStore {
    let base: PaymentDatabase
    let armed = Mutex(true)
    /// Whether the write whose answer is lost commits (false: the connection ended before the commit arrived).
    let commits: Bool

    init(_ base: PaymentDatabase, commits: Bool = true) {
        self.base = base
        self.commits = commits
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        let lost = armed.withLock { armed in
            defer { armed = false }
            return armed
        }
        if lost && !commits { throw StoreError.commitUnknown("the connection closed before COMMIT arrived") }
        let value = try await base.write(body)
        if lost { throw StoreError.commitUnknown("the connection closed before COMMIT was answered") }
        return value
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T {
        try await base.read(body)
    }
}

/// Found by a probe (a proxy that closed PostgreSQL's connection as COMMIT went out): a payment or refund whose
/// first write may have committed was a generic 500 that invited a retry, and the sweeper then completed the first.
@Suite("A commit whose outcome is not known")
struct CommitUnknownTests {
    /// The environment's use cases over a store whose next write loses its COMMIT's answer.
    static func context(_ environment: TestEnvironment) -> (PaymentsContext, CommitLostStore) {
        let store = CommitLostStore(environment.database)
        return (environment.context(over: store), store)
    }

    @Test("A payment's first phase names its intent, says not to retry without a key, and is completed once")
    func payment() async throws {
        let environment = try TestEnvironment()
        let (context, _) = Self.context(environment)
        // When a create+confirm without a key loses its first phase's COMMIT answer
        let error = await #expect(throws: PaymentError.self) {
            try await PaymentIntents(context: context).create(
                .init(amount: 4_322, currency: "usd", paymentMethod: "pm_card_visa", confirm: true)
            )
        }
        // Then the error says so, names the intent, and is not to be retried (a second payment)
        #expect(error?.code == PaymentError.commitUnknownCode && error?.status == 500)
        #expect(error?.retryWouldPayAgain == true && error?.isTransient == true)
        let id = try #require(error?.paymentIntent)
        let stored = try await environment.intents.retrieve(id)
        #expect(stored.status == .processing)
        // And the sweeper completes that payment, once
        let report = try await Sweeper(context: environment.context)
            .sweep(now: environment.clock.now + Sweeper.pendingChargeGrace)
        #expect(report.pendingChargesRecovered == 1)
        #expect(try await environment.intents.retrieve(id).status == .succeeded)
        #expect(try environment.network.approvedCount() == 1)
    }

    @Test("A payment whose creation did not commit names its intent in the message: the error cannot show it")
    func paymentNotCreated() async throws {
        let environment = try TestEnvironment()
        let store = CommitLostStore(environment.database, commits: false)
        let context = environment.context(over: store)
        // When a create+confirm without a key loses its first phase, which did not commit
        let error = await #expect(throws: PaymentError.self) {
            try await PaymentIntents(context: context).create(
                .init(amount: 4_323, currency: "usd", paymentMethod: "pm_card_visa", confirm: true)
            )
        }
        // Then the message names the intent to read (its `payment_intent` is rendered only when it can be read), and
        // reading it says it was not created; nothing was charged
        let id = try #require(error?.paymentIntent)
        #expect(error?.message.contains("GET /v1/payment_intents/\(id)") == true, "\(String(describing: error))")
        #expect(error?.retryWouldPayAgain == true)
        await #expect(throws: PaymentError.self) { try await environment.intents.retrieve(id) }
        #expect(try environment.network.approvedCount() == 0)
    }

    @Test("A refund's reservation names the refund and says not to retry without a key")
    func refund() async throws {
        let environment = try TestEnvironment()
        let paid = try await environment.intents.create(
            .init(amount: 2_000, currency: "usd", paymentMethod: "pm_card_visa", confirm: true)
        )
        let (context, _) = Self.context(environment)
        let error = await #expect(throws: PaymentError.self) {
            try await Refunds(context: context).create(.init(paymentIntent: paid.id, amount: 1_000))
        }
        #expect(error?.code == PaymentError.commitUnknownCode && error?.retryWouldPayAgain == true)
        #expect(error?.message.contains("GET /v1/refunds/re_") == true, "\(String(describing: error))")
    }
}
