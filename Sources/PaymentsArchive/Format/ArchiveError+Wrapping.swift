import GRDB
import PostgresNIO

extension ArchiveError {
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
            return .database("Cannot reach PostgreSQL at \(database): \(error.code).")
        case let error as DatabaseError where error.resultCode == .SQLITE_READONLY:
            // SQLite's "attempt to write a readonly database" came from an export as much as from an import: a
            // database in WAL mode is read through its -shm file, which SQLite writes beside it
            return .database(
                "SQLite \(database): this user may not write to the file or its folder, which SQLite needs even to "
                    + "read a database in WAL mode (its -shm file goes beside it). Run as a user who may write to the "
                    + "folder (the server's data folder; an export leaves the file unchanged), or on a copy in a "
                    + "folder you own (`sqlite3 DB \".backup COPY\"`)."
            )
        case let error as DatabaseError:
            return .database("SQLite \(database): \(error.message ?? "\(error.resultCode)").")
        default:
            return .database("\(error)")
        }
    }
}
