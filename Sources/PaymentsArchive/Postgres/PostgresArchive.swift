import Logging
import NIOCore
import PaymentsPostgres
import PostgresNIO

/// What the archive needs from a PostgreSQL database: its tables and columns, its migrations, its rows in one
/// snapshot, and an import of an archive's rows in one transaction.
enum PostgresArchive {
    /// One archived table: its archive columns, the order its rows are read in, and its columns' types.
    struct Table {
        var name: String
        var columns: [String]
        var order: String
    }

    // MARK: - The schema

    /// The migrations recorded in `schema_migrations`, sorted by name (their numbers); none before the first run.
    static func appliedMigrations(_ connection: PostgresConnection, logger: Logger) async throws -> [String] {
        guard try await exists("schema_migrations", connection, logger: logger) else { return [] }
        var names: [String] = []
        for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger)
            .decode(String.self)
        {
            names.append(name)
        }
        return names.sorted()
    }

    static func exists(_ table: String, _ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        for try await found in try await connection.query("SELECT to_regclass(\(table)) IS NOT NULL", logger: logger)
            .decode(Bool.self)
        {
            return found
        }
        return false
    }

    /// The archived tables of the current schema in foreign-key order.
    static func tables(_ connection: PostgresConnection, logger: Logger) async throws -> [Table] {
        var visible: [String: [String]] = [:]
        var textColumns: Set<String> = []
        let columns = try await connection.query(
            """
            SELECT c.table_name::text, c.column_name::text, c.data_type::text
            FROM information_schema.columns c JOIN information_schema.tables t
                ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name, c.ordinal_position
            """,
            logger: logger
        )
        for try await (table, column, type) in columns.decode((String, String, String).self)
        where !ArchiveSchema.bookkeeping.contains(table) {
            visible[table, default: []].append(column)
            if type == "text" || type == "character varying" { textColumns.insert(table + "." + column) }
        }
        var references: [String: Set<String>] = visible.mapValues { _ in [] }
        let keys = try await connection.query(
            """
            SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
            WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
            """,
            logger: logger
        )
        for try await (table, referenced) in keys.decode((String, String).self) {
            references[table, default: []].insert(referenced)
        }
        var primaryKeys: [String: [String]] = [:]
        let primary = try await connection.query(
            """
            SELECT k.table_name::text, k.column_name::text
            FROM information_schema.table_constraints c JOIN information_schema.key_column_usage k
                ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
            WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema()
            ORDER BY k.table_name, k.ordinal_position
            """,
            logger: logger
        )
        for try await (table, column) in primary.decode((String, String).self) {
            primaryKeys[table, default: []].append(column)
        }
        return try ArchiveSchema.foreignKeyOrder(references).map { name in
            let columns = ArchiveSchema.columns(of: name, visible: visible[name] ?? [])
            if ArchiveSchema.tablesWithRowid.contains(name), visible[name]?.contains("rowid") != true {
                throw ArchiveError.schemaDiffers("table \(name) has no rowid column")
            }
            let key = ArchiveSchema.tablesWithRowid.contains(name) ? ["rowid"] : primaryKeys[name] ?? columns
            // Text sorts by its bytes, as SQLite's BINARY collation does, whatever the database's locale.
            let order = key.map { column in
                quote(column) + (textColumns.contains(name + "." + column) ? " COLLATE \"C\"" : "")
            }
            return Table(name: name, columns: columns, order: order.joined(separator: ", "))
        }
    }

    /// The number of rows of each table that holds payment data (all but ``ArchiveSchema/replaceable``).
    static func rowCounts(_ connection: PostgresConnection, logger: Logger) async throws -> [(
        table: String, rows: Int64
    )] {
        var counts: [(table: String, rows: Int64)] = []
        for table in try await tables(connection, logger: logger) where !ArchiveSchema.replaceable.contains(table.name)
        {
            let rows = try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(quote(table.name))"),
                logger: logger
            )
            for try await count in rows.decode(Int64.self) { counts.append((table.name, count)) }
        }
        return counts
    }

    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    // MARK: - Export

    /// Writes the whole database to `writer` from one `REPEATABLE READ READ ONLY` transaction (one snapshot: other
    /// connections writing meanwhile change nothing the archive sees). Rows stream from the server as they are
    /// written out.
    static func export(
        _ settings: PostgresSettings,
        to writer: ArchiveWriter,
        now: () -> Int64,
        logger: Logger
    ) async throws {
        let connection = try await settings.connect(logger: logger)
        do {
            try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
            let migrations = try await appliedMigrations(connection, logger: logger)
            try writer.header(
                .init(
                    format: ArchiveLines.format,
                    version: ArchiveLines.version,
                    source: "postgres",
                    migrations: migrations,
                    exportedAt: now()
                )
            )
            for table in try await tables(connection, logger: logger) {
                try writer.startTable(table.name, columns: table.columns)
                let columns = table.columns.map(quote).joined(separator: ", ")
                let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SELECT \(columns) FROM \(quote(table.name)) ORDER BY \(table.order)"),
                    logger: logger
                )
                var values: [ArchiveValue] = []
                for try await row in rows {
                    values.removeAll(keepingCapacity: true)
                    for cell in row { values.append(try value(of: cell, in: table.name)) }
                    try writer.row(values)
                }
                try writer.endTable()
            }
            try await connection.query("COMMIT", logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// A cell as an archive value: the integer, text and byte types the schema uses.
    static func value(of cell: PostgresCell, in table: String) throws -> ArchiveValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .integer(try cell.decode(Int64.self))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .text, .varchar, .name: return .text(try cell.decode(String.self))
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        default:
            throw ArchiveError.unsupportedValue(table: table, column: cell.columnName, type: "\(cell.dataType)")
        }
    }
}
