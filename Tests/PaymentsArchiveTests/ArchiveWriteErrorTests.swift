import Foundation
import Testing

@testable import PaymentsArchive

/// A write of the archive that fails is said in the system's words, not as Foundation's
/// `Error Domain=NSCocoaErrorDomain Code=512 "(null)" UserInfo={…}`.
@Suite("Archive write errors")
struct ArchiveWriteErrorTests {
    @Test("a full disk is named as such")
    func fullDisk() throws {
        // Given the error of a write to a full device
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? full.close() }
        let error = try #require(#expect(throws: (any Error).self) { try full.write(contentsOf: [1, 2, 3]) })
        // Then the archive's error says what the system said
        #expect(ArchiveError.cannotWrite(error).description == "Cannot write the archive: No space left on device.")
    }

    @Test("a reader that closed standard output is named as such")
    func brokenPipe() {
        // Given Foundation's error for EPIPE (a pipe's reader gone; writing to one here would signal the tests)
        let underlying = NSError(domain: NSPOSIXErrorDomain, code: Int(EPIPE))
        let error = NSError(domain: NSCocoaErrorDomain, code: 512, userInfo: [NSUnderlyingErrorKey: underlying])
        // Then
        #expect(
            ArchiveError.cannotWrite(error).description
                == "Cannot write the archive: its reader closed the output before its end (Broken pipe)."
        )
    }
}
