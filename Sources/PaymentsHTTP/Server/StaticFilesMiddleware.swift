import HTTPTypes
import Hummingbird
import PaymentsCore

/// The checkout's static files (`publicFolder`): Hummingbird's `FileMiddleware`, which answers a GET or HEAD no route
/// answered, asked only for a path in its canonical form.
///
/// The file middleware decodes percent escapes and lets the file system resolve the rest, so `//checkout/`,
/// `/./checkout/` and `/%63heckout/` were each answered with the checkout page, and `//checkout` was redirected to
/// `//checkout/`, which a browser reads as the host `checkout`. Here a path with an empty, `.` or `..` segment, or a
/// percent escape of a character that needs none (a letter, a digit, `-`, `.`, `_`, `~`) or of `/`, names no file:
/// the routes answer it (a 404). So every file is served under one path, the one its links use, and no redirect
/// starts with `//`. A broken escape still reaches the file middleware, which refuses it (400). A `Range` reaches it
/// in the forms it reads right (``ByteRange``), and one starting past the file's end is a 416.
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
        // Files answer a GET or HEAD only (the file middleware passes anything else to the routes as it is): a POST,
        // a payment, goes straight to the routes without the path check
        guard request.method == .get || request.method == .head, Self.isCanonical(request.uri.path) else {
            return try await next(request, context)
        }
        guard let value = request.headers[.range] else {
            return try await files.handle(request, context: context, next: next)
        }
        // A range is defined for GET only (RFC 9110, 14.2); one the file middleware would misread is ignored
        let range = request.method == .get ? ByteRange(value) : nil
        var head = request.head
        head.headerFields[.range] = range?.headerValue
        let response = try await files.handle(Request(head: head, body: request.body), context: context, next: next)
        guard let range, response.status == .partialContent,
            let size = response.headers[.contentRange].flatMap(Self.completeLength), range.first >= size
        else { return response }
        return Self.rangeNotSatisfiable(size: size)
    }

    /// The file's size in a `Content-Range` value (`bytes 0-9/7103`).
    static func completeLength(_ contentRange: String) -> Int? {
        contentRange.split(separator: "/").last.flatMap { Int($0) }
    }

    /// 416 for a range that starts at or past the end of a file of `size` bytes, saying the size as RFC 9110 (15.5.17)
    /// has it, `Content-Range: bytes */SIZE`, and why in Stripe's error object; the file is not read.
    static func rangeNotSatisfiable(size: Int) -> Response {
        let error = PaymentError(
            kind: .invalidRequest,
            code: nil,
            message: "The requested range starts at or past the end of the file, which is \(size) bytes long.",
            status: 416
        )
        var response = JSONResponse.json(StripeRenderer.error(error), status: .rangeNotSatisfiable)
        response.headers[.contentRange] = "bytes */\(size)"
        return response
    }

    /// Whether `path` (as sent, escapes undecoded) is in its canonical form: no empty segment but a last one (a
    /// folder's trailing `/`), no `.` or `..` segment, no escape of an unreserved character or of `/`.
    ///
    /// Read in place, one pass over the bytes with no array made: it runs for every GET and HEAD (the middleware sits
    /// before the router's routes).
    static func isCanonical(_ path: String) -> Bool {
        var path = path
        return path.withUTF8(isCanonical(bytes:))
    }

    static func isCanonical(bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let (slash, dot, percent) = (UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "%"))
        guard bytes.first == slash else { return false }
        var start = 1
        var index = 1
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == slash {
                let length = index - start
                // An empty segment but the last (a folder's trailing `/`), or a `.` or `..` segment
                if length == 0 && index < bytes.count { return false }
                if length == 1 && bytes[start] == dot { return false }
                if length == 2 && bytes[start] == dot && bytes[start + 1] == dot { return false }
                start = index + 1
            } else if bytes[index] == percent, index + 2 < bytes.count,
                let high = ParameterNode.hexValue(bytes[index + 1]), let low = ParameterNode.hexValue(bytes[index + 2])
            {
                // A control character names no file: `%00` cut the name short in the file system's call, so
                // `/js/payments.js%00.html` served the script as HTML and `/checkout%00/` the folder's size as a file
                let byte = high << 4 | low
                if byte == slash || isUnreserved(byte) || byte < 0x20 || byte == 0x7F { return false }
            }
            index += 1
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
}
