import Foundation
import GRDB
import Payments
import PaymentsCore
import PaymentsPostgres
import PaymentsStore
import PostgresNIO
import TestSupport
import Testing

/// The PostgreSQL migrations against the SQLite ones: the same tables and columns, the same rows give the same
/// `report_*` rows, and the same bad rows are refused.
@Suite("SQLite and PostgreSQL schemas", .postgresCluster)
struct SchemaParityTests {
    static let logger = PostgresCluster.logger

    /// The tables, in an order where every row's references come before it.
    static let tables = [
        "customers", "payment_methods", "card_vault", "payment_intents", "charges", "refunds", "idempotency_keys",
        "events", "setup_intents", "vault_secrets",
    ]

    // MARK: - Shape

    @Test("every table and view has the same columns, in the same order, on both databases")
    func sameColumns() async throws {
        // Given a migrated SQLite file and a migrated PostgreSQL database
        let environment = try TestEnvironment()
        let settings = try await Self.migratedPostgres()
        let queue = try DatabaseQueue(path: environment.database.path)

        // Then they have the same tables and report views, each with the same columns (PostgreSQL's explicit
        // rowid aside, which is SQLite's hidden one)
        let sqlite = try await queue.read { db in
            let names = try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type IN ('table', 'view')
                    AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'grdb_migrations' ORDER BY name
                    """
            )
            return try names.map { name in
                (
                    name,
                    try String.fetchAll(
                        db,
                        sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid",
                        arguments: [name]
                    )
                )
            }
        }
        let postgres = try await PostgresCluster.withConnection(settings) { connection in
            let rows = try await connection.query(
                """
                SELECT table_name::text, column_name::text FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name != 'schema_migrations' AND column_name != 'rowid'
                ORDER BY table_name COLLATE "C", ordinal_position
                """,
                logger: Self.logger
            )
            var columns: [(String, [String])] = []
            for try await (table, column) in rows.decode((String, String).self) {
                if columns.last?.0 == table {
                    columns[columns.count - 1].1.append(column)
                } else {
                    columns.append((table, [column]))
                }
            }
            return columns
        }
        #expect(sqlite.map(\.0) == postgres.map(\.0))
        #expect(Set(Self.tables).isSubset(of: Set(sqlite.map(\.0))))
        for ((table, sqliteColumns), (_, postgresColumns)) in zip(sqlite, postgres) {
            #expect(sqliteColumns == postgresColumns, "\(table)")
        }
    }

    // MARK: - Reports

    @Test("the same rows give the same rows in every report_* view on both databases")
    func sameReports() async throws {
        // Given two days of payments made through the use cases on SQLite, plus the sample rows of both shapes
        let environment = try await Self.script()
        try await environment.database.write { tx in
            try SampleRows(.full, suffix: "sample_full").insert(in: tx)
            try SampleRows(.bare, suffix: "sample_bare").insert(in: tx)
        }
        let queue = try DatabaseQueue(path: environment.database.path)

        // When every table's rows are copied into a migrated PostgreSQL database, in SQLite's insertion order
        let settings = try await Self.migratedPostgres()
        try await PostgresCluster.withConnection(settings) { connection in
            for table in Self.tables {
                let order = table == "idempotency_keys" ? "api_key, key" : "rowid"
                let rows = try queue.read { db in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)")
                }
                for row in rows { try await Self.insert(row, into: table, on: connection) }
            }
        }

        // Then every report view has the same columns and rows on both, and none is empty
        let views = try await queue.read { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT name FROM sqlite_master WHERE type = 'view' AND name LIKE 'report\\_%' ESCAPE '\\' ORDER BY name"
            )
        }
        #expect(views.count == 7)
        try await PostgresCluster.withConnection(settings) { connection in
            for view in views {
                let sqlite = try await queue.read { db in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(view)").map { row in row.databaseValues.map(Cell.init) }
                }
                let postgres = try await Self.rows("SELECT * FROM \(view)", on: connection)
                #expect(!sqlite.isEmpty, "\(view)")
                #expect(postgres == sqlite, "\(view)")
            }
        }
    }

    // MARK: - Constraints

    /// Rows both databases must refuse, each after the good rows of `accepted`: one SQL text, run on both.
    static let refused: [(String, String)] = [
        ("negative amount", Self.intent(id: "pi_neg", amount: "-5")),
        ("zero amount", Self.intent(id: "pi_zero", amount: "0")),
        ("unknown status", Self.intent(id: "pi_status", status: "paid")),
        ("received more than the amount", Self.intent(id: "pi_over", received: "5000")),
        ("currency of four letters", Self.intent(id: "pi_cur", currency: "usdd")),
        ("invalid JSON metadata", "INSERT INTO customers (id, created, metadata) VALUES ('cus_json', 1, '{\"a\":')"),
        ("JSON error that is not JSON", Self.intent(id: "pi_err", error: "'not json'")),
        ("wrong id prefix", "INSERT INTO customers (id, created) VALUES ('cust_1', 1)"),
        ("flag other than 0 or 1", "INSERT INTO customers (id, created, deleted) VALUES ('cus_flag', 1, 2)"),
        ("a missing customer", Self.paymentMethod(id: "pm_orphan", customer: "'cus_missing'")),
        ("last4 of three digits", Self.paymentMethod(id: "pm_last3", last4: "424")),
        ("month 13", Self.paymentMethod(id: "pm_month", month: "13")),
        ("a second succeeded charge of one intent", Self.charge(id: "ch_second", status: "succeeded")),
        ("refund of a missing charge", Self.refund(id: "re_orphan", charge: "ch_missing")),
        ("lease without its end", Self.idempotencyKey(lockedBy: "'token'", lockedUntil: "NULL")),
        ("unknown recovery point", Self.idempotencyKey(recoveryPoint: "halfway")),
        (
            "unknown event object",
            "INSERT INTO events (id, created, type, object_type, object_id, snapshot) VALUES ('evt_1', 1, 'x.created', 'invoice', 'in_1', '{}')"
        ),
    ]

    /// Good rows both databases accept, which the refused rows build on.
    static let accepted: [String] = [
        "INSERT INTO customers (id, created, metadata) VALUES ('cus_ok', 1, '{\"a\": \"ü\"}')",
        paymentMethod(id: "pm_ok", customer: "'cus_ok'"),
        intent(id: "pi_ok", error: "'{\"code\": \"card_declined\"}'"),
        charge(id: "ch_ok", status: "succeeded"),
        charge(id: "ch_failed", status: "failed"),
        refund(id: "re_ok", charge: "ch_ok"),
        idempotencyKey(lockedBy: "'token'", lockedUntil: "130"),
    ]

    @Test("the CHECK constraints, keys and unique indexes refuse the same rows on both databases")
    func sameRefusals() async throws {
        // Given a migrated SQLite file and a migrated PostgreSQL database holding the same good rows
        let environment = try TestEnvironment()
        let queue = try DatabaseQueue(path: environment.database.path)
        let settings = try await Self.migratedPostgres()
        try await queue.write { db in for sql in Self.accepted { try db.execute(sql: sql) } }
        try await PostgresCluster.withConnection(settings) { connection in
            for sql in Self.accepted { try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger) }

            // When each bad row is inserted into both
            for (reason, sql) in Self.refused {
                // Then SQLite refuses it with a constraint error and PostgreSQL with an integrity error (class 23)
                let sqliteError = await #expect(throws: DatabaseError.self, "SQLite: \(reason)") {
                    try await queue.write { db in try db.execute(sql: sql) }
                }
                #expect(sqliteError?.resultCode == .SQLITE_CONSTRAINT, "SQLite: \(reason)")
                let postgresError = await #expect(throws: PSQLError.self, "PostgreSQL: \(reason)") {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
                }
                #expect(postgresError?.serverInfo?[.sqlState]?.hasPrefix("23") == true, "PostgreSQL: \(reason)")
            }
        }

        // And both hold exactly the good rows
        try await PostgresCluster.withConnection(settings) { connection in
            for table in [
                "customers", "payment_methods", "payment_intents", "charges", "refunds", "idempotency_keys", "events",
            ] {
                let sqlite = try await queue.read { db in try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(table)") }
                let postgres = try await PostgresCluster.integer("SELECT count(*) FROM \(table)", on: connection)
                #expect(sqlite == postgres, "\(table)")
            }
        }
    }

    static func intent(
        id: String,
        amount: String = "2000",
        currency: String = "usd",
        status: String = "requires_payment_method",
        received: String = "0",
        error: String = "NULL"
    ) -> String {
        """
        INSERT INTO payment_intents (id, created, amount, currency, status, capture_method, confirmation_method,
            client_secret, amount_received, last_payment_error)
        VALUES ('\(id)', 1, \(amount), '\(currency)', '\(status)', 'automatic', 'automatic', 's', \(received), \(error))
        """
    }

    static func paymentMethod(id: String, customer: String = "NULL", last4: String = "4242", month: String = "12")
        -> String
    {
        """
        INSERT INTO payment_methods (id, created, customer, brand, last4, exp_month, exp_year, fingerprint, funding)
        VALUES ('\(id)', 1, \(customer), 'visa', '\(last4)', \(month), 2030, 'fp', 'credit')
        """
    }

    static func charge(id: String, status: String) -> String {
        """
        INSERT INTO charges (id, created, payment_intent, amount, currency, status, capture)
        VALUES ('\(id)', 1, 'pi_ok', 2000, 'usd', '\(status)', 1)
        """
    }

    static func refund(id: String, charge: String) -> String {
        """
        INSERT INTO refunds (id, created, charge, payment_intent, amount, currency, status)
        VALUES ('\(id)', 1, '\(charge)', 'pi_ok', 500, 'usd', 'succeeded')
        """
    }

    static func idempotencyKey(
        lockedBy: String = "NULL",
        lockedUntil: String = "NULL",
        recoveryPoint: String = "started"
    )
        -> String
    {
        """
        INSERT INTO idempotency_keys (api_key, key, created, method, path, fingerprint, locked_by, locked_until,
            recovery_point, request_id)
        VALUES ('scope', 'key-\(recoveryPoint)-\(lockedUntil)', 1, 'POST', '/v1/x', 'f', \(lockedBy), \(lockedUntil),
            '\(recoveryPoint)', 'req_1')
        """
    }

    // MARK: - Helpers

    /// A value of a view's cell, compared across the two databases.
    enum Cell: Equatable, CustomStringConvertible {
        case null
        case integer(Int64)
        case text(String)
        /// A PostgreSQL type no view should return (NUMERIC from an uncast sum(), say): never equal to SQLite's.
        case other(String)

        init(_ value: DatabaseValue) {
            switch value.storage {
            case .null: self = .null
            case .int64(let integer): self = .integer(integer)
            case .string(let text): self = .text(text)
            case .double(let real): self = .other("REAL \(real)")
            case .blob(let data): self = .other("BLOB \(data.count) bytes")
            }
        }

        var description: String {
            switch self {
            case .null: "NULL"
            case .integer(let value): "\(value)"
            case .text(let value): "'\(value)'"
            case .other(let value): value
            }
        }
    }

    /// The rows of `sql` as cells.
    static func rows(_ sql: String, on connection: PostgresConnection) async throws -> [[Cell]] {
        var result: [[Cell]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger) {
            var cells: [Cell] = []
            for cell in row {
                guard cell.bytes != nil else {
                    cells.append(.null)
                    continue
                }
                switch cell.dataType {
                case .int8: cells.append(.integer(try cell.decode(Int64.self)))
                case .int4: cells.append(.integer(Int64(try cell.decode(Int32.self))))
                case .text, .varchar: cells.append(.text(try cell.decode(String.self)))
                default: cells.append(.other("\(cell.dataType) in \(cell.columnName)"))
                }
            }
            result.append(cells)
        }
        return result
    }

    /// Inserts one SQLite row into the PostgreSQL table of the same name, column for column.
    static func insert(_ row: Row, into table: String, on connection: PostgresConnection) async throws {
        var bindings = PostgresBindings()
        for value in row.databaseValues {
            switch value.storage {
            case .null: bindings.appendNull()
            case .int64(let integer): bindings.append(integer)
            case .double(let real): bindings.append(real)
            case .string(let text): bindings.append(text)
            case .blob(let data): bindings.append(ByteBuffer(bytes: data))
            }
        }
        let columns = row.columnNames.joined(separator: ", ")
        let placeholders = (1...row.count).map { "$\($0)" }.joined(separator: ", ")
        try await connection.query(
            PostgresQuery(unsafeSQL: "INSERT INTO \(table) (\(columns)) VALUES (\(placeholders))", binds: bindings),
            logger: logger
        )
    }

    /// A new PostgreSQL database with the service's migrations applied.
    static func migratedPostgres() async throws -> PostgresSettings {
        let settings = try await PostgresCluster.freshDatabase()
        _ = try await PostgresCluster.withConnection(settings) { connection in
            try await PostgresMigrator(migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations))
                .migrate(on: connection, logger: logger)
        }
        return settings
    }

    // MARK: - The script

    /// The report views' two days of payments (``ReportScript``), then a card set up for later and one more
    /// authorization left uncaptured: the events and setup intents they write.
    static func script() async throws -> TestEnvironment {
        let made = try await ReportScript.twoDays()
        let environment = made.environment
        _ = try await environment.setupIntents.create(.init(customer: made.customer.id))
        _ = try await ReportScript.pay(environment, "pm_card_visa", 2_000, "eur", captureMethod: .manual)
        return environment
    }
}
