import Foundation
import Testing

@testable import PaymentsCLI

/// The newest migration the binary needs (``RequiredMigrations``) is the newest file of the repository's folders, so
/// a migration added without moving the constant fails here, not in production with an older folder.
@Suite("The migration this build needs")
struct RequiredMigrationsTests {
    /// The repository root (the folder holding `Package.swift`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The newest migration of the repository's `folder` (relative to the root), by number.
    static func newest(in folder: String) throws -> String? {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
            .filter { $0.hasSuffix(".sql") }
            .map { String($0.dropLast(4)) }
            .max { Int($0.prefix { $0.isNumber }) ?? 0 < Int($1.prefix { $0.isNumber }) ?? 0 }
    }

    @Test("each store's constant is the newest migration file of its folder")
    func constantsAreTheNewestFiles() throws {
        #expect(
            try Self.newest(in: "migrations") == RequiredMigrations.sqlite,
            "a migration was added to migrations/: move RequiredMigrations.sqlite to it"
        )
        #expect(
            try Self.newest(in: "migrations/postgres") == RequiredMigrations.postgres,
            "a migration was added to migrations/postgres/: move RequiredMigrations.postgres to it"
        )
    }

    @Test("a folder without the migration is refused, naming the folder, its newest, the one needed and what to do")
    func olderFolderRefused() throws {
        let names = ["0001_initial", "0009_checks_without_lists"]
        let error = #expect(throws: RequiredMigrations.FolderTooOld.self) {
            try RequiredMigrations.check(names, folder: "oldmig", required: "0013_shipping", postgres: false)
        }
        let message = "\(try #require(error))"
        for part in ["'oldmig'", "0009_checks_without_lists", "0013_shipping", "Copy the .sql files of this release"] {
            #expect(message.contains(part), "\(message)")
        }
        // A folder holding it, and more (a newer release's), is used as before
        try RequiredMigrations.check(
            names + ["0013_shipping", "0014_later"],
            folder: "newer",
            required: "0013_shipping",
            postgres: false
        )
    }
}
