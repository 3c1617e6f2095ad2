import Foundation
import GRDB

/// The numbered `.sql` files of the `migrations/` folder, applied in order and recorded in the database.
///
/// Read from disk at run time (SwiftPM resources must live inside a target, and admins read these files too).
/// A migration once released is never edited; a change is a new file.
public struct MigrationSet: Sendable {
    /// One migration: its name (the file name without `.sql`) and its SQL.
    public struct Migration: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        public var name: String
        public var sql: String

        /// The name and the SQL's size, never the SQL: swift-service-lifecycle's debug log line "Starting service"
        /// printed the whole service graph, every migration's SQL in it, 60 KB a line, and the comments of
        /// `0006_charges.sql` hold test card numbers, which a search of the logs for card numbers found.
        public var description: String { "\(name) (\(sql.utf8.count) bytes of SQL)" }
        public var debugDescription: String { description }
    }

    /// The migrations in the order they apply.
    public let migrations: [Migration]

    /// Errors reading the folder.
    public enum LoadError: Error, CustomStringConvertible {
        case folderMissing(String)
        /// A folder without one `.sql` file: another folder named by mistake (`PAYMENTS_MIGRATIONS=config`). Opened
        /// with no migration, the database failed at its first query with `no such table`.
        case empty(String)
        case badName(String)

        public var description: String {
            switch self {
            case .folderMissing(let path):
                "The migrations folder '\(path)' does not exist. Run from the repository root, or set "
                    + "PAYMENTS_MIGRATIONS (or --migrations) to the folder holding the numbered .sql files."
            case .empty(let path):
                "The migrations folder '\(path)' holds no .sql file. Set PAYMENTS_MIGRATIONS (or --migrations) to "
                    + "the repository's migrations folder, which holds the numbered .sql files."
            case .badName(let name):
                "Migration file '\(name)' must be named NNNN_description.sql."
            }
        }
    }

    /// Loads every `NNNN_name.sql` file of `folder`, sorted by number.
    public init(folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LoadError.folderMissing(folder)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }
        guard !files.isEmpty else { throw LoadError.empty(folder) }
        var numbered: [(Int, Migration)] = []
        for file in files {
            let name = String(file.dropLast(4))
            guard let number = Int(name.prefix { $0.isNumber }), name.first?.isNumber == true else {
                throw LoadError.badName(file)
            }
            let sql = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
            numbered.append((number, Migration(name: name, sql: sql)))
        }
        self.migrations = numbered.sorted { $0.0 < $1.0 }.map(\.1)
    }

    /// A GRDB migrator that applies each file in its own transaction.
    private init(migrations: [Migration]) { self.migrations = migrations }

    /// The set's first migrations, up to and including `name` (an older version's set); nil when `name` is not one.
    public func prefix(through name: String) -> MigrationSet? {
        guard let last = migrations.firstIndex(where: { $0.name == name }) else { return nil }
        return MigrationSet(migrations: Array(migrations[...last]))
    }

    var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in migrations {
            migrator.registerMigration(migration.name) { db in
                try db.execute(sql: migration.sql)
            }
        }
        return migrator
    }
}
