import Foundation
import GRDB
import PaymentsSQLite

/// What the archive needs from a SQLite file: its tables and columns, its migrations, its rows in one snapshot,
/// and an import of an archive's rows in one transaction.
enum SQLiteArchive {
    /// How long a connection waits for the file while another process writes or checkpoints: a server that was
    /// not stopped, or a short checkpoint. Five seconds, as the service's own connections.
    static let busyTimeout: TimeInterval = 5

    /// ``SQLiteFilePath/refuseOrphanedLog(_:role:)`` for the archive's database, as the archive's own error.
    static func refuseOrphanedLog(_ path: String) throws {
        do {
            try SQLiteFilePath.refuseOrphanedLog(path, role: "The database")
        } catch let refusal as SQLiteFilePath.Refusal {
            throw ArchiveError.database(refusal.description)
        }
    }

    /// Opens `path` for reading only; it must exist.
    static func readOnlyQueue(_ path: String) throws -> DatabaseQueue {
        // SQLite deletes the log beside a missing or empty file on any open: `export` of such a path lost it
        try refuseOrphanedLog(path)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ArchiveError.database("There is no SQLite database at \(path).")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "payments.archive"
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    /// Opens `path` for the import's one transaction, foreign keys on.
    static func writableQueue(_ path: String) throws -> DatabaseQueue {
        // An empty file beside a log is not a new database: `import` took it for one, and its open deleted the log
        try refuseOrphanedLog(path)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.foreignKeysEnabled = true
        configuration.label = "payments.archive"
        return try DatabaseQueue(path: path, configuration: configuration)
    }

    // MARK: - The schema

    /// The migrations GRDB recorded, sorted by name (their numbers); none before the first migration.
    static func appliedMigrations(_ db: Database) throws -> [String] {
        guard try db.tableExists("grdb_migrations") else { return [] }
        return try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").sorted()
    }

    /// The archived tables in foreign-key order, each with its archive columns and the order its rows are read in.
    static func tables(_ db: Database) throws -> [(name: String, columns: [String], order: String)] {
        let names = try String.fetchAll(
            db,
            sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).filter { !ArchiveSchema.bookkeeping.contains($0) }
        var references: [String: Set<String>] = [:]
        for name in names {
            references[name] = Set(
                try String.fetchAll(db, sql: "SELECT \"table\" FROM pragma_foreign_key_list(?)", arguments: [name])
            )
        }
        return try ArchiveSchema.foreignKeyOrder(references).map { name in
            let visible = try String.fetchAll(
                db,
                sql: "SELECT name FROM pragma_table_info(?) ORDER BY cid",
                arguments: [name]
            )
            let key = try String.fetchAll(
                db,
                sql: "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk",
                arguments: [name]
            )
            let order =
                ArchiveSchema.tablesWithRowid.contains(name) || key.isEmpty
                ? "rowid" : key.map(quote).joined(separator: ", ")
            return (name, ArchiveSchema.columns(of: name, visible: visible), order)
        }
    }

    /// The number of rows of each table that holds payment data (all but ``ArchiveSchema/replaceable``).
    static func rowCounts(_ db: Database) throws -> [(table: String, rows: Int64)] {
        try tables(db).map(\.name).filter { !ArchiveSchema.replaceable.contains($0) }.map { name in
            (name, try Int64.fetchOne(db, sql: "SELECT count(*) FROM \(quote(name))") ?? 0)
        }
    }

    static func quote(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }

    // MARK: - Export

    /// Writes the whole database to `writer` from one read transaction (one snapshot: a server writing meanwhile
    /// changes nothing the archive sees).
    static func export(path: String, to writer: ArchiveWriter, now: () -> Int64) throws {
        let queue = try readOnlyQueue(path)
        try queue.inDatabase { db in
            try db.inTransaction(.deferred) {
                let migrations = try appliedMigrations(db)
                // Another program's database (the card network's ledger) was exported whole, and the archive refused
                // only at import, once the source might be gone
                guard !migrations.isEmpty else {
                    throw ArchiveError.database(
                        "\(path) is not a payments database: it has none of the service's migrations. Name the "
                            + "service's database with --db; the card network's ledger is not exported."
                    )
                }
                try writer.header(
                    .init(
                        format: ArchiveLines.format,
                        version: ArchiveLines.version,
                        source: "sqlite",
                        migrations: migrations,
                        exportedAt: now()
                    )
                )
                for table in try tables(db) {
                    try writer.startTable(table.name, columns: table.columns)
                    let columns = table.columns.map(quote).joined(separator: ", ")
                    let rows = try Row.fetchCursor(
                        db,
                        sql: "SELECT \(columns) FROM \(quote(table.name)) ORDER BY \(table.order)"
                    )
                    var values: [ArchiveValue] = []
                    while let row = try rows.next() {
                        values.removeAll(keepingCapacity: true)
                        for (index, value) in row.databaseValues.enumerated() {
                            switch value.storage {
                            case .null: values.append(.null)
                            case .int64(let integer): values.append(.integer(integer))
                            case .string(let text): values.append(.text(text))
                            case .blob(let data): values.append(.blob(Array(data)))
                            case .double:
                                throw ArchiveError.unsupportedValue(
                                    table: table.name,
                                    column: table.columns[index],
                                    type: "REAL"
                                )
                            }
                        }
                        try writer.row(values)
                    }
                    try writer.endTable()
                }
                return .commit
            }
        }
    }

    // MARK: - Import

    /// Fills the (migrated) database at `path` from `reader` in one immediate transaction: checks again inside it
    /// that the database holds no payment data and has the archive's migrations and tables, replaces the
    /// ``ArchiveSchema/replaceable`` rows, inserts every row, and commits only after the archive's end was read and
    /// checked. Any error rolls everything back.
    static func importArchive(_ reader: ArchiveReader, into path: String) throws -> [(table: String, rows: Int64)] {
        let queue = try writableQueue(path)
        return try queue.inDatabase { db in
            var counts: [(table: String, rows: Int64)] = []
            try db.inTransaction(.immediate) {
                let migrations = try appliedMigrations(db)
                guard migrations == reader.header.migrations.sorted() else {
                    throw ArchiveError.migrationsDiffer(archive: reader.header.migrations, target: migrations)
                }
                if let full = try rowCounts(db).first(where: { $0.rows > 0 }) {
                    throw ArchiveError.targetNotEmpty(table: full.table, rows: full.rows)
                }
                let target = try tables(db)
                for table in ArchiveSchema.replaceable where target.contains(where: { $0.name == table }) {
                    try db.execute(sql: "DELETE FROM \(quote(table))")
                }
                var expected = Dictionary(uniqueKeysWithValues: target.map { ($0.name, $0.columns) })
                while let (name, columns) = try reader.nextTable() {
                    guard let targetColumns = expected.removeValue(forKey: name) else {
                        throw ArchiveError.schemaDiffers("the target has no table \(name), or the archive has it twice")
                    }
                    guard targetColumns == columns else {
                        throw ArchiveError.schemaDiffers(
                            "table \(name) has columns [\(columns.joined(separator: ", "))] in the archive and "
                                + "[\(targetColumns.joined(separator: ", "))] in the target"
                        )
                    }
                    let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
                    let statement = try db.makeStatement(
                        sql: "INSERT INTO \(quote(name)) (\(columns.map(quote).joined(separator: ", "))) "
                            + "VALUES (\(placeholders))"
                    )
                    var rows: Int64 = 0
                    while let values = try reader.nextRow() {
                        guard values.count == columns.count else {
                            throw ArchiveError.schemaDiffers("a row of \(name) has \(values.count) cells")
                        }
                        statement.setUncheckedArguments(StatementArguments(values.map(\.databaseValue)))
                        try statement.execute()
                        rows += 1
                    }
                    counts.append((name, rows))
                }
                if let missing = expected.keys.sorted().first {
                    throw ArchiveError.schemaDiffers("the archive has no table \(missing)")
                }
                return .commit
            }
            return counts
        }
    }
}

extension ArchiveValue {
    /// The value as GRDB binds it.
    var databaseValue: DatabaseValue {
        switch self {
        case .null: .null
        case .integer(let integer): integer.databaseValue
        case .text(let text): text.databaseValue
        case .blob(let bytes): Data(bytes).databaseValue
        }
    }
}
