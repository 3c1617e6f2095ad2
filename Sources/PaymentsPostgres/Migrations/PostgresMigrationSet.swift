import Crypto
import Foundation

/// The numbered `.sql` files of `migrations/postgres/`, in the order they apply, each with its checksum.
///
/// Read from disk at run time, like SQLite's `migrations/` (see `MigrationSet` in PaymentsStore). A migration once
/// released is never edited: the checksum recorded when a file is applied lets the runner refuse a changed one.
public struct PostgresMigrationSet: Sendable {
    /// One migration: its name (the file name without `.sql`), its SQL and the SHA-256 of its bytes (hex).
    public struct Migration: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        public var name: String
        public var sql: String
        public var checksum: String

        /// The name and the SQL's size, never the SQL (see `MigrationSet.Migration`'s).
        public var description: String { "\(name) (\(sql.utf8.count) bytes of SQL)" }
        public var debugDescription: String { description }
    }

    /// The migrations in the order they apply.
    public let migrations: [Migration]

    /// No migrations: for a store opened without migrating, to read what is there (`payments report`), whose
    /// command then needs no migrations folder.
    public static let none = PostgresMigrationSet(migrations: [])

    private init(migrations: [Migration]) { self.migrations = migrations }

    /// The set's first migrations, up to and including `name` (an older version's set); nil when `name` is not one.
    public func prefix(through name: String) -> PostgresMigrationSet? {
        guard let last = migrations.firstIndex(where: { $0.name == name }) else { return nil }
        return PostgresMigrationSet(migrations: Array(migrations[...last]))
    }

    /// Errors reading the folder.
    public enum LoadError: Error, Equatable, CustomStringConvertible {
        case folderMissing(String)
        /// A folder without one `.sql` file (another folder named by mistake).
        case empty(String)
        case badName(String)
        case duplicateNumber(String, String)

        public var description: String {
            switch self {
            case .folderMissing(let path):
                "The PostgreSQL migrations folder '\(path)' does not exist. Run from the repository root, or name "
                    + "the folder holding the numbered .sql files for PostgreSQL (migrations/postgres)."
            case .empty(let path):
                "The PostgreSQL migrations folder '\(path)' holds no .sql file. Name the folder holding the "
                    + "numbered .sql files for PostgreSQL (migrations/postgres)."
            case .badName(let name):
                "Migration file '\(name)' must be named NNNN_description.sql."
            case .duplicateNumber(let first, let second):
                "Migration files '\(first)' and '\(second)' have the same number; each number is used once."
            }
        }
    }

    /// Loads every `NNNN_name.sql` file of `folder`, sorted by number.
    /// - Throws: ``LoadError`` for a missing folder, a file not named `NNNN_name.sql`, or a number used twice.
    public init(folder: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw LoadError.folderMissing(folder)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }
        guard !files.isEmpty else { throw LoadError.empty(folder) }
        var numbered: [Int: (file: String, migration: Migration)] = [:]
        for file in files.sorted() {
            let name = String(file.dropLast(4))
            guard let number = Int(name.prefix { $0.isNumber }), name.first?.isNumber == true else {
                throw LoadError.badName(file)
            }
            if let earlier = numbered[number] { throw LoadError.duplicateNumber(earlier.file, file) }
            let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent(file))
            let sql = String(decoding: data, as: UTF8.self)
            numbered[number] = (file, Migration(name: name, sql: sql, checksum: Self.checksum(data)))
        }
        self.migrations = numbered.sorted { $0.key < $1.key }.map(\.value.migration)
    }

    /// The SHA-256 of `data`, in lowercase hex.
    static func checksum(_ data: Data) -> String {
        SHA256.hash(data: data).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
