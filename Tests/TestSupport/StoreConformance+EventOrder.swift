import Foundation
import PaymentsCore

extension StoreConformance {
    /// The order `GET /v1/events` pages in, `(created, rowid)`, is the order events commit: a backend without webhooks
    /// polls with `ending_before` the newest event it has seen, and must find every event committed after its poll.
    static let eventOrderChecks: [Check] = [
        Check(name: "an event's previous snapshot, request id and idempotency key read back as written") { store in
            var written = event("evt_order0_full", created: 100)
            written.previousSnapshot = Array(#"{"name":"Jenny"}"#.utf8)
            written.requestID = "req_order0"
            written.idempotencyKey = "rename-\u{E9}-42"
            let full = written
            let bare = event("evt_order0_bare", created: 100)
            try await store.write { tx in try tx.insert(events: [full, bare]) }
            for expected in [full, bare] {
                let read = try await store.read { tx in try tx.event(expected.id) }
                try require(read == expected, "\(expected.id) read back as \(String(describing: read))")
            }
        },
        Check(name: "an event stamped before the newest stored one, committed after it, is stored no older") { store in
            let newest = event("evt_order1_a", created: 200)
            try await store.write { tx in try tx.insert(newest) }
            // Stamped a moment earlier (its transaction's time), but committed later
            let late = event("evt_order1_b", created: 150)
            try await store.write { tx in try tx.insert(late) }
            let stored = try await store.read { tx in try tx.event(late.id) }
            try require(stored?.created == 200, "stored as \(String(describing: stored?.created)), not 200")
            let after = try await store.read { tx in
                try tx.events(types: [], created: nil, page: PageRequest(limit: 10, endingBefore: newest.id))
            }
            try require(after.items.map(\.id) == [late.id], "polling after the newest found \(after.items.map(\.id))")
        },
        Check(name: "an event of a transaction that commits after a poll is found by polling after that poll's newest")
        {
            first,
            second in
            // Given a transaction that records an event, then waits (up to a second) for a poll before committing
            let (recorded, recording) = AsyncStream.makeStream(of: Void.self)
            let polled = Flag()
            let early = event("evt_order2_early", created: 300)
            let waiting = Task {
                defer { recording.finish() }
                try await first.write { tx in
                    try tx.insert(early)
                    recording.yield()
                    _ = polled.wait(seconds: 1)
                }
            }
            // (No deadline: on a loaded machine the task may wait long for a thread; a test run's own limit applies)
            var events = recorded.makeAsyncIterator()
            guard await events.next() != nil else {
                try await waiting.value
                throw Failure(description: "the first transaction ended without recording its event")
            }
            // When another instance commits an event meanwhile (SQLite's second writer waits for the first instead),
            // and a client polls
            let late = event("evt_order2_late", created: 300)
            try await second.write { tx in try tx.insert(late) }
            let firstPoll = try await second.read { tx in
                try tx.events(types: [], created: nil, page: PageRequest(limit: 10))
            }.items.map(\.id)
            polled.raise()
            try await waiting.value
            // Then polling after the newest event it saw finds the rest: both events, each once
            let newest = try requireNonEmpty(firstPoll)
            let secondPoll = try await second.read { tx in
                try tx.events(types: [], created: nil, page: PageRequest(limit: 10, endingBefore: newest))
            }.items.map(\.id)
            let seen = firstPoll + secondPoll
            try require(
                seen.sorted() == [early.id, late.id].sorted(),
                "the first poll saw \(firstPoll), the poll after \(newest) saw \(secondPoll)"
            )
        },
    ]

    private static func event(_ id: String, created: Int64) -> Event {
        Event(
            id: id,
            created: created,
            type: "customer.created",
            objectType: .customer,
            objectID: "cus_\(id)",
            snapshot: Array("{}".utf8)
        )
    }

    /// The first of `ids` (the newest of a page), or a failure when the page was empty.
    private static func requireNonEmpty(_ ids: [String]) throws -> String {
        guard let first = ids.first else { throw Failure(description: "the first poll found no event") }
        return first
    }

    /// A flag one side raises and a transaction's body (synchronous, on a store's thread) waits for, with a bound.
    final class Flag: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)

        func raise() { semaphore.signal() }

        /// Waits on this thread until the flag is raised or `seconds` pass; whether it was raised.
        func wait(seconds: Double) -> Bool {
            semaphore.wait(timeout: .now() + seconds) == .success
        }
    }
}
