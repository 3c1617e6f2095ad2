import HTTPTypes
import Hummingbird
import PaymentsCore

/// Hands every request the server's ``HTTPLimits`` and refuses one over the header limits (431) or announcing a body
/// over the size limit (413, before any of it is read), each with Stripe's error object.
///
/// It also refuses, in the same shape, a request whose framing is ambiguous (RFC 9112): more than one `Host` field
/// (400), or a `Transfer-Encoding` other than `chunked` alone (501 for a coding this server does not decode, 400 for
/// `chunked` more than once). A proxy in front that read such a request's length otherwise than this server would
/// pass on what this server reads as a second request (request smuggling); ``ConnectionCloseHandler`` closes the
/// connection after the answer, so nothing after a refused head is read as a request.
///
/// A body sent without `Content-Length` (chunked) is cut off at the limit as it is read (``RequestParameters``), with
/// the same 413. On `/pay` and `/save-card` both refusals, like every error there, have the seed client's shape
/// with 400 (``CheckoutErrorMiddleware``), whether the body announced its length or not. Headers far over the limits
/// (twice them) are refused earlier still, by the HTTP parser.
struct RequestLimitsMiddleware: RouterMiddleware {
    typealias Context = StripeRequestContext
    let limits: HTTPLimits

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.limits = limits
        do {
            try refuseOverLimits(request)
        } catch let error as PaymentError where CheckoutErrorMiddleware.answers(context) {
            // The router matched the route before any middleware ran: a /pay client gets the shape it reads
            return CheckoutErrorMiddleware.answer(error)
        }
        return try await next(request, context)
    }

    /// Refuses `request` when its header fields or its announced body are over the limits.
    /// - Throws: 431 or 413, in Stripe's shape.
    func refuseOverLimits(_ request: Request) throws {
        let headers = request.headers
        try Self.refuseAmbiguousFraming(headers)
        // HTTP/1's Host header arrives as the request's authority, apart from the other fields: counted as sent.
        let host = request.head.authority.map { "Host".utf8.count + $0.utf8.count }
        let count = headers.count + (host == nil ? 0 : 1)
        if count > limits.maxHeaderCount {
            throw PaymentError.headersTooLarge(
                "The request has \(count) header fields; this server accepts at most \(limits.maxHeaderCount)."
            )
        }
        var bytes = host ?? 0
        for field in headers { bytes += field.name.rawName.utf8.count + field.value.utf8.count }
        if bytes > limits.maxHeaderBytes {
            throw PaymentError.headersTooLarge(
                "The request's header fields are \(bytes) bytes; this server accepts at most \(limits.maxHeaderBytes)."
            )
        }
        if let length = headers[.contentLength].flatMap({ Int($0) }), length > limits.maxBodyBytes {
            throw PaymentError.bodyTooLarge(length, limit: limits.maxBodyBytes)
        }
    }
}

extension RequestLimitsMiddleware {
    /// A `Host` among the request's fields: its second (HTTPTypes calls for the authority instead of `.host`).
    static let secondHost = HTTPField.Name("Host")!

    /// Refuses a second `Host` (the first arrives as the request's authority, apart from the fields) and any
    /// `Transfer-Encoding` but `chunked` alone.
    /// - Throws: 400, or 501 for a transfer coding the server does not decode.
    static func refuseAmbiguousFraming(_ headers: HTTPFields) throws {
        if headers[secondHost] != nil {
            throw PaymentError.invalidRequest(
                "The request has more than one Host header field; send exactly one (RFC 9112, section 3.2)."
            )
        }
        let codings = headers[values: .transferEncoding]
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard !codings.isEmpty, codings != ["chunked"] else { return }
        if let unknown = codings.first(where: { $0 != "chunked" }) {
            throw PaymentError(
                kind: .invalidRequest,
                code: "transfer_coding_not_implemented",
                message: "This server does not decode the transfer coding \(unknown.isEmpty ? "(empty)" : unknown); "
                    + "send the body as it is, with Content-Length or Transfer-Encoding: chunked alone.",
                status: 501
            )
        }
        throw PaymentError.invalidRequest(
            "Transfer-Encoding names chunked more than once; a body is chunked once (RFC 9112, section 7)."
        )
    }
}

extension PaymentError {
    /// Header fields over ``HTTPLimits/maxHeaderCount`` or ``HTTPLimits/maxHeaderBytes``.
    static func headersTooLarge(_ message: String) -> PaymentError {
        PaymentError(kind: .invalidRequest, code: "request_header_fields_too_large", message: message, status: 431)
    }

    /// A request NIO's parser refused before its head was whole (``ConnectionCloseHandler``): a head over the parser's
    /// limit is the 431 of one over the request limits; a character HTTP does not allow, or another malformed head, a
    /// 400 saying what to fix.
    static func unreadableRequest(_ refusal: ConnectionCloseHandler.Refusal, limits: HTTPLimits) -> PaymentError {
        switch refusal {
        case .headerOverflow:
            return .headersTooLarge(
                "The request's head (its request line and header fields) is over \(limits.parserHeaderBytes) bytes; "
                    + "this server accepts header fields of at most \(limits.maxHeaderBytes) bytes in all."
            )
        case .invalidCharacter:
            return .invalidRequest(
                "The request could not be read as HTTP: its URL or a header field holds a character HTTP does not "
                    + "allow there (a raw non-ASCII character, a space or a control character). Percent-encode such "
                    + "characters in the URL (é as %C3%A9), and send header values as visible ASCII."
            )
        case .invalidContentLength:
            return .invalidRequest(
                "The request could not be read as HTTP: its Content-Length is not a number, is given twice with "
                    + "different values, or comes with Transfer-Encoding."
            )
        case .http2Preface:
            return .invalidRequest(
                "The request could not be read as HTTP/1.1: this server speaks HTTP/1.1 only (an HTTP/2 connection "
                    + "without an upgrade is not served)."
            )
        case .invalidRequestLine:
            return .invalidRequest(
                "The request could not be read as HTTP/1.1: its request line is not a method, a path and "
                    + "HTTP/1.1 (or HTTP/1.0)."
            )
        case .malformed:
            // What llhttp reports, among others, for a body framed two ways
            return .invalidRequest(
                "The request could not be read as HTTP/1.1: its request line or header fields are malformed, or frame "
                    + "its body two ways (Content-Length beside Transfer-Encoding, or chunked given twice)."
            )
        }
    }

    /// A body whose `Content-Length` is over ``HTTPLimits/maxBodyBytes``: the same error as ``tooLarge``, saying the
    /// limit.
    static func bodyTooLarge(_ length: Int, limit: Int) -> PaymentError {
        PaymentError(
            kind: .invalidRequest,
            code: tooLarge.code,
            message: "The request body is \(length) bytes; this server accepts at most \(limit).",
            status: tooLarge.status
        )
    }
}
