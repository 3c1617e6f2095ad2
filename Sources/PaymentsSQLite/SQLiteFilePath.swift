import Foundation
import GRDB

/// Where a SQLite database file of the service goes (the service's database, the card network's ledger): its folder
/// made when missing, and a path that is no regular file refused, each with a message naming the file's role.
///
/// Before, a folder that could not be made stopped the command with Foundation's own words (`Error
/// Domain=NSCocoaErrorDomain Code=4 "The file doesn't exist."`), naming neither the path nor the setting; and a device
/// (`--db /dev/null`) was opened as a database, failed with `disk I/O error`, and left a `/dev/null-journal` behind.
public enum SQLiteFilePath {
    /// Why a path cannot hold the database.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `open` on the file at `path`, naming it (as `role`) when SQLite finds it is not a database: `serve` on a
    /// text file said only `SQLite error 26: file is not a database - while executing SELECT * FROM sqlite_master`,
    /// the same for the service's database and for the card network's ledger.
    /// - Throws: ``Refusal`` for a file that is not a database, a damaged one, or one another process holds locked past
    ///   the busy timeout; `open`'s error otherwise.
    public static func opening<T>(_ path: String, role: String, _ open: () throws -> T) throws -> T {
        do {
            return try open()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw Refusal(
                description: "\(role) '\(path)' is not a SQLite database (\(error.message ?? "file is not a database"))"
                    + ": name the service's file, or a new one."
            )
        } catch let error as DatabaseError
            where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED
        {
            // `SQLite error 5: database is locked - while executing BEGIN IMMEDIATE TRANSACTION` named neither the
            // file nor what to do
            throw Refusal(
                description: "\(role) '\(path)' is locked: another process (an admin's sqlite3 in an open write "
                    + "transaction, say) held its write lock for longer than the 5 s this command waits, and the file "
                    + "was left as it was: run the command again once the lock is free."
            )
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CORRUPT {
            // `SQLite error 11: database disk image is malformed - while executing SELECT * FROM sqlite_master` named
            // neither the file nor what to do
            let reason = error.message ?? "database disk image is malformed"
            throw Refusal(
                description: "\(role) '\(path)' is damaged: SQLite finds it cut short or overwritten (\(reason)). "
                    + "Nothing was changed: restore it from a backup (see \"Where the data lives\" in the README)."
            )
        }
    }

    /// Makes `path`'s folder if it is missing, and checks that `path` is a regular file when it exists.
    /// - Parameter role: what the file is, for messages ("the database (--db, PAYMENTS_DB)").
    /// - Throws: ``Refusal`` saying why not.
    public static func prepare(_ path: String, role: String) throws {
        try refuseOrphanedLog(path, role: role)
        var status = stat()
        if stat(path, &status) == 0 {
            switch status.st_mode & S_IFMT {
            case S_IFREG: return try checkWritable(path, role: role)
            case S_IFDIR: throw Refusal(description: "\(role) '\(path)' is a folder; name a file in it.")
            default:
                throw Refusal(description: "\(role) '\(path)' is not a regular file (a device, a pipe or a socket).")
            }
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        // Folder by folder with mkdir, for the system's reason when one fails ("Not a directory" when a file stands
        // where a folder goes), where Foundation's words named neither.
        func refuse(_ reason: String) -> Refusal {
            Refusal(description: "\(role) '\(path)': cannot make its folder '\(folder)': \(reason).")
        }
        var made = ""
        for component in folder.split(separator: "/") {
            made += "/" + component
            if mkdir(made, 0o777) == 0 { continue }
            let code = errno
            // There already: a folder, or a file, which the next step (or the check below) finds
            if code == EEXIST { continue }
            throw refuse(String(cString: strerror(code)))
        }
        var existing = stat()
        guard stat(folder, &existing) == 0, existing.st_mode & S_IFMT == S_IFDIR else {
            throw refuse("it is a file, not a folder")
        }
        try checkWritable(path, role: role)
    }

    /// Refuses a database file that is missing or empty while its write-ahead log (`-wal`) beside it holds data.
    ///
    /// The log is where every commit since the last checkpoint lives. With the file removed under a running server
    /// (an operator's `rm`), the server refuses writes and says at its stop to keep the log; but a plain restart then
    /// opened a new empty file, and SQLite deletes the log it finds beside an empty database: every payment in it was
    /// gone, the server served an empty database, and a client's retry of an answered payment was charged again.
    ///
    /// Every opening of a database file checks it first, a read-only one too: SQLite deletes that log on any open,
    /// and `report`, `export` and `import` lost it as `serve` did. A path that is a symbolic link is followed, as
    /// SQLite follows it, to the file whose log it keeps.
    public static func refuseOrphanedLog(_ path: String, role: String) throws {
        let file = resolvingLinks(path)
        var status = stat()
        let fileSize: Int64? = stat(file, &status) == 0 ? Int64(status.st_size) : nil
        guard (fileSize ?? 0) == 0 else { return }
        var log = stat()
        guard stat(file + "-wal", &log) == 0, log.st_size > 0 else { return }
        let state = fileSize == nil ? "does not exist" : "is empty"
        let named = file == path ? "'\(path)'" : "'\(path)' (the link to '\(file)')"
        throw Refusal(
            description: "\(role) \(named) \(state), but its write-ahead log '\(file)-wal' (\(log.st_size) bytes) is "
                + "there: it holds the data committed since the last checkpoint, and opening the path would delete "
                + "it. Nothing was changed. Put the removed file back (a server still running on it holds it open: "
                + "copy it from /proc/PID/fd/N, which `ls -l /proc/PID/fd` shows as deleted). A backup does not go "
                + "with this log: to restore one, or to start afresh on purpose, move the -wal file away first."
        )
    }

    /// `path` with its symbolic links followed to the file they name, existing or not (a link whose file was removed
    /// names where it was); `path` itself when it is no link. At most 16 links deep, as the system's own limit.
    static func resolvingLinks(_ path: String) -> String {
        var current = path
        for _ in 0..<16 {
            var status = stat()
            guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK,
                let target = try? FileManager.default.destinationOfSymbolicLink(atPath: current)
            else { return current }
            current =
                target.hasPrefix("/")
                ? target
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(target).path
        }
        return current
    }

    /// Refuses a file (when it exists) or a folder this process cannot write: SQLite writes the file and makes its
    /// `-wal` and `-shm` files beside it. Without this check a read-only file stopped `migrate`, `serve` and `sweep`
    /// with GRDB's `SQLite error 8: attempt to write a readonly database - while executing CREATE TABLE
    /// grdb_issue_102`, which names neither the file nor the cause.
    static func checkWritable(_ path: String, role: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        for (target, what) in [(path, ""), (folder, ": its folder '\(folder)' is not writable")]
        where access(target, F_OK) == 0 && access(target, W_OK | (target == folder ? X_OK : 0)) != 0 {
            let reason = String(cString: strerror(errno))
            throw Refusal(
                description: "\(role) '\(path)' cannot be written\(what) (\(reason); this process runs as user "
                    + "\(getuid())). SQLite writes the file and keeps its -wal and -shm files beside it: give this "
                    + "user write permission on both, or run as their owner."
            )
        }
    }
}
