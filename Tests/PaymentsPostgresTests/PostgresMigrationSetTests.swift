import Foundation
import PaymentsPostgres
import TestSupport
import Testing

/// Loading `migrations/postgres/`: pure file reading, no server.
@Suite("PostgreSQL migration files")
struct PostgresMigrationSetTests {
    /// A temporary folder holding `files` (name → text).
    static func folder(_ files: [String: String]) throws -> URL {
        let folder = try TestPaths.temporaryFolder("payments-pg-set")
        for (name, text) in files { try Data(text.utf8).write(to: folder.appendingPathComponent(name)) }
        return folder
    }

    @Test("files load in number order (not name order), with the SHA-256 of their bytes")
    func order() throws {
        let folder = try Self.folder(["10_late.sql": "abc", "0002_b.sql": "", "1_first.sql": "x", "README.md": "no"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let set = try PostgresMigrationSet(folder: folder.path)
        #expect(set.migrations.map(\.name) == ["1_first", "0002_b", "10_late"])
        #expect(set.migrations[2].checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(set.migrations[1].checksum == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("every PostgreSQL migration mirrors the SQLite migration of the same name")
    func mirrorsSQLite() throws {
        let postgres = try PostgresMigrationSet(
            folder: TestPaths.root.appendingPathComponent("migrations/postgres").path
        )
        let sqlite = try FileManager.default.contentsOfDirectory(atPath: TestPaths.migrations)
            .filter { $0.hasSuffix(".sql") }.map { String($0.dropLast(4)) }.sorted()
        #expect(postgres.migrations.map(\.name) == sqlite)
        for migration in postgres.migrations {
            #expect(migration.sql.hasPrefix("-- PostgreSQL translation of migrations/\(migration.name).sql"))
        }
    }

    @Test("a missing folder, a file without a number and a number used twice are refused")
    func refused() throws {
        #expect(throws: PostgresMigrationSet.LoadError.folderMissing("/no/such/folder")) {
            try PostgresMigrationSet(folder: "/no/such/folder")
        }
        let unnumbered = try Self.folder(["initial.sql": ""])
        defer { try? FileManager.default.removeItem(at: unnumbered) }
        #expect(throws: PostgresMigrationSet.LoadError.badName("initial.sql")) {
            try PostgresMigrationSet(folder: unnumbered.path)
        }
        let twice = try Self.folder(["0001_a.sql": "", "1_b.sql": ""])
        defer { try? FileManager.default.removeItem(at: twice) }
        #expect(throws: PostgresMigrationSet.LoadError.duplicateNumber("0001_a.sql", "1_b.sql")) {
            try PostgresMigrationSet(folder: twice.path)
        }
    }
}
