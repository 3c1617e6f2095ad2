import Foundation
import GRDB
import PaymentsPostgres
import PostgresNIO

extension ArchiveError {
    /// A write of the archive that failed, in the system's words: Foundation's error said
    /// `Error Domain=NSCocoaErrorDomain Code=512 "(null)" UserInfo={NSUnderlyingError=…}`. A reader that closed
    /// standard output (`export --output - | head`) is named as such.
    static func cannotWrite(_ error: any Error) -> ArchiveError {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
        guard let posix = underlying, posix.domain == NSPOSIXErrorDomain else {
            return .database("Cannot write the archive: \(error.localizedDescription)")
        }
        let reason = String(cString: strerror(Int32(posix.code)))
        if posix.code == Int(EPIPE) {
            return .database("Cannot write the archive: its reader closed the output before its end (\(reason)).")
        }
        return .database("Cannot write the archive: \(reason).")
    }

    /// `error` as an archive error with a message a person can act on: the archive's own errors as they are, the
    /// databases' with their message (PostgresNIO's own description hides the server's message), a migration
    /// folder's with its description.
    static func wrapping(_ error: any Error, database: ArchiveDatabase) -> ArchiveError {
        switch error {
        case let error as ArchiveError:
            return error
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return .database("PostgreSQL \(database): \(message)\(state).")
            }
            // The socket's or TLS's error, as the other commands say it (`connectionError` alone said nothing)
            return .database("Cannot reach PostgreSQL at \(database): \(PostgresPaymentStore.reason(error)).")
        case let error as DatabaseError where error.resultCode == .SQLITE_READONLY:
            // SQLite's "attempt to write a readonly database" came from an export as much as from an import: a
            // database in WAL mode is read through its -shm file, which SQLite writes beside it
            return .database(
                "SQLite \(database): this user may not write to the file or its folder, which SQLite needs even to "
                    + "read a database in WAL mode (its -shm file goes beside it). Run as a user who may write to the "
                    + "folder (the server's data folder; an export leaves the file unchanged), or on a copy in a "
                    + "folder you own (`sqlite3 DB \".backup COPY\"`)."
            )
        case let error as DatabaseError where error.resultCode == .SQLITE_NOTADB:
            // SQLite's "file is not a database", for an archive given as --db among others (a probe)
            return .database(
                "SQLite \(database): this file is not a SQLite database (an archive is read by `payments import "
                    + "--input`): name the service's database, payments.sqlite by default."
            )
        case let error as DatabaseError:
            return .database("SQLite \(database): \(error.message ?? "\(error.resultCode)").")
        default:
            return .database("\(error)")
        }
    }
}
