import Foundation
import PaymentsCore

extension StoreConformance {
    /// The sweeper's batch writes (`insert(charges:)`, `insert(events:)`, `update(intents:)`, `update(charges:)`):
    /// every row reads back as one-by-one writes leave it, whatever the batch's size; a compare-and-set saves only
    /// the rows still in their status; a batch with one bad row writes none of its rows.
    static let batchChecks: [Check] = [
        Check(name: "charges and events inserted in batches of 0, 1 and 117 read back equal, every one") { store in
            let intent = intent("pi_conf20", created: 100)
            try await store.write { tx in try tx.insert(intent) }
            for (round, size) in [0, 1, 117].enumerated() {
                // Mixed shapes: some charges with every optional field set, some with none.
                let charges = (0..<size).map { index in
                    var charge = charge("ch_conf20_\(round)_\(index)", intent: intent.id, status: .failed)
                    if index.isMultiple(of: 3) {
                        charge.fail(with: .attemptExpired(paymentMethod: "pm_\(index)"), at: 100 + Int64(index))
                        charge.threeDSecure = "expired"
                    }
                    return charge
                }
                let events = (0..<size * 2).map { index in
                    Event(
                        id: "evt_conf20_\(round)_\(index)",
                        // Later rounds later: an event is never stored older than the newest before it
                        created: 1_000 * Int64(round) + Int64(index),
                        type: index.isMultiple(of: 2) ? "charge.failed" : "payment_intent.payment_failed",
                        objectType: index.isMultiple(of: 2) ? .charge : .paymentIntent,
                        objectID: index.isMultiple(of: 2) ? "ch_conf20_\(round)_\(index / 2)" : intent.id,
                        snapshot: Array("{\"n\":\(index),\"quote\":\"\\\"ü\"}".utf8)
                    )
                }
                try await store.write { tx in
                    try tx.insert(charges: charges)
                    try tx.insert(events: events)
                }
                for expected in charges {
                    let read = try await store.read { tx in try tx.charge(expected.id) }
                    try require(read == expected, "\(expected.id) of \(size) read back as \(String(describing: read))")
                }
                for expected in events {
                    let read = try await store.read { tx in try tx.event(expected.id) }
                    try require(read == expected, "\(expected.id) of \(size) read back as \(String(describing: read))")
                }
            }
        },
        Check(name: "events filter by exact types and by `*` patterns, whose `_` and `.` match only themselves") {
            store in
            let types = [
                "payment_intent.created", "payment_intent.succeeded", "charge.succeeded", "paymentXintent.created",
                "payment_intentXcreated", "refund.created",
            ]
            let events = types.enumerated().map { index, type in
                Event(
                    id: "evt_conf30_\(index)",
                    created: 100 + Int64(index),
                    type: type,
                    objectType: .paymentIntent,
                    objectID: "pi_conf30",
                    snapshot: Array("{}".utf8)
                )
            }
            try await store.write { tx in try tx.insert(events: events) }
            for (filter, expected) in [
                (["payment_intent.*"], ["payment_intent.created", "payment_intent.succeeded"]),
                (["*.succeeded"], ["charge.succeeded", "payment_intent.succeeded"]),
                (["*"], types.sorted()),
                (["refund.created", "charge.*"], ["charge.succeeded", "refund.created"]),
                (["payment_intent.created"], ["payment_intent.created"]),
            ] {
                let page = try await store.read { tx in
                    try tx.events(types: filter, created: nil, page: PageRequest(limit: 100))
                }
                let found = page.items.map(\.type).sorted()
                try require(found == expected, "\(filter) found \(found)")
            }
        },
        Check(name: "a batch of compare-and-sets saves every intent still in its status, as it is, and no other") {
            store in
            let intents = (0..<113).map { intent("pi_conf22_\($0)", created: 100 + Int64($0)) }
            try await store.write { tx in for intent in intents { try tx.insert(intent) } }
            // Two intents change status before the batch: their compare-and-sets must fail.
            let stale: Set = [intents[5].id, intents[111].id]
            try await store.write { tx in
                for intent in intents where stale.contains(intent.id) {
                    _ = try tx.update(intent.with { $0.status = .canceled }, expecting: intent.status)
                }
            }
            // Changes of different shapes: some change several columns (NULLs included), some only the status.
            let changes = intents.enumerated().map { index, before in
                let after = before.with {
                    $0.status = .processing
                    if index.isMultiple(of: 2) {
                        $0.latestCharge = "ch_conf22_\(index)"
                        $0.metadata = ["batch": "\(index)"]
                        $0.lastPaymentError = .attemptExpired(paymentMethod: nil)
                        $0.clientSecret = before.clientSecret
                    }
                }
                return (intent: after, before: before)
            }
            let saved = try await store.write { tx in try tx.update(intents: changes) }
            try require(saved == Set(intents.map(\.id)).subtracting(stale), "saved \(saved.count): \(saved.sorted())")
            for (after, before) in changes {
                let read = try await store.read { tx in try tx.paymentIntent(after.id) }
                let expected = stale.contains(after.id) ? before.with { $0.status = .canceled } : after
                try require(read == expected, "\(after.id) read back as \(String(describing: read))")
            }
        },
        Check(name: "a batch of charge saves writes every charge as it is") { store in
            // One intent per charge: an intent has at most one succeeded charge.
            let intents = (0..<27).map { intent("pi_conf23_\($0)", created: 100) }
            let charges = intents.map { charge("ch_" + $0.id.dropFirst(3), intent: $0.id, status: .pending) }
            try await store.write { tx in
                for intent in intents { try tx.insert(intent) }
                try tx.insert(charges: charges)
            }
            let changes = charges.enumerated().map { index, before in
                var after = before
                if index.isMultiple(of: 3) {
                    after.fail(with: .attemptExpired(paymentMethod: "pm_\(index)"), at: 200)
                } else {
                    after.approve(authorizationCode: "code\(index)", at: 200)
                    if index.isMultiple(of: 2) { after.releaseAuthorization() }
                }
                return (charge: after, before: before)
            }
            try await store.write { tx in try tx.update(charges: changes) }
            for (after, _) in changes {
                let read = try await store.read { tx in try tx.charge(after.id) }
                try require(read == after, "\(after.id) read back as \(String(describing: read))")
            }
        },
        Check(name: "a batch of charges with one refused row stores none of them") { store in
            let intent = intent("pi_conf21", created: 100)
            try await store.write { tx in
                try tx.insert(intent)
                try tx.insert(charge("ch_conf21_ok", intent: intent.id, status: .succeeded))
            }
            // The 12th of 15 is a second succeeded charge for the intent: refused, and the batch with it.
            let charges = (0..<15).map { index in
                charge("ch_conf21_\(index)", intent: intent.id, status: index == 11 ? .succeeded : .failed)
            }
            do {
                try await store.write { tx in try tx.insert(charges: charges) }
                throw Failure(description: "a batch with a second succeeded charge was stored")
            } catch is Failure {
                throw Failure(description: "a batch with a second succeeded charge was stored")
            } catch {}
            for charge in charges {
                try require(try await store.read { tx in try tx.charge(charge.id) } == nil, "\(charge.id) is there")
            }
        },
    ]
}
