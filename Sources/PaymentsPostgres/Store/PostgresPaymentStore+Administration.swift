import Foundation
import NIOCore
import PaymentsCore
import PostgresNIO

// MARK: - StoreAdministration

extension PostgresPaymentStore: StoreAdministration {
    /// The database's URL without its password.
    public var displayName: String { settings.redactedURL }

    /// Every migration of the folder applied, and a write transaction commits on a pooled connection that may write
    /// (a pool that cannot lend one, or a server that cannot commit, is not ready).
    ///
    /// A transaction that changes nothing commits on a read-only server as well: a hot standby, a primary demoted
    /// under a URL that still names it, or one set `default_transaction_read_only`, as managed services do when its
    /// disk is nearly full. There every payment failed (`cannot execute INSERT in a read-only transaction`) while the
    /// check answered ready, and a load balancer kept sending payments; the transaction asks.
    /// - Throws: ``StoreReadinessProblem/migrationsPending``, ``StoreError/unavailable(_:)`` on a read-only
    ///   server, or the database's error.
    public func checkReady() async throws {
        let applied = Set(try await appliedMigrations())
        guard migrations.migrations.allSatisfy({ applied.contains($0.name) }) else {
            throw StoreReadinessProblem.migrationsPending
        }
        try await transaction(isWrite: true, hooks: TransactionHooks()) { tx in
            let readOnly = try tx.fetchOne("SELECT current_setting('transaction_read_only') AS read_only", []) {
                try $0.string("read_only")
            }
            if readOnly != "off" {
                throw StoreError.unavailable("The PostgreSQL server takes no writes (transaction_read_only is on).")
            }
        }
    }

    /// The rows of `schema_migrations`, in the order they were applied.
    public func appliedMigrations() async throws -> [String] {
        let (migrations, logger) = (migrations, driverLogger)
        return try await client.withConnection { connection in
            try await PostgresMigrator(migrations: migrations).appliedMigrations(on: connection, logger: logger)
        }
    }

    /// The migrations the database has recorded and this build's folder lacks, sorted.
    public func unknownMigrations() async throws -> [String] {
        let known = Set(migrations.migrations.map(\.name))
        return try await appliedMigrations().filter { !known.contains($0) }.sorted()
    }

    /// The views named `report_*` of the current schema, without the prefix, sorted bytewise.
    public func reportNames() async throws -> [String] {
        try await transaction(isWrite: false, hooks: TransactionHooks()) { tx in try Self.reportNames(tx) }
    }

    /// Runs the report `name` on one snapshot. The name is never pasted into SQL as given: it is looked up among
    /// the views the database has, and only a name found there is quoted into the `SELECT`.
    public func report(_ name: String) async throws -> ReportTable {
        try await transaction(isWrite: false, hooks: TransactionHooks()) { tx in
            let prefix = Self.reportPrefix
            let short = name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
            let available = try Self.reportNames(tx)
            guard available.contains(short) else { throw ReportError.unknownReport(name, available: available) }
            let columns = try tx.fetchAll(
                """
                SELECT column_name::text AS name, data_type::text AS type FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position
                """,
                [.text(prefix + short)]
            ) { row in (name: try row.string("name"), type: try row.string("type")) }
            // Numbers and booleans come as themselves; every other type as PostgreSQL writes it as text. Results come
            // in the binary format, and a timestamp, a date or an array of an admin's own view printed its wire bytes.
            let selected = columns.map { column in
                let name = SQLIdentifier.quoted(column.name)
                return Self.reportNativeTypes.contains(column.type) ? name : "\(name)::text"
            }
            let result = try tx.query(
                "SELECT \(selected.joined(separator: ", ")) FROM \(SQLIdentifier.quoted(prefix + short))"
            )
            let rows = try result.rows.map { row in
                let cells = row.makeRandomAccess()
                return try (0..<columns.count).map { try Self.value(cells[$0]) }
            }
            return ReportTable(name: short, columns: columns.map(\.name), rows: rows)
        }
    }

    static let reportPrefix = "report_"

    /// The column types ``value(_:)`` reads from their binary form (`information_schema.columns.data_type`).
    static let reportNativeTypes: Set = [
        "smallint", "integer", "bigint", "real", "double precision", "boolean", "numeric", "text", "character varying",
    ]

    private static func reportNames(_ tx: PostgresTransaction) throws -> [String] {
        try tx.fetchAll(
            """
            SELECT table_name::text AS name FROM information_schema.views
            WHERE table_schema = current_schema() AND table_name LIKE 'report\\_%'
            ORDER BY table_name COLLATE "C"
            """,
            []
        ) { row in String(try row.string("name").dropFirst(reportPrefix.count)) }
    }

    /// A cell as a ``ReportValue``: integers (of any width, and whole numerics) as integers, other numbers as
    /// reals, text as text, booleans as 0/1 (as SQLite would store them).
    static func value(_ cell: PostgresCell) throws -> ReportValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int8: return .integer(try cell.decode(Int64.self))
        // By its shortest text: widened, 12.3 as a float4 printed 12.300000190734863
        case .float4: return .real(Double("\(try cell.decode(Float.self))") ?? 0)
        case .float8: return .real(try cell.decode(Double.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .numeric:
            // Binary numeric: digit count, weight, sign, then the display scale (digits after the point), as int16s
            var header = cell.bytes ?? ByteBuffer()
            guard let (_, _, sign, scale) = header.readMultipleIntegers(as: (Int16, Int16, UInt16, Int16).self)
            else { return .text(try cell.decode(String.self)) }
            if sign == 0xC000 { return .text("NaN") }
            let number = try cell.decode(Decimal.self)
            if scale == 0, let integer = Int64(exactly: NSDecimalNumber(decimal: number).int64Value),
                Decimal(integer) == number
            {
                return .integer(integer)
            }
            // A number with digits after the point is a real, as SQLite's division makes one (`sum(x)/100.0` read
            // 243.0 there and 243 here), taken by its exact decimal text: `NSDecimalNumber.doubleValue` printed 127.99
            // as 127.99000000000001
            let text = "\(number)"
            return Double(text).map { .real($0) } ?? .text(text)
        default: return .text(try cell.decode(String.self))
        }
    }
}
