import Foundation
import Logging
import PaymentsCore

/// `payments export`: the whole database, in one snapshot, as an archive file.
///
/// The file is written with no name (Linux's `O_TMPFILE`; elsewhere as `FILE.<8 hex digits>.tmp`), flushed to disk,
/// named `FILE.<8 hex digits>.tmp` and renamed to `FILE` once complete, so `FILE` is either absent or a whole archive
/// and an export killed half way leaves nothing; `-` writes to standard output instead. A new archive is readable by
/// its owner only; one written over an earlier archive keeps its mode (``keepPrivate(_:replacing:)``). Sealed cards are
/// copied sealed: the archive holds no card number, and the vault key that opens them travels separately.
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
        // A name no other export writes: two exports to one output shared `FILE.tmp`, so the first renamed the
        // second's half-written file into place and said it was done, and the second failed to rename
        let temporary = output + String(format: ".%08x.tmp", UInt32.random(in: .min ... .max))
        try Self.refuseOtherThanFiles(output, temporary)
        try Self.refuseDatabaseFiles(output, temporary, database: database)
        // Written with no name, so an export killed half way leaves no half archive behind; named once complete
        let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
        var unnamed = UnnamedFile.open(inFolder: folder)
        let descriptor = unnamed ?? open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else {
            // Named by the output the operator gave: the temporary name alone left them to work out which file it was
            let reason = String(cString: strerror(errno))
            throw ArchiveError.database(
                "Cannot create the archive \(output) (as \(temporary) until complete): \(reason)."
            )
        }
        let file = FileHandle(fileDescriptor: descriptor, closeOnDealloc: false)
        Self.keepPrivate(descriptor, replacing: output)
        do {
            let counts = try await write(to: file)
            try file.synchronize()
            if let named = unnamed {
                let failed = UnnamedFile.name(named, as: temporary)
                guard failed == 0 else {
                    throw ArchiveError.database("Cannot create \(temporary) (\(String(cString: strerror(failed)))).")
                }
                unnamed = nil
            }
            try file.close()
            guard rename(temporary, output) == 0 else {
                throw ArchiveError.database("Cannot rename \(temporary) to \(output) (errno \(errno)).")
            }
            return counts
        } catch {
            try? file.close()
            if unnamed == nil { try? FileManager.default.removeItem(atPath: temporary) }
            throw error
        }
    }

    /// The archive holds customers' names and emails, saved responses with their client secrets, and challenge links:
    /// a new one is readable by its owner only (`0600`), and one written over an earlier archive keeps that file's
    /// mode and owner. Renamed over a `0600` archive, the new one came out `0644`, readable by every user.
    static func keepPrivate(_ descriptor: Int32, replacing output: String) {
        var old = stat()
        if stat(output, &old) == 0 {
            _ = fchmod(descriptor, old.st_mode & 0o7777)
            _ = fchown(descriptor, old.st_uid, old.st_gid)
        } else {
            _ = fchmod(descriptor, 0o600)
        }
    }

    /// Refuses to write over a database: the exported SQLite file or one of the files SQLite keeps beside it (`-wal`,
    /// `-shm`, `-journal`), by path or through another name for the same file, or any SQLite database (the card
    /// network's ledger, another service's). Renamed over the exported file, the archive replaced the live database:
    /// the payments a running server acknowledged afterwards went into a file that was gone.
    static func refuseDatabaseFiles(_ paths: String..., database: ArchiveDatabase) throws {
        if case .sqlite(let path, _) = database {
            try refuseDatabaseFiles(paths, sqliteDatabase: path, writing: "the archive")
        } else {
            try refuseDatabaseFiles(paths, sqliteDatabase: nil, writing: "the archive")
        }
    }

    /// Refuses to write `what` (the archive, a command's results) to any of `paths` that is `sqliteDatabase` or one
    /// of the files SQLite keeps beside it, by path or through another name for the same file, any other SQLite
    /// database, or a folder.
    /// - Throws: ``ArchiveError/database(_:)`` saying which and why.
    public static func refuseDatabaseFiles(_ paths: [String], sqliteDatabase: String?, writing what: String) throws {
        if let path = sqliteDatabase {
            // The database by the name given and by the file a link leads to: SQLite keeps its `-wal` beside the
            // file the link names, so a `--db` link's target's `-wal` is the live one
            let databases = Set([Self.resolved(path), Self.fullyResolved(path)])
            let kept = databases.flatMap { name in
                ["", "-wal", "-shm", "-journal"].map { suffix in (suffix, name + suffix, FileIdentity(name + suffix)) }
            }
            for output in paths {
                let names = Set([Self.resolved(output), Self.fullyResolved(output)])
                let identity = FileIdentity(output)
                // By name: a `-wal` or `-shm` that does not exist while the database is closed is still SQLite's, and
                // the next open of the database deletes (or reads) whatever sits there. By identity: another name
                // for the same file (a link)
                guard
                    let (suffix, _, _) = kept.first(where: { _, name, kept in
                        names.contains(name) || (identity != nil && kept == identity)
                    })
                else { continue }
                if suffix.isEmpty {
                    throw ArchiveError.database(
                        "Refusing to write \(what) to \(output): it is the database \(path). Name a new file."
                    )
                }
                throw ArchiveError.database(
                    "Refusing to write \(what) to \(output): it is the database's \(suffix) file, which SQLite "
                        + "opens with the database. Name a new file."
                )
            }
        }
        for path in paths {
            guard let identity = FileIdentity(path) else { continue }
            if identity.isDirectory {
                throw ArchiveError.database("Refusing to write \(what) to \(path): it is a folder.")
            }
            if Self.isSQLiteDatabase(path) {
                throw ArchiveError.database(
                    "Refusing to write \(what) to \(path): it is an SQLite database. Name a new file."
                )
            }
            // Another database's log or journal (the card network ledger's `-wal`)
            if let suffix = ["-wal", "-shm", "-journal"].first(where: { path.hasSuffix($0) }),
                Self.isSQLiteDatabase(String(path.dropLast(suffix.count)))
            {
                throw ArchiveError.database(
                    "Refusing to write \(what) to \(path): it is the \(suffix) file of an SQLite database. Name a new "
                        + "file."
                )
            }
        }
    }

    /// Refuses an output that is not a file to replace: an empty name, or an existing name that is not a regular
    /// file (a device, a named pipe, a socket, a symbolic link). The archive is renamed over its output when complete,
    /// so `--output /dev/null` run as root replaced the device with a world-readable file of the archive, and a link
    /// was replaced by the archive while its target stayed as it was; a named pipe hung the export before it began.
    static func refuseOtherThanFiles(_ paths: String...) throws {
        for path in paths {
            guard !path.isEmpty, !path.hasSuffix("/") else {
                throw ArchiveError.database(
                    "Refusing to write the archive to \"\(path)\": name a file (or - for standard output)."
                )
            }
            var status = stat()
            guard lstat(path, &status) == 0 else { continue }
            let kind: String
            switch status.st_mode & S_IFMT {
            case S_IFREG: continue
            case S_IFDIR: kind = "a folder"
            case S_IFLNK: kind = "a symbolic link (name the file it leads to)"
            case S_IFIFO: kind = "a named pipe (use --output - and a shell pipe)"
            case S_IFCHR, S_IFBLK: kind = "a device (use --output - to write to standard output)"
            default: kind = "not a regular file"
            }
            throw ArchiveError.database(
                "Refusing to write the archive to \(path): it is \(kind). The archive is written beside it and renamed "
                    + "over it when complete, which would replace it."
            )
        }
    }

    /// `path` made absolute with every symbolic link resolved, the file's own included when it is one.
    static func fullyResolved(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// `path` made absolute, with its folder's symbolic links resolved (the file itself may not exist yet).
    static func resolved(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        return url.deletingLastPathComponent().resolvingSymlinksInPath().appendingPathComponent(url.lastPathComponent)
            .path
    }

    /// Whether `path` is a regular file that starts with SQLite's file header (a named pipe or a device is never
    /// opened: reading one blocks, or has effects).
    static func isSQLiteDatabase(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
            let handle = FileHandle(forReadingAtPath: path)
        else { return false }
        defer { try? handle.close() }
        let header = (try? handle.read(upToCount: 16)) ?? Data()
        return header == Data("SQLite format 3\u{0}".utf8)
    }

    /// A file as the file system knows it, whatever name reaches it (a symbolic link, a hard link, `./`).
    struct FileIdentity: Equatable {
        let device: UInt64
        let inode: UInt64
        let isDirectory: Bool

        init?(_ path: String) {
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
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
