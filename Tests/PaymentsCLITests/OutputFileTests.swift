import Foundation
import Testing

@testable import PaymentsCLI

@Suite("A command's output file")
struct OutputFileTests {
    @Test("while the new file is written it has no name, so a process killed then leaves nothing in the folder")
    func nothingNamedWhileWriting() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payments-output-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("results.csv").path
        try "old results\n".write(toFile: path, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        var seen: [String] = []
        // When the results are written, the folder looked at once they are synced and not yet renamed
        try OutputFile(path, holding: "the results").write(Data("new results\n".utf8)) {
            seen = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? ["unreadable"]
        }
        // Then at that moment only the old file was there, and afterwards only the new one, with the old one's mode
        #expect(seen == ["results.csv"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["results.csv"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new results\n")
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test("a new file is made whole where none was")
    func newFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payments-output-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("metrics.prom").path
        try OutputFile(path, holding: "the metrics").write(Data("a 1\n".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["metrics.prom"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "a 1\n")
    }
}
