import Foundation
import GRDB
import PaymentsCore
import PaymentsPostgres
import PaymentsStore
import PostgresNIO
import TestSupport
import Testing

/// Rows written through the PostgreSQL store look the same as rows written through the SQLite store: the same
/// columns, the same integers, flags as 0/1, enums as their raw values, nested values as the same JSON text and
/// sealed bytes byte for byte — so an admin's SQL and the `report_*` views read either database alike.
@Suite("Rows written by both stores", .postgresCluster)
struct PostgresStoreParityTests {
    /// Tables and the order that lists their rows.
    static let tables: [(String, String)] = [
        ("customers", "id"), ("payment_methods", "id"), ("card_vault", "payment_method"),
        ("payment_intents", "id"), ("charges", "id"), ("refunds", "id"), ("setup_intents", "id"),
        ("events", "id"), ("idempotency_keys", "api_key, key"), ("vault_secrets", "name"),
    ]

    @Test("the same writes through either store give the same rows in every table")
    func sameRows() async throws {
        // Given the same writes through the SQLite store and through the PostgreSQL store
        let folder = try TestPaths.temporaryFolder()
        let path = folder.appendingPathComponent("payments.sqlite").path
        let sqlite = try PaymentDatabase(path: path, migrations: MigrationSet(folder: TestPaths.migrations))
        let settings = try await PostgresCluster.freshDatabase()
        let postgres = try await PostgresPaymentStore.open(
            settings: settings,
            migrations: try PostgresMigrationSet(folder: PostgresCluster.migrations),
            logger: PostgresCluster.logger
        )
        for store in [sqlite, postgres] as [any PaymentStore] { try await Self.writeEverything(store) }
        try await postgres.close()

        // When every table is read back as cells, SQLite's columns in SQLite's order
        let queue = try DatabaseQueue(path: path)
        for (table, order) in Self.tables {
            let sqliteRows = try await queue.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY \(order)").map { row in
                    Dictionary(uniqueKeysWithValues: zip(row.columnNames, row.databaseValues.map(Cell.init)))
                }
            }
            let postgresRows = try await PostgresCluster.withConnection(settings) { connection in
                try await Self.rows("SELECT * FROM \(table) ORDER BY \(order)", on: connection)
            }
            // Then they are equal, cell for cell (PostgreSQL's explicit rowid aside)
            #expect(!sqliteRows.isEmpty, "\(table)")
            #expect(postgresRows.map { $0.filter { $0.key != "rowid" } } == sqliteRows, "\(table)")
        }
    }

    /// One row of every kind, every optional field set or none, through the store interface only.
    static func writeEverything(_ store: any PaymentStore) async throws {
        try await store.write { tx in
            let full = SampleRows(.full, suffix: "parity_full")
            try full.insert(in: tx)
            try SampleRows(.bare, suffix: "parity_bare").insert(in: tx)
            var setup = SetupIntent(id: "seti_parity", created: 105, clientSecret: "seti_parity_secret_x")
            setup.customer = full.customer.id
            setup.metadata = ["order": "ü \"42\""]
            setup.lastSetupError = .setupAuthenticationFailure(paymentMethod: full.paymentMethod.id)
            setup.attemptExpiresAt = 3_700
            try tx.insert(setup)
            try tx.insert(
                Event(
                    id: "evt_parity",
                    created: 106,
                    type: "payment_intent.created",
                    objectType: .paymentIntent,
                    objectID: full.intent.id,
                    snapshot: Array(#"{"id":"pi_parity_full","amount":2000}"#.utf8)
                )
            )
            _ = try tx.insertVaultSecret("fingerprint", SealedCard(keyID: "vk_1", sealed: Data([9, 0, 255])))
        }
        for key in ["finished", "held"] {
            _ = try await store.write { tx in
                try tx.beginIdempotentRequest(
                    apiKey: "sk_scope",
                    key: key,
                    method: "POST",
                    path: "/v1/payment_intents",
                    fingerprint: "fp",
                    requestID: "req_" + key,
                    token: "tok_" + key,
                    now: 200,
                    lockedUntil: 230,
                    expiresAt: 86_600
                )
            }
        }
        try await store.write { tx in
            try tx.markIdempotentProgress(
                apiKey: "sk_scope",
                key: "finished",
                token: "tok_finished",
                point: .attemptRecorded,
                paymentIntent: "pi_parity_full",
                charge: "ch_parity_full"
            )
            try tx.finishIdempotentRequest(
                apiKey: "sk_scope",
                key: "finished",
                token: "tok_finished",
                status: 402,
                body: Array(#"{"error":{"code":"card_declined"}}"#.utf8) + [0, 255],
                paymentIntent: nil
            )
        }
    }

    /// One cell as both databases can show it.
    enum Cell: Equatable, CustomStringConvertible {
        case null
        case integer(Int64)
        case text(String)
        case bytes([UInt8])
        /// A type the store never writes: never equal to a SQLite cell.
        case other(String)

        init(_ value: DatabaseValue) {
            switch value.storage {
            case .null: self = .null
            case .int64(let integer): self = .integer(integer)
            case .string(let text): self = .text(text)
            case .blob(let data): self = .bytes(Array(data))
            case .double(let real): self = .other("REAL \(real)")
            }
        }

        var description: String {
            switch self {
            case .null: "NULL"
            case .integer(let value): "\(value)"
            case .text(let value): "'\(value)'"
            case .bytes(let value): "x'\(value.map { String($0, radix: 16) }.joined())'"
            case .other(let value): value
            }
        }
    }

    /// The rows of `sql`, keyed by column.
    static func rows(_ sql: String, on connection: PostgresConnection) async throws -> [[String: Cell]] {
        var result: [[String: Cell]] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresCluster.logger) {
            var cells: [String: Cell] = [:]
            for cell in row {
                cells[cell.columnName] =
                    if cell.bytes == nil {
                        .null
                    } else {
                        switch cell.dataType {
                        case .int8: .integer(try cell.decode(Int64.self))
                        case .text: .text(try cell.decode(String.self))
                        case .bytea: .bytes(Array(try cell.decode(ByteBuffer.self).readableBytesView))
                        default: .other("\(cell.dataType) in \(cell.columnName)")
                        }
                    }
            }
            result.append(cells)
        }
        return result
    }
}
