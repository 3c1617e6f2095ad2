import PaymentsCore
import PaymentsStore
import TestSupport
import Testing

@Suite("Store lists")
struct StoreListTests {
    /// Five intents, created at 100, 200, 200, 300 and 400 (two in the same second), inserted oldest first; the
    /// two in the middle belong to one customer. Returns the environment and the ids newest first.
    static func fiveIntents() async throws -> (TestEnvironment, [String], customer: String) {
        let environment = try TestEnvironment()
        let customer = StoreFixtures.customer()
        let intents = [
            StoreFixtures.intent(created: 100),
            StoreFixtures.intent(created: 200, customer: customer.id),
            StoreFixtures.intent(created: 200, customer: customer.id),
            StoreFixtures.intent(created: 300),
            StoreFixtures.intent(created: 400),
        ]
        try await environment.database.write { tx in
            try tx.insert(customer)
            for intent in intents { try tx.insert(intent) }
        }
        return (environment, intents.reversed().map(\.id), customer.id)
    }

    static func page(
        _ environment: TestEnvironment,
        customer: String? = nil,
        created: CreatedFilter? = nil,
        _ request: PageRequest
    ) async throws -> Page<PaymentIntent> {
        try await environment.database.read { tx in
            try tx.paymentIntents(customer: customer, created: created, page: request)
        }
    }

    @Test("Newest first, with has_more, and starting_after walks to older pages")
    func startingAfter() async throws {
        // Given five intents: e d c b a (newest first)
        let (environment, ids, _) = try await Self.fiveIntents()
        // When paging by two
        let first = try await Self.page(environment, PageRequest(limit: 2))
        let second = try await Self.page(environment, PageRequest(limit: 2, startingAfter: ids[1]))
        let third = try await Self.page(environment, PageRequest(limit: 2, startingAfter: ids[3]))
        // Then the pages follow each other; objects of the same second list in insertion order, newest first
        #expect(first.items.map(\.id) == [ids[0], ids[1]])
        #expect(first.hasMore)
        #expect(second.items.map(\.id) == [ids[2], ids[3]])
        #expect(second.hasMore)
        #expect(third.items.map(\.id) == [ids[4]])
        #expect(!third.hasMore)
    }

    @Test("ending_before walks back to newer pages, still listed newest first")
    func endingBefore() async throws {
        // Given five intents: e d c b a
        let (environment, ids, _) = try await Self.fiveIntents()
        // When
        let beforeB = try await Self.page(environment, PageRequest(limit: 2, endingBefore: ids[3]))
        let beforeD = try await Self.page(environment, PageRequest(limit: 2, endingBefore: ids[1]))
        let beforeE = try await Self.page(environment, PageRequest(limit: 2, endingBefore: ids[0]))
        // Then
        #expect(beforeB.items.map(\.id) == [ids[1], ids[2]])
        #expect(beforeB.hasMore)
        #expect(beforeD.items.map(\.id) == [ids[0]])
        #expect(!beforeD.hasMore)
        #expect(beforeE.items.isEmpty)
        #expect(!beforeE.hasMore)
    }

    @Test("An exact page has no more")
    func exactPage() async throws {
        let (environment, ids, _) = try await Self.fiveIntents()
        let all = try await Self.page(environment, PageRequest(limit: 5))
        #expect(all.items.map(\.id) == ids)
        #expect(!all.hasMore)
    }

    @Test(
        "created filters",
        arguments: [
            (CreatedFilter(equals: 200), [2, 3]),
            (CreatedFilter(gt: 200), [0, 1]),
            (CreatedFilter(gte: 200), [0, 1, 2, 3]),
            (CreatedFilter(lt: 200), [4]),
            (CreatedFilter(lte: 200), [2, 3, 4]),
            (CreatedFilter(gte: 200, lte: 300), [1, 2, 3]),
            (CreatedFilter(gt: 400), []),
        ]
    )
    func createdFilter(filter: CreatedFilter, expected: [Int]) async throws {
        // Given five intents: e(400) d(300) c(200) b(200) a(100)
        let (environment, ids, _) = try await Self.fiveIntents()
        // When
        let page = try await Self.page(environment, created: filter, PageRequest(limit: 10))
        // Then
        #expect(page.items.map(\.id) == expected.map { ids[$0] })
    }

    @Test("The customer filter")
    func customerFilter() async throws {
        let (environment, ids, customer) = try await Self.fiveIntents()
        let page = try await Self.page(environment, customer: customer, PageRequest(limit: 1))
        #expect(page.items.map(\.id) == [ids[2]])
        #expect(page.hasMore)
    }

    @Test("An unknown cursor is resource_missing naming the cursor parameter")
    func unknownCursor() async throws {
        // Given
        let (environment, _, _) = try await Self.fiveIntents()
        // When / Then
        let after = await #expect(throws: PaymentError.self) {
            try await Self.page(environment, PageRequest(startingAfter: "pi_unknown"))
        }
        let before = await #expect(throws: PaymentError.self) {
            try await Self.page(environment, PageRequest(endingBefore: "pi_unknown"))
        }
        #expect(after?.code == "resource_missing")
        #expect(after?.param == "starting_after")
        #expect(after?.status == 400)
        #expect(before?.code == "resource_missing")
        #expect(before?.param == "ending_before")
    }

    @Test("Deleted customers are not listed; the email filter is exact")
    func customers() async throws {
        // Given three customers, one deleted
        let environment = try TestEnvironment()
        let kept = StoreFixtures.customer(created: 10, email: "a@example.com")
        let other = StoreFixtures.customer(created: 20, email: "b@example.com")
        var gone = StoreFixtures.customer(created: 30, email: "a@example.com")
        gone.deleted = true
        let deleted = gone
        try await environment.database.write { tx in
            try tx.insert(kept)
            try tx.insert(other)
            try tx.insert(deleted)
        }
        // When
        let (all, byEmail) = try await environment.database.read { tx in
            (
                try tx.customers(email: nil, created: nil, page: PageRequest()),
                try tx.customers(email: "a@example.com", created: nil, page: PageRequest())
            )
        }
        // Then
        #expect(all.items.map(\.id) == [other.id, kept.id])
        #expect(byEmail.items.map(\.id) == [kept.id])
    }
}
