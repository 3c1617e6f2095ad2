/// Why an export or an import stopped. Every case but ``laterMigrationsFailed(rows:reason:)`` is a refusal that
/// changed nothing in the target: an import checks what it can before it writes, and runs the rest inside the one
/// transaction it rolls back.
public enum ArchiveError: Error, Equatable, CustomStringConvertible {
    /// The file is not an archive of this format, or of a version this build does not read.
    case notAnArchive(String)
    /// The input is no regular file (a pipe, a device, a socket: `kind`), which an import cannot read twice.
    case notAFile(path: String, kind: String)
    /// A line of the archive does not parse (`line` counts from 1).
    case malformed(line: Int, reason: String)
    /// The archive ends before its last line: it was cut short (a copy or a disk that filled up).
    case truncated(afterTable: String?, inTable: String? = nil)
    /// A table's rows do not match its trailer: their count, or the SHA-256 of their lines.
    case checksumMismatch(table: String, expected: String, found: String)
    /// The SHA-256 of the whole archive does not match its last line (a changed header or trailer).
    case archiveChecksumMismatch
    /// The target database already holds rows (table and how many): an import only fills an empty database.
    case targetNotEmpty(table: String, rows: Int64)
    /// The archive was made at other migrations than the target has (or would have after migrating).
    case migrationsDiffer(archive: [String], target: [String])
    /// The archive was exported by a newer version: it names migrations (`unknown`) this version's folder lacks.
    case newerArchive(unknown: [String])
    /// The archive's migrations are all this version's, but not its first ones in order (one missing between
    /// them): not an export of this service's, or an edited one.
    case archiveMigrationsOutOfOrder(archive: [String], folder: [String])
    /// The archive's tables or columns are not the target's.
    case schemaDiffers(String)
    /// An older version's archive went in (`rows` rows, committed at its migrations), and a later migration failed
    /// (`reason`): the one case that leaves the target changed, its rows in and `payments migrate` to finish.
    case laterMigrationsFailed(rows: Int64, reason: String)
    /// A value the archive format has no type for (SQLite's REAL; no column of the schema holds one).
    case unsupportedValue(table: String, column: String, type: String)
    /// The database is missing, or refused a statement.
    case database(String)

    public var description: String {
        switch self {
        case .notAnArchive(let reason):
            "This is not a payments archive: \(reason)."
        case .notAFile(let path, let kind):
            "Cannot import from \(path): it is \(kind), not a file. An import reads the archive twice (to check all of it "
                + "before it writes, then to copy it): save the archive to a file first. Nothing was imported."
        case .malformed(let line, let reason):
            "The archive is damaged at line \(line): \(reason). Nothing was imported."
        case .truncated(_, let table?):
            // Named by the table being read: it said "after table customers" for a cut among the events' rows
            "The archive is cut short inside table \(table) (its rows end before the table's trailer). Nothing was "
                + "imported; export again."
        case .truncated(let table, nil):
            "The archive is cut short"
                + (table.map { " after table \($0)" } ?? "")
                + " (its last line is missing). Nothing was imported; export again."
        case .checksumMismatch(let table, let expected, let found):
            "The rows of table \(table) do not match their trailer (expected \(expected), found \(found)): the "
                + "archive was changed or damaged. Nothing was imported."
        case .archiveChecksumMismatch:
            "The archive's checksum does not match its contents: it was changed or damaged. Nothing was imported."
        case .targetNotEmpty(let table, let rows):
            "The target database already holds payment data (\(rows) row\(rows == 1 ? "" : "s") in \(table)). Import only into a new, "
                + "empty database; nothing was imported."
        case .migrationsDiffer(let archive, let target):
            "The archive was exported at migrations [\(archive.joined(separator: ", "))] but the target is at "
                + "[\(target.joined(separator: ", "))]. An archive imports into a new database with this version "
                + "or an older one's (an older version's archive is brought up to date as it goes in), not a newer "
                + "one's, and not into a database already migrated past the archive; nothing was imported. A "
                + "target that holds no payments (made by `payments migrate` or a start of a newer version) can be "
                + "removed and the import run again: it makes and migrates a new database itself (remove the SQLite "
                + "file with its -wal and -shm, or drop and create the PostgreSQL database). An archive a newer "
                + "version migrated before it was exported imports only with that version."
        case .newerArchive(let unknown):
            "The archive was exported by a newer version of this service: its migrations include \(unknown.count) this "
                + "version does not know (\(unknown.joined(separator: ", "))). Import it with that version or a later "
                + "one; nothing was imported, and no database was made or changed."
        case .archiveMigrationsOutOfOrder(let archive, let folder):
            "The archive's migrations [\(archive.joined(separator: ", "))] are not this version's first ones in order "
                + "([\(folder.joined(separator: ", "))]): it was not exported by this service, or was edited. Nothing "
                + "was imported, and no database was made or changed."
        case .schemaDiffers(let reason):
            "The archive's tables are not the target's: \(reason). Nothing was imported."
        case .laterMigrationsFailed(let rows, let reason):
            "The archive's \(rows) rows were imported at its own (older) migrations, but bringing them up to this "
                + "version's failed: \(reason). Run `payments migrate` on the target to finish; do not import again "
                + "(the target holds the rows now)."
        case .unsupportedValue(let table, let column, let type):
            "Table \(table), column \(column) holds a \(type) value, which the archive format does not carry."
        case .database(let message):
            message
        }
    }
}
