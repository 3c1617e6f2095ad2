import Logging
import NIOCore
import PaymentsPostgres
import PostgresNIO

extension PostgresArchive {
    /// How much COPY data is gathered before it is sent: large enough that messages cost little, small enough
    /// that memory stays flat.
    static let copyChunkSize = 256 * 1024

    /// Fills the (migrated) database from `reader` in one transaction: locks every table against writers and a
    /// second import, checks again inside it that the database holds no payment data and has the archive's
    /// migrations and tables, replaces the ``ArchiveSchema/replaceable`` rows, copies every table's rows
    /// (`COPY … FROM STDIN`, which writes identity columns as given), sets each `rowid` identity past the highest
    /// value imported, and commits only after the archive's end was read and checked. Any error rolls everything
    /// back.
    static func importArchive(
        _ reader: ArchiveReader,
        into settings: PostgresSettings,
        logger: Logger
    ) async throws -> [(table: String, rows: Int64)] {
        let connection = try await settings.connect(logger: logger)
        do {
            try await connection.query("BEGIN", logger: logger)
            let target = try await tables(connection, logger: logger)
            // SHARE ROW EXCLUSIVE conflicts with every write and with itself: a second import waits here, then
            // finds the rows of the first and refuses.
            if !target.isEmpty {
                let names = target.map { quote($0.name) }.joined(separator: ", ")
                try await connection.query(
                    PostgresQuery(unsafeSQL: "LOCK TABLE \(names) IN SHARE ROW EXCLUSIVE MODE"),
                    logger: logger
                )
            }
            let migrations = try await appliedMigrations(connection, logger: logger)
            guard migrations == reader.header.migrations.sorted() else {
                throw ArchiveError.migrationsDiffer(archive: reader.header.migrations, target: migrations)
            }
            if let full = try await rowCounts(connection, logger: logger).first(where: { $0.rows > 0 }) {
                throw ArchiveError.targetNotEmpty(table: full.table, rows: full.rows)
            }
            for table in target where ArchiveSchema.replaceable.contains(table.name) {
                try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(quote(table.name))"), logger: logger)
            }
            var expected = Dictionary(uniqueKeysWithValues: target.map { ($0.name, $0.columns) })
            var counts: [(table: String, rows: Int64)] = []
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
                let rows = try await copy(reader, table: name, columns: columns, on: connection, logger: logger)
                counts.append((name, rows))
                if columns.contains("rowid"), rows > 0 {
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: """
                                SELECT setval(pg_get_serial_sequence('\(quote(name))', 'rowid'), max(rowid))
                                FROM \(quote(name))
                                """
                        ),
                        logger: logger
                    )
                }
            }
            if let missing = expected.keys.sorted().first {
                throw ArchiveError.schemaDiffers("the archive has no table \(missing)")
            }
            try await connection.query("COMMIT", logger: logger)
            try await connection.close()
            return counts
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            try? await connection.close()
            throw error
        }
    }

    /// Streams the current table's rows from `reader` into `COPY table FROM STDIN` (text format).
    /// - Returns: how many rows were copied.
    private static func copy(
        _ reader: ArchiveReader,
        table: String,
        columns: [String],
        on connection: PostgresConnection,
        logger: Logger
    ) async throws -> Int64 {
        var rows: Int64 = 0
        // PostgresNIO double-quotes the names itself. They are the target's own (the archive's were checked equal to
        // them), and a name holding a double quote is refused rather than spliced into the statement.
        guard !([table] + columns).contains(where: { $0.contains("\"") }) else {
            throw ArchiveError.schemaDiffers("table \(table) has a name PostgresNIO's COPY cannot quote")
        }
        try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(copyChunkSize + 4096)
            while let values = try reader.nextRow() {
                guard values.count == columns.count else {
                    throw ArchiveError.schemaDiffers("a row of \(table) has \(values.count) cells")
                }
                for (index, value) in values.enumerated() {
                    if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                    appendCopyText(value, to: &buffer)
                }
                buffer.writeInteger(UInt8(ascii: "\n"))
                rows += 1
                if buffer.readableBytes >= copyChunkSize {
                    try await writer.write(buffer)
                    buffer.clear()
                }
            }
            if buffer.readableBytes > 0 { try await writer.write(buffer) }
        }
        return rows
    }

    /// A value in COPY's text format: `\N` for NULL, backslash escapes for `\`, newline, carriage return and tab,
    /// bytes as bytea's hex form (`\x…`, its backslash escaped).
    static func appendCopyText(_ value: ArchiveValue, to buffer: inout ByteBuffer) {
        switch value {
        case .null:
            buffer.writeStaticString("\\N")
        case .integer(let integer):
            buffer.writeString(String(integer))
        case .text(let text):
            // Most texts need no escape: written in one go.
            guard text.utf8.contains(where: { $0 == 0x5C || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) else {
                buffer.writeString(text)
                return
            }
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
                case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
                case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
                default: buffer.writeInteger(byte)
                }
            }
        case .blob(let bytes):
            buffer.writeStaticString("\\\\x")
            for byte in bytes {
                buffer.writeInteger(Base64.hexDigit(byte >> 4))
                buffer.writeInteger(Base64.hexDigit(byte & 0x0F))
            }
        }
    }
}
