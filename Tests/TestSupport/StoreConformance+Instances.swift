import Foundation
import PaymentsCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension StoreConformance {
    /// The checks of two instances writing one database at once (two `payments serve` processes, two pools): what
    /// SQLite gets from its single writer, another store must keep with row locks and compare-and-set.
    static let instanceChecks: [Check] = [
        Check(name: "two instances racing one compare-and-set: exactly one wins") { first, second in
            let intent = intent("pi_inst1", created: 100)
            try await first.write { tx in try tx.insert(intent) }
            let winners = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<20 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        let next = intent.with {
                            $0.status = .processing
                            $0.latestCharge = "ch_inst1_\(index)"
                        }
                        let won = try await store.write { tx in try tx.update(next, expecting: .requiresConfirmation) }
                        return won ? next.latestCharge : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let won = $1 { $0.append(won) } }
            }
            try require(winners.count == 1, "\(winners.count) compare-and-sets won: \(winners)")
            let stored = try await second.read { tx in try tx.paymentIntent(intent.id) }
            try require(
                stored?.latestCharge == winners.first,
                "the stored intent is not the winner's: \(String(describing: stored))"
            )
        },
        Check(name: "two instances racing one new idempotency key: one holds it, the others see it in flight") {
            first,
            second in
            let outcomes = try await withThrowingTaskGroup(of: (String, IdempotencyBegin).self) { group in
                for index in 0..<10 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        let token = "t\(index)"
                        let begin = try await store.write { tx in
                            try tx.beginIdempotentRequest(
                                apiKey: "scope",
                                key: "raced",
                                method: "POST",
                                path: "/v1/payment_intents",
                                fingerprint: "f",
                                requestID: "req_\(index)",
                                token: token,
                                now: 100,
                                lockedUntil: 130,
                                expiresAt: 1_000
                            )
                        }
                        return (token, begin)
                    }
                }
                return try await group.reduce(into: [(String, IdempotencyBegin)]()) { $0.append($1) }
            }
            let holders = outcomes.compactMap { token, begin -> String? in
                if case .proceed = begin { return token }
                return nil
            }
            try require(holders.count == 1, "\(holders.count) requests hold the key: \(holders)")
            let others = outcomes.filter { $0.0 != holders.first }.map(\.1)
            try require(
                others.allSatisfy { $0 == .inFlight(lockedUntil: 130) },
                "the others saw \(others)"
            )
            let row = try await second.read { tx in try tx.idempotencyKey(apiKey: "scope", key: "raced") }
            try require(row?.lockedBy == holders.first, "the stored holder is \(String(describing: row?.lockedBy))")
        },
        Check(name: "two instances racing refunds of one charge never refund more than it captured") { first, second in
            let intent = intent("pi_inst3", created: 100)
            var succeeded = charge("ch_inst3", intent: intent.id, status: .succeeded)
            succeeded.captured = true
            succeeded.amountCaptured = succeeded.amount
            let captured = succeeded
            try await first.write { tx in
                try tx.insert(intent)
                try tx.insert(captured)
            }
            // As the refund use case does: read the charge, check what is left, reserve the amount, record it.
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        do {
                            try await store.write { tx in
                                guard var charge = try tx.charge("ch_inst3") else { throw Abort() }
                                guard charge.amountCaptured - charge.amountRefunded >= 500 else { throw Abort() }
                                charge.amountRefunded += 500
                                try tx.update(charge)
                                try tx.insert(
                                    Refund(
                                        id: "re_inst3_\(index)",
                                        created: 100,
                                        charge: charge.id,
                                        paymentIntent: intent.id,
                                        amount: 500,
                                        currency: "usd",
                                        reason: nil,
                                        metadata: [:]
                                    )
                                )
                            }
                            return true
                        } catch is Abort {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            let refunded = results.filter { $0 }.count
            try require(refunded == 4, "\(refunded) refunds of 500 passed against a charge of 2000")
            let stored = try await second.read { tx in
                (
                    try tx.charge("ch_inst3")?.amountRefunded,
                    try tx.refunds(paymentIntent: nil, charge: "ch_inst3", created: nil, page: PageRequest())
                        .items.reduce(0) { $0 + $1.amount }
                )
            }
            try require(
                stored.0 == 2_000 && stored.1 == 2_000,
                "refunded on the charge \(stored.0 ?? -1), in refunds \(stored.1)"
            )
        },
        Check(name: "two instances' due queries in write transactions at once never hand one row to both") {
            first,
            second in
            try await insertIntents(into: first, named: "pi_inst4") { intent, index in
                intent.status = .requiresAction
                intent.attemptExpiresAt = 200 + Int64(index)
            }
            // As the sweeper's rule a: read the due rows and move each by compare-and-set, in one write.
            @Sendable func sweep(_ tx: any StoreTransaction, limit: Int) throws -> [String] {
                let due = try tx.attemptsDue(at: 1_000, limit: limit)
                for intent in due {
                    let moved = intent.with {
                        $0.status = .requiresPaymentMethod
                        $0.attemptExpiresAt = nil
                    }
                    guard try tx.update(moved, expecting: intent.status) else { throw Abort() }
                }
                return due.map(\.id)
            }
            let (taken, theirs) = try await whileFirstHolds(
                first,
                { tx in try sweep(tx, limit: 3) },
                second,
                { tx in try sweep(tx, limit: 10) }
            )
            try require(Set(taken).isDisjoint(with: theirs), "handed to both: \(Set(taken).intersection(theirs))")
            try require(
                Set(taken + theirs) == Set((0..<6).map { "pi_inst4_\($0)" }) && taken.count == 3,
                "first took \(taken), second \(theirs)"
            )
        },
        Check(name: "a due query read page by page sees every due row, even rows another write holds locked") {
            first,
            second in
            // As rule b: uncaptured authorizations past their lifetime, read in pages after a position.
            try await insertIntents(into: first, named: "pi_inst5") { intent, index in
                intent.status = .requiresCapture
                intent.authorizedAt = 110 + Int64(index)
            }
            // The first reads the first page in a write and holds it open, as a second sweeper does when it reads
            // a batch before it finds the rule's lease taken; the second pages through all of them meanwhile.
            let (_, paged) = try await whileFirstHolds(
                first,
                { tx in try tx.authorizationsDue(authorizedAtOrBefore: 1_000, after: .start, limit: 3) },
                second,
                { tx -> [String] in
                    var (position, ids) = (SweepPosition.start, [String]())
                    while true {
                        let page = try tx.authorizationsDue(authorizedAtOrBefore: 1_000, after: position, limit: 2)
                        ids += page.map(\.intent.id)
                        guard let last = page.last else { break }
                        position = last.position
                    }
                    return ids
                }
            )
            try require(
                paged == (0..<6).map { "pi_inst5_\($0)" },
                "the pages passed over rows another write held: read \(paged)"
            )
        },
    ]

    /// Inserts six intents, `name_0` to `name_5` (created at 100), each as `change` makes it given its index.
    static func insertIntents(
        into store: any PaymentStore,
        named name: String,
        _ change: @escaping @Sendable (inout PaymentIntent, Int) -> Void
    ) async throws {
        try await store.write { tx in
            for index in 0..<6 {
                var row = intent("\(name)_\(index)", created: 100)
                change(&row, index)
                try tx.insert(row)
            }
        }
    }

    /// Runs `mine` in a write of `first` and, while that write is still open, `theirs` in a write of `second`: the
    /// first holds what it read or locked until the second has run (or, on a store whose writers take turns, until a
    /// second has passed and the second is still waiting for its turn).
    /// - Returns: what each returned.
    static func whileFirstHolds<Mine: Sendable, Theirs: Sendable>(
        _ first: any PaymentStore,
        _ mine: @escaping @Sendable (any StoreTransaction) throws -> Mine,
        _ second: any PaymentStore,
        _ theirs: @escaping @Sendable (any StoreTransaction) throws -> Theirs
    ) async throws -> (Mine, Theirs) {
        let firstRan = Mutex(false)
        let secondRan = Mutex(false)
        async let held = first.write { tx -> Mine in
            let result = try mine(tx)
            firstRan.withLock { $0 = true }
            waitFor(secondRan, seconds: 1)
            return result
        }
        for _ in 0..<2_000 where !firstRan.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
        let other = try await second.write { tx -> Theirs in
            let result = try theirs(tx)
            secondRan.withLock { $0 = true }
            return result
        }
        return (try await held, other)
    }

    /// Waits on the calling thread (a transaction's body) until `flag` is set, at most `seconds`.
    static func waitFor(_ flag: borrowing Mutex<Bool>, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while !flag.withLock({ $0 }), Date() < deadline { usleep(2_000) }
    }
}
