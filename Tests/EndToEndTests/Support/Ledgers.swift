import Foundation
import GRDB

/// Read-only looks at a stopped or running server's two SQLite files, for invariants the API cannot show:
/// the service's charges and the card network's own ledger of authorizations.
struct Ledgers {
    let folder: URL

    private func open(_ name: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: folder.appendingPathComponent(name).path, configuration: configuration)
    }

    /// Runs `body` on a read-only connection to one of the two files (`payments.sqlite` or `card-network.sqlite`),
    /// for a check of a test's own.
    func read<T>(_ name: String, _ body: (Database) throws -> T) throws -> T {
        try open(name).read(body)
    }

    /// Approved authorizations at the card network: the charges that really happened.
    func networkApprovedAttempts() throws -> Set<String> {
        try Set(
            open("card-network.sqlite").read { db in
                try String.fetchAll(db, sql: "SELECT attempt_id FROM authorizations WHERE approved = 1")
            }
        )
    }

    /// How many events of `type` each object has.
    func eventCounts(type: String) throws -> [String: Int] {
        try open("payments.sqlite").read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT object_id, count(*) AS n FROM events WHERE type = ? GROUP BY object_id",
                arguments: [type]
            )
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["object_id"] as String, $0["n"] as Int) })
        }
    }

    /// The service's succeeded charges, by attempt id.
    func succeededCharges() throws -> [String: String] {
        try open("payments.sqlite").read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT id, payment_intent FROM charges WHERE status = 'succeeded'")
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as String, $0["payment_intent"] as String) })
        }
    }

    /// Intents with more than one successful charge (must be none).
    func intentsChargedTwice() throws -> [String] {
        try open("payments.sqlite").read { db in
            try String.fetchAll(
                db,
                sql: "SELECT payment_intent FROM charges WHERE status = 'succeeded' GROUP BY 1 HAVING count(*) > 1"
            )
        }
    }

    /// Charges still pending (an attempt whose outcome was never recorded).
    func pendingCharges() throws -> Int {
        try open("payments.sqlite").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM charges WHERE status = 'pending'") ?? 0
        }
    }

    /// Intents by status.
    func intentIDs(status: String) throws -> Set<String> {
        try Set(
            open("payments.sqlite").read { db in
                try String.fetchAll(db, sql: "SELECT id FROM payment_intents WHERE status = ?", arguments: [status])
            }
        )
    }

    /// Every intent id.
    func intentCount() throws -> Int {
        try open("payments.sqlite").read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_intents") ?? 0
        }
    }
}
