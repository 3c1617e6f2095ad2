import Hummingbird

/// The checkout's static files (`publicFolder`): Hummingbird's `FileMiddleware`, which answers a GET or HEAD no route
/// answered, asked only for a path in its canonical form.
///
/// The file middleware decodes percent escapes and lets the file system resolve the rest, so `//checkout/`,
/// `/./checkout/` and `/%63heckout/` were each answered with the checkout page, and `//checkout` was redirected to
/// `//checkout/`, which a browser reads as the host `checkout`. Here a path with an empty, `.` or `..` segment, or a
/// percent escape of a character that needs none (a letter, a digit, `-`, `.`, `_`, `~`) or of `/`, names no file:
/// the routes answer it (a 404). So every file is served under one path, the one its links use, and no redirect
/// starts with `//`. A broken escape still reaches the file middleware, which refuses it (400).
struct StaticFilesMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let files: FileMiddleware<Context, CanonicalFileSystem>

    /// Serves `folder`'s files.
    init(folder: String) {
        // Files are revalidated on every load (`no-cache` with an ETag), so a deploy is seen at once while unchanged
        // files cost a 304.
        files = FileMiddleware(
            fileProvider: CanonicalFileSystem(folder: folder),
            cacheControl: .init([(.text, [.noCache]), (.application, [.noCache]), (.image, [.maxAge(3600)])]),
            searchForIndexHtml: true
        )
    }

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.isCanonical(request.uri.path) else { return try await next(request, context) }
        return try await files.handle(request, context: context, next: next)
    }

    /// Whether `path` (as sent, escapes undecoded) is in its canonical form: no empty segment but a last one (a
    /// folder's trailing `/`), no `.` or `..` segment, no escape of an unreserved character or of `/`.
    static func isCanonical(_ path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/") else { return false }
        let segments = bytes.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            if segment.isEmpty && index < segments.count - 1 { return false }
            if segment.elementsEqual(".".utf8) || segment.elementsEqual("..".utf8) { return false }
        }
        for index in bytes.indices where bytes[index] == UInt8(ascii: "%") && index + 2 < bytes.count {
            guard let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else { continue }
            let byte = high << 4 | low
            if byte == UInt8(ascii: "/") || isUnreserved(byte) { return false }
        }
        return true
    }

    /// RFC 3986's unreserved characters, which a URI never needs to escape.
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
