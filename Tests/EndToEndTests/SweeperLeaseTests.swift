import Foundation
import GRDB
import Synchronization
import TestSupport
import Testing

/// The sweeper's rule leases with the built binary, on SQLite and on PostgreSQL: two `payments sweep` processes at
/// once on one database run each rule in one of them and handle every due row once; a sweep killed with SIGKILL
/// while it holds a rule's lease keeps that rule from the next sweep only until the lease runs out.
@Suite("sweeper leases: one pass at a time per rule, end to end")
struct SweeperLeaseTests {
    /// Which store the server and the sweeps use.
    enum Store: String, CustomStringConvertible, CaseIterable {
        case sqlite, postgres
        var description: String { rawValue }
    }

    /// A server on one store, with what it takes to run `payments sweep` beside it and to read its tables.
    struct Setup: Sendable {
        let server: ServerProcess
        /// The environment the server runs with (the database URL on PostgreSQL), for the sweeps too.
        let environment: [String: String]
        /// Runs an admin's SQL on the service's database: rows a line, columns separated by `|`.
        let sql: @Sendable (String) throws -> String

        /// Runs `payments sweep` on the server's database (and its card network ledger) with `arguments`.
        func sweep(_ arguments: [String], environment extra: [String: String] = [:]) async throws -> (
            termination: Termination, output: String
        ) {
            try await runToCompletion(
                try PaymentsBinary.path(),
                ["sweep"] + server.databaseArguments + arguments,
                environment: server.commandEnvironment(environment.merging(extra) { _, new in new }),
                in: server.folder
            )
        }

        /// An integer the SQL answers.
        func count(_ query: String) throws -> Int { Int(try sql(query)) ?? -1 }
    }

    /// The server's own sweeper is off: its passes would take leases too (the skips these tests count are the
    /// sweeps' own).
    static let serverOnly = ["PAYMENTS_SWEEP_INTERVAL": "0"]

    /// Starts a server on `store` (a throwaway PostgreSQL cluster for `.postgres`), runs `body`, stops everything.
    static func withSetup(_ store: Store, _ body: (Setup) async throws -> Void) async throws {
        switch store {
        case .sqlite:
            try await withServer(environment: serverOnly) { server in
                let path = server.db.path
                try await body(
                    Setup(server: server, environment: [:]) { query in
                        var configuration = Configuration()
                        configuration.readonly = true
                        configuration.busyMode = .timeout(5)
                        return try DatabaseQueue(path: path, configuration: configuration).read { db in
                            try Row.fetchAll(db, sql: query).map { row in
                                row.databaseValues.map(Self.text).joined(separator: "|")
                            }
                            .joined(separator: "\n")
                        }
                    }
                )
            }
        case .postgres:
            let cluster = try await PostgresServer.started()
            defer { cluster.stop() }
            let database = try await cluster.newDatabase()
            let environment = ["PAYMENTS_DATABASE_URL": cluster.url(database: database)]
            try await withServer(environment: environment.merging(serverOnly) { _, new in new }) { server in
                try await body(
                    Setup(server: server, environment: environment) { query in
                        try cluster.psql(database: database, query)
                    }
                )
            }
        }
    }

    /// A SQLite value as `psql -tA` prints it.
    static func text(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: ""
        case .int64(let integer): "\(integer)"
        case .double(let double): "\(double)"
        case .string(let string): string
        case .blob(let data): "\(data.count) bytes"
        }
    }

    /// The rules a sweep named as leased elsewhere (skipped, or stopped, because another pass held them).
    static func leasedElsewhere(_ output: String) -> [String] {
        for line in output.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("leased elsewhere:") else { continue }
            return text.dropFirst("leased elsewhere:".count).split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        return []
    }

    /// The sweeper's rules, as the leases name them.
    static let rules = [
        "expire_attempts", "expire_setup_attempts", "cancel_authorizations", "prune_idempotency_keys",
        "recover_pending_charges", "settle_pending_refunds", "update_settling_refunds", "prune_events",
    ]

    /// Every intent of `expired` ended its attempt once and every intent of `canceled` was canceled once, read from
    /// the service's tables and the card network's ledger.
    static func expectHandledOnce(_ setup: Setup, expired: [String], canceled: [String], _ comment: String) throws {
        for id in expired {
            #expect(
                try setup.sql("SELECT status FROM payment_intents WHERE id = '\(id)'") == "requires_payment_method",
                "\(id) \(comment)"
            )
            let charges = try setup.count(
                """
                SELECT count(*) FROM charges WHERE payment_intent = '\(id)' AND status = 'failed'
                AND failure_code = 'payment_intent_payment_attempt_expired'
                """
            )
            #expect(charges == 1, "\(id) has \(charges) expired attempts recorded \(comment)")
            let events = try setup.count(
                "SELECT count(*) FROM events WHERE object_id = '\(id)' AND type = 'payment_intent.payment_failed'"
            )
            #expect(events == 1, "\(id) has \(events) payment_failed events \(comment)")
        }
        let voided = try Ledgers(folder: setup.server.folder).read("card-network.sqlite") { db in
            try String.fetchAll(db, sql: "SELECT attempt_id FROM authorizations WHERE voided = 1")
        }
        for id in canceled {
            #expect(
                try setup.sql("SELECT status, cancellation_reason FROM payment_intents WHERE id = '\(id)'")
                    == "canceled|automatic",
                "\(id) \(comment)"
            )
            let events = try setup.count(
                "SELECT count(*) FROM events WHERE object_id = '\(id)' AND type = 'payment_intent.canceled'"
            )
            #expect(events == 1, "\(id) has \(events) canceled events \(comment)")
            let charge = try setup.sql("SELECT latest_charge FROM payment_intents WHERE id = '\(id)'")
            #expect(voided.filter { $0 == charge }.count == 1, "\(charge) voided once at the network \(comment)")
        }
    }

    @Test(
        "two payments sweep at once on one database: each rule run by one of them, every row handled once",
        arguments: Store.allCases
    )
    func twoSweepsAtOnce(store: Store) async throws {
        try await Self.withSetup(store) { setup in
            // Given 24 abandoned challenges and 8 uncaptured authorizations, due eight days from now
            let server = setup.server
            let expired = try await SweepExactlyOnceTests.intents(
                server,
                count: 24,
                SweepExactlyOnceTests.challenged,
                status: "requires_action"
            )
            let canceled = try await SweepExactlyOnceTests.intents(
                server,
                count: 8,
                SweepExactlyOnceTests.authorized,
                status: "requires_capture"
            )
            let later = String(Int(Date().timeIntervalSince1970) + 8 * 86_400)

            // When two passes run at the same time, in batches of three
            async let first = setup.sweep(["--now", later, "--batch-size", "3"])
            async let second = setup.sweep(["--now", later, "--batch-size", "3"])
            let runs = try await [first, second]

            // Then both succeed, and each rule's rows were all moved by one of them: a rule's lease kept the other
            // away while it ran (without it, the two interleave their batches and split the rows)
            for run in runs { #expect(run.termination.isCleanExit, "\(run.output)") }
            let outputs = runs.map(\.output)
            let expiredCounts = runs.map { SweepExactlyOnceTests.count("attempts expired", in: $0.output) ?? -1 }
            let canceledCounts = runs.map {
                SweepExactlyOnceTests.count("authorizations canceled", in: $0.output) ?? -1
            }
            #expect(expiredCounts.sorted() == [0, 24], "\(outputs)")
            #expect(canceledCounts.sorted() == [0, 8], "\(outputs)")
            // And every rule ran in at least one of them: a pass skips a rule only while another holds it
            let skipped = runs.map { Set(Self.leasedElsewhere($0.output)) }
            for rule in Self.rules {
                #expect(
                    !(skipped[0].contains(rule) && skipped[1].contains(rule)),
                    "\(rule) skipped by both: \(outputs)"
                )
            }
            for (run, names) in zip(runs, skipped) {
                #expect(SweepExactlyOnceTests.count("rules skipped", in: run.output) == names.count, "\(run.output)")
                #expect(names.isSubset(of: Set(Self.rules)), "\(run.output)")
            }

            // And every row was handled once, and no lease is left behind
            try Self.expectHandledOnce(setup, expired: expired, canceled: canceled, "after two racing passes")
            #expect(try setup.count("SELECT count(*) FROM sweeper_leases") == 0)
        }
    }

    @Test("on PostgreSQL a pass refused a rule's lease locks none of the rule's rows, so the holder's batches find all")
    func refusedPassLocksNothing() async throws {
        try await Self.withSetup(.postgres) { setup in
            // Given six abandoned challenges, due eight days from now, and another pass's live lease on their rule,
            // whose row that pass's open transaction holds (a renewal not yet committed)
            let expired = try await SweepExactlyOnceTests.intents(
                setup.server,
                count: 6,
                SweepExactlyOnceTests.challenged,
                status: "requires_action"
            )
            let now = Int(Date().timeIntervalSince1970)
            let later = String(now + 8 * 86_400)
            _ = try setup.sql(
                "INSERT INTO sweeper_leases (rule, holder, leased_until) VALUES ('expire_attempts', 'other', \(now + 3_600))"
            )
            let holding = Task {
                try? await offCooperativePool {
                    try setup.sql(
                        """
                        BEGIN; UPDATE sweeper_leases SET leased_until = leased_until WHERE rule = 'expire_attempts';
                        SELECT pg_sleep(60); ROLLBACK;
                        """
                    )
                }
            }
            let renewing = """
                SELECT count(*) FROM pg_stat_activity
                WHERE query LIKE '%pg_sleep(60)%' AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()
                """
            let deadline = Date().addingTimeInterval(30)
            while try setup.count(renewing) == 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
            try #require(try setup.count(renewing) == 1, "the other pass's transaction did not start")

            // When a pass runs meanwhile, in batches of two
            let finished = Mutex(false)
            let sweep = Task {
                defer { finished.withLock { $0 = true } }
                return try await setup.sweep(["--now", later, "--batch-size", "2"])
            }
            // Then, for as long as it runs, every due row stays free for the holder to lock: the pass left the rule
            // at the sight of the lease (before, it read and locked three rows, then waited for the lease's row)
            let free = """
                SELECT count(*) FROM (SELECT id FROM payment_intents WHERE status = 'requires_action'
                FOR NO KEY UPDATE SKIP LOCKED) AS free
                """
            var fewestFree = expired.count
            let patience = Date().addingTimeInterval(20)
            while !finished.withLock({ $0 }), Date() < patience {
                fewestFree = min(fewestFree, try setup.count(free))
                try await Task.sleep(for: .milliseconds(25))
            }
            let finishedWhileHeld = finished.withLock { $0 }
            _ = try setup.sql(
                """
                SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()
                """
            )
            let run = try await sweep.value
            _ = await holding.value
            #expect(fewestFree == expired.count, "the refused pass held \(expired.count - fewestFree) due rows locked")
            #expect(finishedWhileHeld, "the refused pass waited for the lease's row: \(run.output)")
            #expect(run.termination.isCleanExit, "\(run.output)")
            #expect(Self.leasedElsewhere(run.output) == ["expire_attempts"], "\(run.output)")
            #expect(SweepExactlyOnceTests.count("attempts expired", in: run.output) == 0, "\(run.output)")

            // And once the lease is gone, one pass expires all six, each once
            _ = try setup.sql("DELETE FROM sweeper_leases WHERE rule = 'expire_attempts'")
            let after = try await setup.sweep(["--now", later, "--batch-size", "2"])
            #expect(SweepExactlyOnceTests.count("attempts expired", in: after.output) == 6, "\(after.output)")
            try Self.expectHandledOnce(setup, expired: expired, canceled: [], "after the lease was released")
        }
    }

    @Test(
        "a sweep killed with SIGKILL while holding a rule's lease blocks that rule only until the lease runs out",
        arguments: Store.allCases
    )
    func killedHolder(store: Store) async throws {
        try await Self.withSetup(store) { setup in
            // Given five abandoned challenges and three uncaptured authorizations, due eight days from now
            let server = setup.server
            let expired = try await SweepExactlyOnceTests.intents(
                server,
                count: 5,
                SweepExactlyOnceTests.challenged,
                status: "requires_action"
            )
            let canceled = try await SweepExactlyOnceTests.intents(
                server,
                count: 3,
                SweepExactlyOnceTests.authorized,
                status: "requires_capture"
            )
            let later = String(Int(Date().timeIntervalSince1970) + 8 * 86_400)
            let lease = 10

            // When a pass in batches of two, with a 10-second lease, is killed with SIGKILL after its first batch
            let killed = try await setup.sweep(
                ["--now", later, "--batch-size", "2"],
                environment: ["PAYMENTS_FAULT_POINT": "after-sweep-batch", "PAYMENTS_SWEEPER_LEASE": "\(lease)"]
            )
            let killedAt = Int64(Date().timeIntervalSince1970)
            #expect(killed.termination == Termination(reason: .uncaughtSignal, status: SIGKILL), "\(killed.output)")
            // Then its lease on the rule it was running is still in the table, running out within the lease length
            let row = try setup.sql("SELECT holder, leased_until FROM sweeper_leases WHERE rule = 'expire_attempts'")
            let leasedUntil = try #require(Int64(row.split(separator: "|").last ?? ""), "lease row: \(row)")
            #expect(leasedUntil <= killedAt + Int64(lease) && leasedUntil > killedAt, "\(row), killed at \(killedAt)")
            #expect(try setup.count("SELECT count(*) FROM payment_intents WHERE status = 'requires_action'") == 3)

            // When another pass runs at once
            let blocked = try await setup.sweep(["--now", later])
            // Then it skips that rule and says so, and runs every other: the authorizations are canceled
            #expect(blocked.termination.isCleanExit, "\(blocked.output)")
            #expect(Self.leasedElsewhere(blocked.output) == ["expire_attempts"], "\(blocked.output)")
            #expect(SweepExactlyOnceTests.count("attempts expired", in: blocked.output) == 0, "\(blocked.output)")
            #expect(
                SweepExactlyOnceTests.count("authorizations canceled", in: blocked.output) == 3,
                "\(blocked.output)"
            )
            #expect(try setup.count("SELECT count(*) FROM payment_intents WHERE status = 'requires_action'") == 3)

            // When a pass runs once the dead holder's lease ran out
            while Int64(Date().timeIntervalSince1970) < leasedUntil { try await Task.sleep(for: .milliseconds(200)) }
            let rerun = try await setup.sweep(["--now", later])
            let rerunAt = Int64(Date().timeIntervalSince1970)

            // Then it takes the rule over and expires the three attempts left, no sooner than the lease allowed and
            // no later than a lease length (and a pass) after the kill
            #expect(rerun.termination.isCleanExit, "\(rerun.output)")
            #expect(Self.leasedElsewhere(rerun.output).isEmpty, "\(rerun.output)")
            #expect(SweepExactlyOnceTests.count("attempts expired", in: rerun.output) == 3, "\(rerun.output)")
            #expect(rerunAt - killedAt <= Int64(lease) + 5, "the rule stayed blocked \(rerunAt - killedAt) s")
            try Self.expectHandledOnce(setup, expired: expired, canceled: canceled, "after the takeover")
            #expect(try setup.count("SELECT count(*) FROM sweeper_leases") == 0)
        }
    }
}
