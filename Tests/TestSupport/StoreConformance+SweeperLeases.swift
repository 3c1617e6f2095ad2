import Foundation
import PaymentsCore

extension StoreConformance {
    /// The sweeper's rule leases (`sweeper_leases`): one holder at a time per rule, across instances; a lease that
    /// ran out is taken over; only its holder renews or releases it.
    static let sweeperLeaseChecks: [Check] = [
        Check(name: "two instances' sweepers racing for one rule's lease: exactly one gets it") { first, second in
            let holders = try await withThrowingTaskGroup(of: String?.self) { group in
                for index in 0..<16 {
                    let store = index.isMultiple(of: 2) ? first : second
                    group.addTask {
                        let holder = "sweeper-\(index)"
                        let taken = try await store.write { tx in
                            try tx.takeSweeperLease(rule: "expire_attempts", holder: holder, now: 100, leasedUntil: 130)
                        }
                        return taken ? holder : nil
                    }
                }
                return try await group.reduce(into: [String]()) { if let won = $1 { $0.append(won) } }
            }
            try require(holders.count == 1, "\(holders.count) sweepers hold the lease: \(holders)")
            let stored = try await second.read { tx in try tx.sweeperLease(rule: "expire_attempts") }
            try require(
                stored == SweeperLease(rule: "expire_attempts", holder: holders[0], leasedUntil: 130),
                "the stored lease is \(String(describing: stored)), the winner \(holders[0])"
            )
            // Another rule's lease is its own.
            let other = try await first.write { tx in
                try tx.takeSweeperLease(rule: "prune_events", holder: "sweeper-x", now: 100, leasedUntil: 130)
            }
            try require(other, "a lease on another rule was refused")
        },
        Check(name: "a sweeper lease that ran out is taken over; before that, and by then, its holder's renewal wins") {
            store in
            func take(_ holder: String, now: Int64) async throws -> Bool {
                try await store.write { tx in
                    try tx.takeSweeperLease(
                        rule: "cancel_authorizations",
                        holder: holder,
                        now: now,
                        leasedUntil: now + 30
                    )
                }
            }
            try require(try await take("a", now: 100), "a free lease was refused")
            try require(!(try await take("b", now: 129)), "a live lease (until 130) was taken over at 129")
            try require(try await take("a", now: 129), "the holder's renewal at 129 failed")
            try require(!(try await take("b", now: 158)), "the renewed lease (until 159) was taken over at 158")
            try require(try await take("b", now: 159), "a lease that ran out at 159 was not taken over at 159")
            let stored = try await store.read { tx in try tx.sweeperLease(rule: "cancel_authorizations") }
            try require(
                stored == SweeperLease(rule: "cancel_authorizations", holder: "b", leasedUntil: 189),
                "after the takeover the lease is \(String(describing: stored))"
            )
        },
        Check(name: "a sweeper lease's renewal or release by a non-holder fails and changes nothing") { store in
            try require(
                try await store.write { tx in
                    try tx.takeSweeperLease(rule: "recover_pending_charges", holder: "a", now: 100, leasedUntil: 130)
                },
                "a free lease was refused"
            )
            let renewed = try await store.write { tx in
                try tx.takeSweeperLease(rule: "recover_pending_charges", holder: "b", now: 110, leasedUntil: 140)
            }
            try require(!renewed, "a non-holder renewed a live lease")
            let released = try await store.write { tx in
                try tx.releaseSweeperLease(rule: "recover_pending_charges", holder: "b")
            }
            try require(!released, "a non-holder released a live lease")
            let held = try await store.read { tx in try tx.sweeperLease(rule: "recover_pending_charges") }
            try require(
                held == SweeperLease(rule: "recover_pending_charges", holder: "a", leasedUntil: 130),
                "a non-holder's renewal or release changed the lease: \(String(describing: held))"
            )
            // The holder's release frees the rule at once, long before its lease would have run out.
            let freed = try await store.write { tx in
                try tx.releaseSweeperLease(rule: "recover_pending_charges", holder: "a")
            }
            try require(freed, "the holder's release failed")
            try require(
                try await store.read { tx in try tx.sweeperLease(rule: "recover_pending_charges") } == nil,
                "a released lease is still stored"
            )
            let next = try await store.write { tx in
                try tx.takeSweeperLease(rule: "recover_pending_charges", holder: "b", now: 111, leasedUntil: 141)
            }
            try require(next, "a released lease was refused to the next holder")
        },
    ]
}
