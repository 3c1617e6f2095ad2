import Foundation
import GRDB
import Logging
import PaymentsArchive
import PaymentsPostgres
import PostgresNIO
import TestSupport
import Testing

/// The throwaway PostgreSQL cluster of a suite (`@Suite(.archiveCluster)`): started before its first test, stopped
/// and removed after its last. Each test takes databases of its own.
struct ArchiveClusterTrait: SuiteTrait, TestScoping {
    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await PostgresServer.started()
        defer { server.stop() }
        try await ArchiveCluster.$server.withValue(server) {
            try await function()
        }
    }
}

extension Trait where Self == ArchiveClusterTrait {
    /// A throwaway PostgreSQL cluster for the suite.
    static var archiveCluster: Self { Self() }
}

/// The running suite's cluster and the databases its tests compare.
enum ArchiveCluster {
    @TaskLocal static var server: PostgresServer?

    /// A logger that writes nothing: PostgresNIO logs every query at debug and trace.
    static let logger = Logger(label: "payments.archive.tests") { _ in SwiftLogNoOpLogHandler() }

    /// A new empty PostgreSQL database (no migrations yet) as an import target or export source.
    static func freshPostgres() async throws -> ArchiveDatabase {
        let server = try #require(server, "the suite needs the .archiveCluster trait")
        let settings = try PostgresSettings(url: server.url(database: try await server.newDatabase()))
        return .postgres(settings, migrations: TestPaths.migrations + "/postgres")
    }

    /// A SQLite path in a new temporary folder (no file yet).
    static func freshSQLite() throws -> ArchiveDatabase {
        .sqlite(
            path: try TestPaths.temporaryFolder("payments-archive").appendingPathComponent("target.sqlite").path,
            migrations: TestPaths.migrations
        )
    }

    /// Runs `body` on a new connection to `settings`' database, closing it afterwards.
    static func withConnection<T: Sendable>(
        _ settings: PostgresSettings,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        let connection = try await settings.connect(logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    // MARK: - Comparing databases

    /// A cell of a query's answer, compared across the two databases.
    enum Cell: Equatable, CustomStringConvertible {
        case null
        case integer(Int64)
        case text(String)
        case bytes([UInt8])
        /// A type no table or view of the schema should hold: never equal to another database's.
        case other(String)

        var description: String {
            switch self {
            case .null: "NULL"
            case .integer(let value): "\(value)"
            case .text(let value): "'\(value)'"
            case .bytes(let value): "\(value.count) bytes"
            case .other(let value): value
            }
        }
    }

    /// The rows `sql` answers on `database`, as cells.
    static func rows(_ sql: String, in database: ArchiveDatabase) async throws -> [[Cell]] {
        switch database {
        case .sqlite(let path, _):
            let queue = try DatabaseQueue(path: path)
            return try await queue.read { db in
                try Row.fetchAll(db, sql: sql).map { row in
                    row.databaseValues.map { value -> Cell in
                        switch value.storage {
                        case .null: .null
                        case .int64(let integer): .integer(integer)
                        case .string(let text): .text(text)
                        case .blob(let data): .bytes(Array(data))
                        case .double(let real): .other("REAL \(real)")
                        }
                    }
                }
            }
        case .postgres(let settings, _):
            return try await withConnection(settings) { connection in
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
                        case .bytea:
                            var buffer = try cell.decode(ByteBuffer.self)
                            cells.append(.bytes(buffer.readBytes(length: buffer.readableBytes) ?? []))
                        default: cells.append(.other("\(cell.dataType) in \(cell.columnName)"))
                        }
                    }
                    result.append(cells)
                }
                return result
            }
        }
    }

    /// The names of the `report_*` views (the same on both databases: `SchemaParityTests` checks it).
    static let reportViews = [
        "report_daily_volume", "report_declines", "report_events_by_day", "report_expiring_authorizations",
        "report_open_intents", "report_payments", "report_refunds_daily",
    ]

    /// Every table's rows, in a fixed order, of `database` (the archive's tables): the whole content to compare.
    static func everything(in database: ArchiveDatabase) async throws -> [String: [[Cell]]] {
        var content: [String: [[Cell]]] = [:]
        for (table, order) in tableOrders {
            // PostgreSQL's rowid is a visible first column; SQLite's is hidden from `*`. Text sorts bytewise.
            let sql =
                switch database {
                case .sqlite:
                    "SELECT \(ArchiveSchema.tablesWithRowid.contains(table) ? "rowid, " : "")* FROM \(table) "
                        + "ORDER BY \(order.joined(separator: ", "))"
                case .postgres:
                    "SELECT * FROM \(table) ORDER BY "
                        + order.map { $0 == "rowid" ? $0 : $0 + " COLLATE \"C\"" }.joined(separator: ", ")
                }
            content[table] = try await rows(sql, in: database)
        }
        return content
    }

    /// The tables and an order of their rows that is the same on both databases.
    static let tableOrders: [(String, [String])] = [
        ("customers", ["rowid"]), ("payment_methods", ["rowid"]), ("card_vault", ["payment_method"]),
        ("payment_intents", ["rowid"]), ("charges", ["rowid"]), ("refunds", ["rowid"]),
        ("idempotency_keys", ["api_key", "key"]), ("events", ["rowid"]), ("setup_intents", ["rowid"]),
        ("vault_secrets", ["name"]),
    ]
}
