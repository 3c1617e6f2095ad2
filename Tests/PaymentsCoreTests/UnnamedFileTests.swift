import Foundation
import PaymentsCore
import Testing

@Suite("Unnamed files")
struct UnnamedFileTests {
    @Test("a file written with no name is not in its folder until it is named, and then holds what was written")
    func namedWhenComplete() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payments-unnamed-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        // Given an unnamed file in the folder (this machine's temporary folder is on a file system that has them)
        let descriptor = try #require(UnnamedFile.open(inFolder: folder.path))
        defer { close(descriptor) }
        let bytes = Array("a whole archive\n".utf8)
        #expect(write(descriptor, bytes, bytes.count) == bytes.count)
        // Then while it is written the folder shows nothing (a process killed now leaves nothing behind)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
        // When it is named
        let path = folder.appendingPathComponent("archive.tmp").path
        #expect(UnnamedFile.name(descriptor, as: path) == 0)
        // Then it is there, whole; and a name already taken is refused, not replaced
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a whole archive\n")
        #expect(UnnamedFile.name(descriptor, as: path) == EEXIST)
    }

    @Test("a folder that does not exist makes no unnamed file, so the caller's own open says why")
    func missingFolder() {
        #expect(UnnamedFile.open(inFolder: "/nonexistent-\(UUID())") == nil)
    }
}
