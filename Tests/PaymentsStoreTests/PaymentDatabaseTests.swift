import Foundation
import GRDB
import PaymentsCore
import PaymentsSQLite
import Synchronization
import TestSupport
import Testing

@testable import PaymentsStore

@Suite("Payment database")
struct PaymentDatabaseTests {
    /// The tables the first migration creates.
    static let tables = [
        "customers", "payment_methods", "card_vault", "payment_intents", "charges", "refunds", "idempotency_keys",
    ]

    static func open(_ path: String, synchronous: PaymentDatabase.SynchronousLevel = .full) throws -> PaymentDatabase {
        try PaymentDatabase(
            path: path,
            migrations: MigrationSet(folder: TestPaths.migrations),
            synchronous: synchronous
        )
    }

    // MARK: - Reads

    /// A fresh database holding one customer, and a second connection to its file that commits behind its back.
    struct OneCustomer {
        let database: PaymentDatabase
        let first: Customer
        let other: DatabaseQueue

        init() async throws {
            let path = try TestPaths.temporaryFolder().appendingPathComponent("payments.sqlite").path
            database = try PaymentDatabaseTests.open(path)
            first = StoreFixtures.customer()
            try await database.write { [first] tx in try tx.insert(first) }
            other = try DatabaseQueue(path: path)
        }

        /// Commits a second customer through the other connection, and returns it.
        func commitSecond() throws -> Customer {
            let second = StoreFixtures.customer(created: 2_000)
            try other.write { db in
                try db.execute(
                    sql: "INSERT INTO customers (id, created) VALUES (?, ?)",
                    arguments: [second.id, second.created]
                )
            }
            return second
        }
    }

    @Test("A read is one snapshot: a commit made between two of its statements is not seen by the second")
    func readIsOneSnapshot() async throws {
        // Given a database with one customer, and a second connection to the same file
        let given = try await OneCustomer()
        let page = PageRequest(limit: 10)

        // When another connection commits a customer between the read's two statements
        let (before, after) = try await given.database.read { tx in
            let before = try tx.customers(email: nil, created: nil, page: page).items.map(\.id)
            _ = try given.commitSecond()
            let after = try tx.customers(email: nil, created: nil, page: page).items.map(\.id)
            return (before, after)
        }

        // Then both statements saw the same snapshot, and a later read sees the new row
        #expect(before == [given.first.id])
        #expect(after == before)
        let later = try await given.database.read { tx in
            try tx.customers(email: nil, created: nil, page: page).items
        }
        #expect(later.count == 2)
    }

    @Test("A read that throws ends its transaction: its connection is lent again, and sees later commits")
    func throwingReadEndsItsTransaction() async throws {
        // Given a database with one customer, and a second connection to the same file
        let given = try await OneCustomer()
        let (database, first) = (given.database, given.first)
        struct Stop: Error {}

        // When a read throws after its snapshot began
        await #expect(throws: Stop.self) {
            try await database.read { tx in
                _ = try tx.customer(first.id)
                throw Stop()
            }
        }

        // Then its connection went back to the free list outside any transaction
        #expect(database.readers.idle == 1)
        let second = try given.commitSecond()
        // and the next read, on that same connection, sees the commit made since
        #expect(try await database.read { tx in try tx.customer(second.id) }?.id == second.id)
        #expect(database.readers.idle == 1)
    }

    @Test("A read cannot write, and reads running at once each get a connection of their own")
    func readsAreReadOnlyAndConcurrent() async throws {
        // Given a database with one customer
        let folder = try TestPaths.temporaryFolder()
        let database = try Self.open(folder.appendingPathComponent("payments.sqlite").path)
        let first = StoreFixtures.customer()
        try await database.write { tx in try tx.insert(first) }

        // When a read tries to write, then SQLite refuses it (query_only) and nothing is stored
        await #expect(throws: (any Error).self) {
            try await database.read { tx in try tx.insert(StoreFixtures.customer(created: 3_000)) }
        }
        #expect(try await database.read { tx in try tx.customer(first.id) } == first)

        // And 64 reads at once, from as many tasks, each find the customer (no read borrows a busy connection)
        let found = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<64 {
                group.addTask {
                    try await database.read { tx in
                        let before = try tx.customer(first.id)
                        usleep(1_000)  // hold the connection while others ask for one
                        let after = try tx.customer(first.id)
                        return before == first && after == first
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(found == 64)
    }

    // MARK: - Migrations

    @Test("A fresh file gets every migration, in order, and the schema")
    func freshFile() throws {
        // Given a path in an empty folder (its subfolder does not exist yet)
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("nested/payments.sqlite").path
        // When the database is opened
        let database = try Self.open(path)
        // Then every migration in the folder is applied, in order
        let expected = try MigrationSet(folder: TestPaths.migrations).migrations.map(\.name)
        #expect(!expected.isEmpty)
        #expect(try database.appliedMigrations() == expected)
        #expect(expected.first == "0001_initial")
        // And the tables exist, STRICT, in a WAL-mode file
        let raw = try StoreFixtures.rawConnection(path)
        try raw.read { db in
            for table in Self.tables {
                let strict = try Bool.fetchOne(
                    db,
                    sql: "SELECT strict FROM pragma_table_list WHERE name = ?",
                    arguments: [table]
                )
                #expect(strict == true, "\(table)")
            }
            #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
        }
    }

    @Test("Opening an already-migrated file applies nothing again and keeps the data")
    func alreadyMigrated() async throws {
        // Given a migrated file with a row in it
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        let first = try Self.open(path)
        let applied = try first.appliedMigrations()
        let customer = StoreFixtures.customer()
        try await first.write { tx in try tx.insert(customer) }
        // When the same file is opened again (as `payments migrate` does beside a running server)
        let second = try Self.open(path)
        // Then the migrations are unchanged and the row is still there
        #expect(try second.appliedMigrations() == applied)
        #expect(try first.appliedMigrations() == applied)
        let found = try await second.read { tx in try tx.customer(customer.id) }
        #expect(found == customer)
    }

    @Test("A file of another program's tables (the card network's ledger) is refused and left as it was")
    func foreignDatabase() throws {
        // Given a SQLite file with tables of its own and none of the service's migrations
        let path = try TestPaths.temporaryFolder().appendingPathComponent("card-network.sqlite").path
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: "CREATE TABLE refunds (id TEXT PRIMARY KEY); CREATE TABLE authorizations (id TEXT)")
        }
        // When it is opened as the payments database (as `payments migrate --db` it does)
        #expect {
            _ = try Self.open(path)
        } throws: { error in
            // Then it is refused, naming the file and its tables (it failed halfway on `table refunds already
            // exists`, printing the migration's SQL)
            guard let refused = error as? NotAPaymentsDatabase else { return false }
            return refused.tables == ["authorizations", "refunds"] && "\(refused)".contains(path)
        }
        // And the file is as it was: no bookkeeping table left behind
        let tables = try DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        }
        #expect(tables == ["authorizations", "refunds"])
    }

    @Test("A missing migrations folder is a clear error")
    func missingMigrationsFolder() throws {
        // When / Then
        #expect {
            _ = try MigrationSet(folder: "/nonexistent/migrations-\(UUID().uuidString)")
        } throws: { error in
            guard case MigrationSet.LoadError.folderMissing = error else { return false }
            return true
        }
    }

    @Test("A migrations folder without a .sql file is a clear error, not a database without tables")
    func emptyMigrationsFolder() throws {
        let folder = try TestPaths.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{}".utf8).write(to: folder.appendingPathComponent("development.json"))
        #expect {
            _ = try MigrationSet(folder: folder.path)
        } throws: { error in
            guard case MigrationSet.LoadError.empty(folder.path) = error else { return false }
            return "\(error)".contains("holds no .sql file")
        }
    }

    @Test("0009 rebuilds the tables keeping every row, its rowid, the indexes and the report views")
    func checksWithoutListsMigration() async throws {
        // Given a database at 0008 holding customers, cards, intents with a charge and a refund each, an event and an
        // idempotency key
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        let before = try PaymentDatabase(path: path, migrations: Self.migrations(before: "0009", in: folder))
        // The store writes the columns of the current schema, and 0012 added three to charges, 0013 one to intents and
        // charges and two to customers, 0014 two to payment methods, 0015 one to intents, 0016 one to charges: they are
        // added to the 0008 tables while the sample rows go in, and dropped after (with what the full rows held in
        // them: the rows are compared without)
        let laterColumns = [
            ("charges", "receipt_email"), ("charges", "statement_descriptor"),
            ("charges", "statement_descriptor_suffix"),
            ("charges", "shipping"), ("payment_intents", "shipping"), ("customers", "address"),
            ("customers", "shipping"), ("payment_methods", "address_line1_check"),
            ("payment_methods", "address_postal_code_check"), ("payment_intents", "settling"),
            ("charges", "named_payment_method"),
        ]
        try await DatabaseQueue(path: path).write { db in
            for (table, column) in laterColumns {
                try db.execute(sql: "ALTER TABLE \(table) ADD COLUMN \(column) TEXT")
            }
        }
        // Every optional column set in one set of rows and none in the other
        let full = SampleRows(.full, suffix: "migrate9full")
        let bare = SampleRows(.bare, suffix: "migrate9bare")
        try await before.write { tx in
            try full.insert(in: tx)
            try bare.insert(in: tx)
            _ = try tx.beginIdempotentRequest(
                apiKey: "key_hash",
                key: "migrate9",
                method: "POST",
                path: "/v1/payment_intents",
                fingerprint: "fp",
                requestID: "req_migrate9",
                token: "lease_migrate9",
                now: 106,
                lockedUntil: 136,
                expiresAt: 86_506
            )
        }
        // The event by hand: the store writes the columns of the current schema (0011 added some to events)
        try await DatabaseQueue(path: path).write { db in
            for (table, column) in laterColumns { try db.execute(sql: "ALTER TABLE \(table) DROP COLUMN \(column)") }
            try db.execute(
                sql: """
                    INSERT INTO events (id, created, type, object_type, object_id, snapshot)
                    VALUES ('evt_migrate9', 105, 'payment_intent.created', 'payment_intent', ?, '{"id":"pi_migrate9full"}')
                    """,
                arguments: [full.intent.id]
            )
        }
        let tables = ["payment_methods", "payment_intents", "charges", "refunds", "events", "setup_intents"]
        func snapshot(_ db: Database) throws -> [String: [Row]] {
            var rows: [String: [Row]] = [:]
            for table in tables {
                rows[table] = try Row.fetchAll(db, sql: "SELECT rowid, * FROM \(table) ORDER BY rowid")
            }
            rows["idempotency_keys"] = try Row.fetchAll(db, sql: "SELECT * FROM idempotency_keys ORDER BY 1, 2")
            rows["schema"] = try Row.fetchAll(
                db,
                sql: "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'view') ORDER BY name"
            )
            for view in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'view'") {
                rows[view] = try Row.fetchAll(db, sql: "SELECT * FROM \(view)")
            }
            return rows
        }
        let old = try StoreFixtures.rawConnection(path).read { db in try snapshot(db) }

        // When it is opened with the migrations up to 0009
        let after = try PaymentDatabase(path: path, migrations: Self.migrations(before: "0010", in: folder))

        // Then 0009 was applied, and every row (with its rowid), index and view is as it was, the views' rows too
        #expect(try after.appliedMigrations().last?.hasPrefix("0009") == true)
        let new = try StoreFixtures.rawConnection(path).read { db in try snapshot(db) }
        #expect(new == old)
        #expect(old["payment_intents"]?.count == 2 && old["refunds"]?.count == 2)
        #expect(old["events"]?.count == 1 && old["idempotency_keys"]?.count == 1)
        var (intent, charge) = (full.intent, full.charge)
        (intent.shipping, charge.shipping) = (nil, nil)
        // 0012 added the charge's copies of these
        (charge.receiptEmail, charge.statementDescriptor, charge.statementDescriptorSuffix) = (nil, nil, nil)
        // and 0016 whether its request named its card
        charge.namedPaymentMethod = nil
        #expect(try await after.read { tx in try tx.paymentIntent(full.intent.id) } == intent)
        #expect(try await after.read { tx in try tx.charge(full.charge.id) } == charge)
        let (foreignKeys, integrity) = try StoreFixtures.rawConnection(path).read { db in
            (
                try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"),
                try String.fetchAll(db, sql: "PRAGMA integrity_check")
            )
        }
        #expect(foreignKeys.isEmpty)
        #expect(integrity == ["ok"])
    }

    @Test("0014 marks a card saved with an address before it unchecked, and leaves one without an address null")
    func paymentMethodChecksMigration() async throws {
        // Given a database at 0013 with a card saved with a line 1 only, one with a postal code only, and one with none
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        _ = try PaymentDatabase(path: path, migrations: Self.migrations(before: "0014", in: folder))
        try await DatabaseQueue(path: path).write { db in
            for (id, billing) in [
                ("pm_line1", #"{"address":{"line1":"1 Main St"}}"#), ("pm_postal", #"{"address":{"postal_code":"1"}}"#),
                ("pm_none", #"{"address":{},"name":"Jenny"}"#),
            ] {
                try db.execute(
                    sql: """
                        INSERT INTO payment_methods (id, created, brand, last4, exp_month, exp_year, fingerprint,
                            funding, cvc_check, billing_details)
                        VALUES (?, 1, 'visa', '4242', 12, 2030, 'fp', 'credit', 'unchecked', ?)
                        """,
                    arguments: [id, billing]
                )
            }
        }
        // When 0014 is applied
        let after = try PaymentDatabase(path: path, migrations: MigrationSet(folder: TestPaths.migrations))
        // Then each datum a card has is unchecked, and the rest null
        let checks = try await after.read { tx in
            try ["pm_line1", "pm_postal", "pm_none"].map { id in
                let card = try #require(try tx.paymentMethod(id))
                return [card.addressLine1Check, card.addressPostalCodeCheck, card.cvcCheck]
            }
        }
        #expect(
            checks == [["unchecked", nil, "unchecked"], [nil, "unchecked", "unchecked"], [nil, nil, "unchecked"]]
        )
    }

    /// The migrations of the repository that come before `name` (a number such as "0009"), copied into a folder of
    /// their own inside `folder`: a database made with them is one made before `name` was written.
    static func migrations(before name: String, in folder: URL) throws -> MigrationSet {
        let all = try MigrationSet(folder: TestPaths.migrations).migrations
        let end = try #require(all.firstIndex { $0.name.hasPrefix(name) })
        let older = try write(
            all[..<end].map { ($0.name, $0.sql) },
            to: folder.appendingPathComponent("before-\(name)")
        )
        return try MigrationSet(folder: older.path)
    }

    /// Writes each migration (its name, its SQL) as `name.sql` into `folder`, made if missing; returns `folder`.
    static func write(_ migrations: [(name: String, sql: String)], to folder: URL) throws -> URL {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for migration in migrations {
            try migration.sql.write(
                to: folder.appendingPathComponent(migration.name + ".sql"),
                atomically: true,
                encoding: .utf8
            )
        }
        return folder
    }

    @Test("0010 rebuilds idempotency_keys as a rowid table: every key kept, and a saved response in place, not spilled")
    func idempotencyKeysRowidMigration() async throws {
        // Given a database at 0009 holding keys in each state: held, finished with a payment intent's response (about
        // 1.4 KB, as a W1 payment saves), finished with a short one, and a recharge reference that never expires
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        let before = try PaymentDatabase(path: path, migrations: Self.migrations(before: "0010", in: folder))
        let long = Array(String(repeating: #"{"id":"pi_x","object":"payment_intent"} "#, count: 36).utf8)
        try await before.write { tx in
            for index in 0..<40 {
                let key = "key-\(index)"
                _ = try tx.beginIdempotentRequest(
                    apiKey: index == 39 ? "recharge" : "key_hash",
                    key: key,
                    method: "POST",
                    path: "/v1/payment_intents",
                    fingerprint: "fp\(index)",
                    requestID: "req_\(index)",
                    token: "lease_\(index)",
                    now: 100 + Int64(index),
                    lockedUntil: 130 + Int64(index),
                    expiresAt: index == 39 ? nil : 86_500 + Int64(index)
                )
                guard index > 0 else { continue }  // key-0 stays held
                try tx.finishIdempotentRequest(
                    apiKey: index == 39 ? "recharge" : "key_hash",
                    key: key,
                    token: "lease_\(index)",
                    status: 200,
                    body: index == 1 ? Array(#"{"id":"pi_short"}"#.utf8) : long,
                    paymentIntent: "pi_\(index)"
                )
            }
        }
        func snapshot(_ db: Database) throws -> (keys: [Row], schema: [Row], overflow: Int) {
            (
                try Row.fetchAll(db, sql: "SELECT * FROM idempotency_keys ORDER BY api_key, key"),
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT type, name, tbl_name, sql FROM sqlite_master
                        WHERE name NOT LIKE 'sqlite\\_autoindex\\_%' ESCAPE '\\' AND name != 'grdb_migrations'
                        ORDER BY name
                        """
                ),
                try Int.fetchOne(
                    db,
                    sql: "SELECT count(*) FROM dbstat WHERE name = 'idempotency_keys' AND pagetype = 'overflow'"
                ) ?? -1
            )
        }
        let old = try StoreFixtures.rawConnection(path).read { db in try snapshot(db) }

        // When it is opened with the migrations up to 0010
        let after = try PaymentDatabase(path: path, migrations: Self.migrations(before: "0011", in: folder))

        // Then every key is as it was, column for column, and found by its key as before
        let new = try StoreFixtures.rawConnection(path).read { db in try snapshot(db) }
        #expect(try after.appliedMigrations().last?.hasPrefix("0010") == true)
        #expect(old.keys.count == 40)
        #expect(new.keys == old.keys)
        let held = try await after.read { tx in try tx.idempotencyKey(apiKey: "key_hash", key: "key-0") }
        #expect(held?.lockedBy == "lease_0" && held?.responseBody == nil)
        let finished = try await after.read { tx in try tx.idempotencyKey(apiKey: "key_hash", key: "key-2") }
        #expect(finished?.responseBody == Data(long) && finished?.recoveryPoint == .finished)
        // The saved responses spilled to overflow pages before (one per long response) and stay in place now
        #expect(old.overflow >= 38)
        #expect(new.overflow == 0)
        // The table changed shape and nothing else did: the same columns, constraints and indexes
        let table = { (schema: [Row]) -> String? in
            schema.first { $0["name"] == "idempotency_keys" }?["sql"]
        }
        #expect(table(old.schema)?.hasSuffix("STRICT, WITHOUT ROWID") == true)
        #expect(table(new.schema)?.hasSuffix("STRICT") == true)
        #expect(
            table(new.schema)?.replacingOccurrences(of: "idempotency_keys_v10", with: "idempotency_keys")
                == table(old.schema)?.replacingOccurrences(of: ", WITHOUT ROWID", with: "")
                .replacingOccurrences(of: "idempotency_keys_v9", with: "idempotency_keys")
        )
        #expect(
            new.schema.filter { $0["name"] != "idempotency_keys" }
                == old.schema.filter { $0["name"] != "idempotency_keys" }
        )
        // And the primary key still refuses a second row for the same key
        let writable = try DatabaseQueue(path: path)
        var refusal: DatabaseError?
        do {
            try await writable.write { db in
                try db.execute(sql: "INSERT INTO idempotency_keys SELECT * FROM idempotency_keys LIMIT 1")
            }
        } catch let error as DatabaseError {
            refusal = error
        }
        #expect(refusal?.resultCode == .SQLITE_CONSTRAINT)
        let (integrity, plan) = try await StoreFixtures.rawConnection(path).read { db in
            (
                try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                try Row.fetchAll(
                    db,
                    sql: "EXPLAIN QUERY PLAN SELECT * FROM idempotency_keys WHERE api_key = 'a' AND key = 'b'"
                ).map { $0["detail"] as String }.joined()
            )
        }
        #expect(integrity == ["ok"])
        #expect(plan.contains("sqlite_autoindex_idempotency_keys_1"), "\(plan)")
    }

    @Test(
        "Migrations run with SQLite's temporary files on disk: a table rebuilt in one transaction is not held in memory"
    )
    func migrationsKeepTemporaryFiles() throws {
        // Given the repository's migrations and one more that records the temp_store in force while it runs
        let folder = try TestPaths.temporaryFolder()
        let migrations = try Self.write(
            try MigrationSet(folder: TestPaths.migrations).migrations.map { ($0.name, $0.sql) }
                + [
                    (
                        "9999_seen_temp_store",
                        "CREATE TABLE seen_temp_store AS SELECT temp_store FROM pragma_temp_store;"
                    )
                ],
            to: folder.appendingPathComponent("migrations")
        )
        let path = folder.appendingPathComponent("payments.sqlite").path

        // When the database is opened with them
        _ = try PaymentDatabase(path: path, migrations: MigrationSet(folder: migrations.path))

        // Then the migrations ran with the default (0: files, unless SQLite was built otherwise), not MEMORY (2),
        // which the writer switches to afterwards for its savepoints' sub-journals
        let seen = try StoreFixtures.rawConnection(path).read { db in
            try Int.fetchAll(db, sql: "SELECT temp_store FROM seen_temp_store")
        }
        #expect(seen == [0])
    }

    @Test("No CHECK constraint builds a temporary list on a write: an INSERT into any table opens no ephemeral table")
    func checksWithoutLists() throws {
        // Given a migrated database, on a writable connection (SQLite leaves CHECK constraints out of what a
        // read-only one compiles)
        let environment = try TestEnvironment()
        let raw = try DatabaseQueue(path: environment.database.path)
        try raw.read { db in
            let tables = try String.fetchAll(
                db,
                sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            )
            #expect(tables.contains("charges"))
            for table in tables {
                // When SQLite compiles an INSERT of every column
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info(?)", arguments: [table])
                let sql =
                    "INSERT INTO \"\(table)\" (\(columns.map { "\"\($0)\"" }.joined(separator: ", "))) VALUES "
                    + "(\(Array(repeating: "?", count: columns.count).joined(separator: ", ")))"
                let program = try Row.fetchAll(
                    db,
                    sql: "EXPLAIN " + sql,
                    arguments: StatementArguments(Array(repeating: DatabaseValue.null, count: columns.count))
                ).map { $0["opcode"] as String }
                // Then its program builds no temporary b-tree (an `IN (...)` list of three or more constants would)
                #expect(program.filter { $0 == "OpenEphemeral" }.isEmpty, "\(table)")
            }
        }
    }

    // MARK: - Durability

    @Test("PRAGMA synchronous reads back FULL (2) on the writer")
    func synchronousFull() throws {
        // Given a database opened with the default level
        let environment = try TestEnvironment()
        // Then GRDB's NORMAL did not win
        #expect(try environment.database.synchronousLevel() == 2)
    }

    @Test("The level asked for is the level in force")
    func synchronousNormal() throws {
        // Given a database opened with NORMAL
        let folder = try TestPaths.temporaryFolder()
        let database = try Self.open(folder.appendingPathComponent("p.sqlite").path, synchronous: .normal)
        // Then
        #expect(try database.synchronousLevel() == 1)
    }

    @Test("The log is checkpointed beside the writer, not by it after a commit")
    func checkpointsBesideWriter() throws {
        // Given a database
        let environment = try TestEnvironment()
        let database = environment.database
        // Then SQLite's automatic checkpoint is off on the writer (the checkpointer's hook in its place)
        let automatic = try database.writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint")
        }
        #expect(automatic == 0)
        #expect(database.checkpointer.threshold == BackgroundCheckpointer.defaultThreshold)
    }

    @Test("Foreign keys are enforced")
    func foreignKeys() async throws {
        // Given an intent naming a customer that does not exist
        let environment = try TestEnvironment()
        let intent = StoreFixtures.intent(customer: "cus_missing000000")
        // When / Then
        await #expect(throws: DatabaseError.self) {
            try await environment.database.write { tx in try tx.insert(intent) }
        }
    }

    // MARK: - Records

    @Test("A PaymentIntent round-trips with its metadata and last_payment_error as JSON")
    func paymentIntentRoundTrip() async throws {
        // Given a customer, a payment method and an intent with every kind of field set
        let environment = try TestEnvironment()
        let database = environment.database
        let card = try CardNumber(parsing: "4242424242424242")
        let customer = StoreFixtures.customer()
        let paymentMethod = StoreFixtures.paymentMethod(card, customer: customer.id)
        var intent = StoreFixtures.intent(
            customer: customer.id,
            paymentMethod: paymentMethod.id,
            metadata: ["order": "42", "note": "a \"quoted\" value"]
        )
        intent.captureMethod = .manual
        intent.confirmationMethod = .manual
        intent.setupFutureUsage = .offSession
        intent.description = "T-shirt"
        intent.lastPaymentError = LastPaymentError(
            type: .card,
            code: "card_declined",
            declineCode: "insufficient_funds",
            message: "Your card has insufficient funds.",
            paymentMethod: paymentMethod.id,
            charge: "ch_earlier"
        )
        intent.returnURL = "https://shop.example/return"
        intent.attemptExpiresAt = 4_600
        // When it is written and read back
        let stored = intent
        try await database.write { tx in
            try tx.insert(customer)
            try tx.insert(paymentMethod, card: StoreFixtures.sealed(card))
            try tx.insert(stored)
        }
        let found = try await database.read { tx in try tx.paymentIntent(stored.id) }
        // Then it is the same value
        #expect(found == intent)
        // And the nested values are JSON an admin can query
        let raw = try StoreFixtures.rawConnection(database.path)
        let intentID = intent.id
        try await raw.read { db in
            let row = try #require(
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT json_extract(metadata, '$.order') AS orderID,
                            json_extract(last_payment_error, '$.decline_code') AS declineCode,
                            status, capture_method, amount, currency
                        FROM payment_intents WHERE id = ?
                        """,
                    arguments: [intentID]
                )
            )
            #expect(row["orderID"] as String? == "42")
            #expect(row["declineCode"] as String? == "insufficient_funds")
            #expect(row["status"] as String? == "requires_confirmation")
            #expect(row["capture_method"] as String? == "manual")
            #expect(row["amount"] as Int64? == 2_000)
            #expect(row["currency"] as String? == "usd")
        }
    }

    @Test("Customers, payment methods and charges round-trip")
    func recordsRoundTrip() async throws {
        // Given one of each
        let environment = try TestEnvironment()
        let database = environment.database
        let card = try CardNumber(parsing: "5555555555554444")
        var customer = StoreFixtures.customer(email: "jenny@example.com")
        customer.phone = "+15555550100"
        customer.description = "VIP"
        var paymentMethod = StoreFixtures.paymentMethod(card, customer: customer.id)
        paymentMethod.billingDetails.address = BillingDetails.Address(city: "Paris", country: "FR", postalCode: "75001")
        paymentMethod.addressPostalCodeCheck = "fail"
        paymentMethod.offSessionReady = true
        let intent = StoreFixtures.intent(customer: customer.id, paymentMethod: paymentMethod.id)
        var charge = StoreFixtures.charge(for: intent)
        let (owner, pm, pending) = (customer, paymentMethod, charge)
        try await database.write { tx in
            try tx.insert(owner)
            try tx.insert(pm, card: StoreFixtures.sealed(card))
            try tx.insert(intent)
            try tx.insert(pending)
        }
        // When the charge is settled and everything read back
        charge.status = .succeeded
        charge.captured = true
        charge.amountCaptured = 2_000
        charge.authorizationCode = "123456"
        charge.resolvedAt = 1_001
        let settled = charge
        try await database.write { tx in try tx.update(settled) }
        let (foundCustomer, foundMethod, foundCharge) = try await database.read { tx in
            (try tx.customer(owner.id), try tx.paymentMethod(pm.id), try tx.charge(settled.id))
        }
        // Then
        #expect(foundCustomer == customer)
        #expect(foundMethod == paymentMethod)
        #expect(foundCharge == charge)
        #expect(foundCharge?.refunded == false)
    }

    // MARK: - Invariants

    @Test("update(_:expecting:) is a compare-and-set on the status")
    func compareAndSet() async throws {
        // Given an intent in requires_payment_method
        let environment = try TestEnvironment()
        let database = environment.database
        let intent = StoreFixtures.intent()
        try await database.write { tx in try tx.insert(intent) }
        var next = intent
        next.status = .canceled
        next.canceledAt = 2_000
        let changed = next
        // When a writer expects another status
        let stale = try await database.write { tx in try tx.update(changed, expecting: .requiresConfirmation) }
        // Then nothing changes
        #expect(!stale)
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == intent)
        // When the expected status is right
        let fresh = try await database.write { tx in try tx.update(changed, expecting: .requiresPaymentMethod) }
        // Then the whole record is saved
        #expect(fresh)
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) } == changed)
        // And a second writer expecting the old status loses
        let late = try await database.write { tx in try tx.update(intent, expecting: .requiresPaymentMethod) }
        #expect(!late)
        #expect(try await database.read { tx in try tx.paymentIntent(intent.id) }?.status == .canceled)
    }

    @Test("The database refuses a second succeeded charge for one intent")
    func oneSuccessfulChargePerIntent() async throws {
        // Given an intent with a succeeded charge and a failed one
        let environment = try TestEnvironment()
        let database = environment.database
        let intent = StoreFixtures.intent()
        var first = StoreFixtures.charge(for: intent)
        first.status = .succeeded
        var failed = StoreFixtures.charge(for: intent)
        failed.status = .failed
        let (succeeded, declined) = (first, failed)
        try await database.write { tx in
            try tx.insert(intent)
            try tx.insert(succeeded)
            try tx.insert(declined)
        }
        // When another succeeded charge is inserted, or the failed one is flipped to succeeded
        var second = StoreFixtures.charge(for: intent)
        second.status = .succeeded
        let another = second
        let insertError = await #expect(throws: DatabaseError.self) {
            try await database.write { tx in try tx.insert(another) }
        }
        failed.status = .succeeded
        let flipped = failed
        let updateError = await #expect(throws: DatabaseError.self) {
            try await database.write { tx in try tx.update(flipped) }
        }
        // Then both are constraint violations and only one success is stored
        #expect(insertError?.resultCode == .SQLITE_CONSTRAINT)
        #expect(updateError?.resultCode == .SQLITE_CONSTRAINT)
        let raw = try StoreFixtures.rawConnection(database.path)
        let successes = try await raw.read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM charges WHERE payment_intent = ? AND status = 'succeeded'",
                arguments: [intent.id]
            )
        }
        #expect(successes == 1)
    }

    @Test("A write that throws commits nothing")
    func failedWriteRollsBack() async throws {
        // Given
        let environment = try TestEnvironment()
        let database = environment.database
        let customer = StoreFixtures.customer()
        // When a transaction inserts a row and then fails
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await database.write { tx in
                try tx.insert(customer)
                throw Boom()
            }
        }
        // Then the row is not there
        #expect(try await database.read { tx in try tx.customer(customer.id) } == nil)
    }

    @Test("A write rolled back with its batch runs again: rollback actions once, commit actions once, last result")
    func writeRerunWithItsBatch() async throws {
        // Given a writer held busy, and behind it a write with actions, then one that throws (the same batch)
        let environment = try TestEnvironment()
        let database = environment.database
        let groupCommit = try #require(database.groupCommit)
        let (started, release) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let blocker = Task {
            try await database.write { _ in
                started.signal()
                release.wait()
            }
        }
        while started.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(5)) }
        let counts = Mutex((runs: 0, commits: 0, rollbacks: 0))
        let (kept, refused) = (StoreFixtures.customer(), StoreFixtures.customer())
        let keptWrite = Task {
            try await database.write { tx in
                let run = counts.withLock { counts in
                    counts.runs += 1
                    return counts.runs
                }
                tx.afterCommit { counts.withLock { $0.commits += 1 } }
                tx.onRollback { counts.withLock { $0.rollbacks += 1 } }
                try tx.insert(kept)
                return run
            }
        }
        try await Self.waitQueued(groupCommit, 1)
        struct Boom: Error {}
        let refusedWrite = Task {
            try await database.write { tx in
                try tx.insert(refused)
                throw Boom()
            }
        }
        try await Self.waitQueued(groupCommit, 2)
        // When the writer runs them
        release.signal()
        try await blocker.value
        // Then the first write ran twice: its first run's rollback actions ran, its commit actions once, and its
        // caller got the second run's result; the second write failed alone
        #expect(try await keptWrite.value == 2)
        await #expect(throws: Boom.self) { try await refusedWrite.value }
        let seen = counts.withLock { $0 }
        #expect(seen.runs == 2 && seen.commits == 1 && seen.rollbacks == 1, "\(seen)")
        #expect(try await database.read { tx in try tx.customer(kept.id) } == kept)
        #expect(try await database.read { tx in try tx.customer(refused.id) } == nil)
        #expect(groupCommit.statistics.reruns == 1)
    }

    // MARK: - Readiness

    @Test("Readiness: a file replaced under the open database is reported missing, not unwritable; deleted too")
    func replacedFileIsMissing() async throws {
        for replaced in [true, false] {
            // Given a ready database
            let folder = try TestPaths.temporaryFolder()
            let path = folder.appendingPathComponent("payments.sqlite").path
            let database = try Self.open(path)
            try await database.checkReady()

            // When its file is replaced by a copy (`cp p.sqlite x; mv x p.sqlite`, as a restore does), or deleted
            if replaced {
                let copy = folder.appendingPathComponent("copy.sqlite").path
                try FileManager.default.copyItem(atPath: path, toPath: copy)
                try #require(rename(copy, path) == 0)
            } else {
                try FileManager.default.removeItem(atPath: path)
            }

            // Then it is not ready because its file is missing (the open file is not the one at the path)
            await #expect(throws: StoreReadinessProblem.databaseMissing, "replaced: \(replaced)") {
                try await database.checkReady()
            }
        }
    }

    @Test("A log removed under the open database: writes refused, not ready, and the log's commits in the file")
    func removedLogIsMissing() async throws {
        // Given a ready database with five customers committed, still in its write-ahead log (no checkpoint yet)
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        let database = try Self.open(path)
        try await database.checkReady()
        let customers = (1...5).map { StoreFixtures.customer(created: Int64(1_000 + $0)) }
        for customer in customers { try await database.write { tx in try tx.insert(customer) } }

        // When its log is deleted (an operator tidying the folder): SQLite writes on to the unlinked file, and every
        // commit it holds, and every later one, was lost at the next crash, while writes answered and readiness
        // said ready (a probe)
        try FileManager.default.removeItem(atPath: path + "-wal")

        // Then a write is refused, saying why, and nothing of it is written
        let late = StoreFixtures.customer(created: 3_000)
        await #expect(throws: StoreError.self) { try await database.write { tx in try tx.insert(late) } }
        // And it is not ready, naming the log
        await #expect(throws: StoreReadinessProblem.databaseLogMissing) { try await database.checkReady() }
        // And the database file alone (as a crash leaves it: the log gone with the process) holds the five, once the
        // checkpoint asked for has run (on the checkpointer's thread, when the check's own met it running)
        let copy = folder.appendingPathComponent("as-after-a-crash.sqlite").path
        var ids: [String] = []
        let deadline = ContinuousClock.now + .seconds(20)
        repeat {
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: path, toPath: copy)
            ids =
                (try? await DatabaseQueue(path: copy).read { db in
                    try String.fetchAll(db, sql: "SELECT id FROM customers")
                }) ?? []
            if ids.count == customers.count { break }
            try await Task.sleep(for: .milliseconds(50))
        } while ContinuousClock.now < deadline
        #expect(Set(ids) == Set(customers.map(\.id)))
    }

    /// Waits until `count` writes are queued on `writer`.
    static func waitQueued(_ writer: GroupCommitWriter, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while writer.queued < count {
            try #require(ContinuousClock.now < deadline, "only \(writer.queued) of \(count) writes queued")
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
