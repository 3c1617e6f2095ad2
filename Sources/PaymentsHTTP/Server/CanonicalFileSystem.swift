import Hummingbird
import Logging

/// The static files' folder as `FileMiddleware` reads it, except that a path ending in `/` names a folder only.
///
/// The local file system resolves `checkout/index.html/` to the file (the trailing slash is dropped), which was
/// then served without a content type, since `html/` is no known extension.
struct CanonicalFileSystem: FileProvider {
    typealias FileAttributes = LocalFileSystem.FileAttributes
    typealias FileIdentifier = LocalFileSystem.FileIdentifier

    let files: LocalFileSystem

    /// Serves `folder`.
    init(folder: String) {
        files = LocalFileSystem(
            rootFolder: folder,
            threadPool: .singleton,
            logger: Logger(label: "payments.static-files")
        )
    }

    func getFileIdentifier(_ path: String) -> FileIdentifier? {
        files.getFileIdentifier(path)
    }

    func getAttributes(id: FileIdentifier) async throws -> FileAttributes? {
        guard let attributes = try await files.getAttributes(id: id) else { return nil }
        if id.hasSuffix("/") && !attributes.isFolder { return nil }
        return attributes
    }

    func loadFile(id: FileIdentifier, context: some RequestContext) async throws -> ResponseBody {
        try await files.loadFile(id: id, context: context)
    }

    func loadFile(id: FileIdentifier, range: ClosedRange<Int>, context: some RequestContext) async throws
        -> ResponseBody
    {
        try await files.loadFile(id: id, range: range, context: context)
    }
}
