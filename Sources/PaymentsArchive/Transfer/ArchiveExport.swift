import Foundation
import Logging
import PaymentsCore

/// `payments export`: the whole database, in one snapshot, as an archive file.
///
/// The file is written as `FILE.tmp`, flushed to disk and renamed to `FILE` once complete, so `FILE` is either
/// absent or a whole archive; `-` writes to standard output instead. Sealed cards are copied sealed: the archive
/// holds no card number, and the vault key that opens them travels separately.
public struct ArchiveExport: Sendable {
    public let database: ArchiveDatabase
    /// The time the header records.
    public let clock: UnixClock
    public let logger: Logger

    public init(database: ArchiveDatabase, clock: UnixClock, logger: Logger) {
        self.database = database
        self.clock = clock
        self.logger = logger
    }

    /// Writes the archive to `output` (a path, or `-` for standard output).
    /// - Returns: each table and its row count, in the archive's order.
    /// - Throws: ``ArchiveError``.
    public func run(output: String) async throws -> [(table: String, rows: Int64)] {
        if output == "-" {
            return try await write(to: FileHandle.standardOutput)
        }
        let temporary = output + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let file = FileHandle(forWritingAtPath: temporary)
        else { throw ArchiveError.database("Cannot create \(temporary).") }
        do {
            let counts = try await write(to: file)
            try file.synchronize()
            try file.close()
            guard rename(temporary, output) == 0 else {
                throw ArchiveError.database("Cannot rename \(temporary) to \(output) (errno \(errno)).")
            }
            return counts
        } catch {
            try? file.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
    }

    private func write(to handle: FileHandle) async throws -> [(table: String, rows: Int64)] {
        let writer = ArchiveWriter(output: handle)
        let clock = clock
        do {
            switch database {
            case .sqlite(let path, _):
                try SQLiteArchive.export(path: path, to: writer, now: clock.now)
            case .postgres(let settings, _):
                try await PostgresArchive.export(settings, to: writer, now: clock.now, logger: logger)
            }
            try writer.finish()
        } catch {
            throw ArchiveError.wrapping(error, database: database)
        }
        return writer.counts
    }
}
