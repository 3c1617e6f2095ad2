import Foundation
import GRDB
import TestSupport

/// Read-only looks at a stopped or running server's two ledgers, for invariants the API cannot show: the service's
/// charges (in `payments.sqlite`, or in the PostgreSQL database the folder names, see ``TestStore``) and the card
/// network's own ledger of authorizations (always `card-network.sqlite` in the folder).
struct Ledgers {
    let folder: URL

    /// The store holding the service's tables.
    var store: TestStore { TestStore.of(folder: folder) }

    private func open(_ name: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        return try DatabaseQueue(path: folder.appendingPathComponent(name).path, configuration: configuration)
    }

    /// Runs `body` on a read-only connection to one of the SQLite files (`payments.sqlite` of a SQLite server, or
    /// `card-network.sqlite`), for a check of a test's own.
    func read<T>(_ name: String, _ body: (Database) throws -> T) throws -> T {
        try open(name).read(body)
    }

    /// Runs `sql` on the service's database, whichever the store, and returns its rows as strings: integers in
    /// decimal, text as it is, NULL as an empty string. Each `?` in `sql` takes the next of `arguments` (bound on
    /// SQLite, quoted as a literal for `psql` on PostgreSQL). The SQL must read the same on both stores; a
    /// boolean reads `1`/`0` on SQLite and `t`/`f` on PostgreSQL, so count rows instead.
    func query(_ sql: String, _ arguments: [String] = []) async throws -> [[String]] {
        switch store {
        case .sqlite:
            return try await open("payments.sqlite").read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                    row.databaseValues.map(Self.text)
                }
            }
        case .postgres:
            guard let database = store.database(in: folder) else {
                throw EndToEndError("no PostgreSQL database named in \(folder.path)")
            }
            // psql blocks until it answers: off the cooperative threads, so the other tests' timing holds.
            let inlined = try Self.inline(sql, arguments)
            return try await offCooperativePool { try SharedPostgres.cluster().rows(database: database, inlined) }
        }
    }

    /// Runs `sql`, which changes the service's database (a test ageing its rows), whichever the store.
    func execute(_ sql: String) async throws {
        switch store {
        case .sqlite:
            var configuration = Configuration()
            configuration.busyMode = .timeout(5)
            let queue = try DatabaseQueue(
                path: folder.appendingPathComponent("payments.sqlite").path,
                configuration: configuration
            )
            try await queue.write { db in try db.execute(sql: sql) }
            try queue.close()
        case .postgres:
            guard let database = store.database(in: folder) else {
                throw EndToEndError("no PostgreSQL database named in \(folder.path)")
            }
            _ = try await offCooperativePool { try SharedPostgres.cluster().rows(database: database, sql) }
        }
    }

    /// The first column of the first row of `sql`, as an integer (a count).
    func count(_ sql: String, _ arguments: [String] = []) async throws -> Int {
        let rows = try await query(sql, arguments)
        guard let text = rows.first?.first, let value = Int(text) else {
            throw EndToEndError("\(sql) answered \(rows), not a number")
        }
        return value
    }

    /// A SQLite value as psql prints it.
    private static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: ""
        case .int64(let number): String(number)
        case .double(let number): String(number)
        case .string(let string): string
        case .blob(let data): "\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }

    /// `sql` with each `?` replaced by the next argument as a quoted literal (for psql, which binds nothing).
    private static func inline(_ sql: String, _ arguments: [String]) throws -> String {
        var remaining = arguments[...]
        var result = ""
        for character in sql {
            guard character == "?" else {
                result.append(character)
                continue
            }
            guard let argument = remaining.popFirst() else { throw EndToEndError("too few arguments for \(sql)") }
            result += "'" + argument.replacingOccurrences(of: "'", with: "''") + "'"
        }
        guard remaining.isEmpty else { throw EndToEndError("too many arguments for \(sql)") }
        return result
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
    func eventCounts(type: String) async throws -> [String: Int] {
        let rows = try await query("SELECT object_id, count(*) FROM events WHERE type = ? GROUP BY object_id", [type])
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0], Int($0[1]) ?? -1) })
    }

    /// The service's succeeded charges, by attempt id.
    func succeededCharges() async throws -> [String: String] {
        let rows = try await query("SELECT id, payment_intent FROM charges WHERE status = 'succeeded'")
        return Dictionary(uniqueKeysWithValues: rows.map { ($0[0], $0[1]) })
    }

    /// Intents with more than one successful charge (must be none).
    func intentsChargedTwice() async throws -> [String] {
        try await query(
            "SELECT payment_intent FROM charges WHERE status = 'succeeded' GROUP BY payment_intent HAVING count(*) > 1"
        )
        .map { $0[0] }
    }

    /// Charges still pending (an attempt whose outcome was never recorded).
    func pendingCharges() async throws -> Int {
        try await count("SELECT count(*) FROM charges WHERE status = 'pending'")
    }

    /// Intents by status.
    func intentIDs(status: String) async throws -> Set<String> {
        Set(try await query("SELECT id FROM payment_intents WHERE status = ?", [status]).map { $0[0] })
    }

    /// Every intent id.
    func intentCount() async throws -> Int {
        try await count("SELECT count(*) FROM payment_intents")
    }
}
