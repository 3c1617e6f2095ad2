import Foundation
import Hummingbird
import NIOCore
import PaymentsCore

/// Reads a request's parameters the same way for every route.
enum RequestParameters {
    /// The request's parameters: the query string for GET (HEAD) and DELETE, the body (form or JSON) for POST.
    /// - Throws: 400 for a malformed body, a card number outside `card[number]` or a null character, 413 for one over
    ///   the size limit.
    static func read(_ request: Request, context: StripeRequestContext) async throws -> Parameters {
        if request.method == .get || request.method == .head || request.method == .delete {
            try refuseBody(request)
            return Parameters(
                try refusingCardNumbers(
                    ParameterNode.parseForm(request.uri.query ?? "", limit: context.limits.maxFormParameters)
                )
            )
        }
        try refuseQuery(request)
        // Parsed already by the idempotency middleware (for its fingerprint, its encoding checked): parsed once per
        // request.
        if let parsed = context.parsedBody { return Parameters(parsed) }
        try refuseContentEncoding(request)
        let buffer = try await collectBody { try await request.body.collect(upTo: context.maxUploadSize) }
        return Parameters(
            try parseBody(buffer, contentType: request.headers[.contentType], limit: context.limits.maxFormParameters)
        )
    }

    /// Refuses an API POST whose URL has a query string: its parameters are read from the body only, and a query's
    /// were ignored without a word (`POST .../capture?amount_to_capture=1` captured the whole amount; `POST
    /// /v1/customers?email=...` made a customer without the email). `/pay` and `/save-card` are refused the same way
    /// (`POST /pay?item=mug` charged the default item's price). The 3-D Secure page's answer is not: it keeps the
    /// page's `locale` in its URL.
    /// - Throws: 400 `invalid_request_error`, before anything runs or is saved.
    static func refuseQuery(_ request: Request) throws {
        guard let query = request.uri.query, !query.isEmpty,
            request.uri.path.hasPrefix("/v1/") || CheckoutErrorMiddleware.endpoints.contains(request.uri.path)
        else { return }
        throw PaymentError.invalidRequest(
            "A POST's parameters are read from its body only, and this one has parameters in its URL's query string. "
                + "Send them in the body, form-encoded (application/x-www-form-urlencoded) or as JSON."
        )
    }

    /// Refuses a POST whose body is sent with a `Content-Encoding` other than `identity`: bodies are read as sent, so
    /// `Content-Encoding: gzip` on a plain form stored its text as if uncompressed, and on a real gzip body answered
    /// "not valid UTF-8", which sent its caller looking for the wrong cause.
    /// - Throws: 400 `invalid_request_error`, before the body is read.
    static func refuseContentEncoding(_ request: Request) throws {
        // (one lookup for nearly every request, which has none)
        guard request.headers[.contentEncoding] != nil else { return }
        let named = request.headers[values: .contentEncoding].joined(separator: ", ")
        let codings = named.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard codings.contains(where: { $0 != "identity" && !$0.isEmpty }) else { return }
        let shown = CardNumber.appears(in: named) ? "" : " (\(named.prefix(100)))"
        throw PaymentError.invalidRequest(
            "Request bodies are not read compressed: this one has a Content-Encoding\(shown). Send the body "
                + "uncompressed, without a Content-Encoding header."
        )
    }

    /// Refuses an API GET, HEAD or DELETE that has a body: its parameters are read from the query string only, and a
    /// body's were ignored without a word (`curl -X GET .../payment_intents -d customer=cus_...` listed every
    /// customer's intents; `DELETE` with a body of unknown parameters deleted the customer, where the same in the
    /// query is a 400). The official libraries send these parameters in the query. An empty body
    /// (`Content-Length: 0`) is no body.
    /// - Throws: 400 `invalid_request_error`, before anything runs.
    static func refuseBody(_ request: Request) throws {
        let length = request.headers[.contentLength].flatMap { Int($0) } ?? 0
        guard length > 0 || request.headers[.transferEncoding] != nil, request.uri.path.hasPrefix("/v1/") else {
            return
        }
        throw PaymentError.invalidRequest(
            "A \(request.method)'s parameters are read from its URL's query string only, and this one has a body. "
                + "Send them in the query string (curl: -G with -d)."
        )
    }

    /// The body `collect` reads, or the error to answer: 413 past the size limit, 400 for a body HTTP cannot read
    /// (a chunk size that is not hexadecimal, a chunk shorter than its size), which was answered 413 as well.
    static func collectBody(_ collect: () async throws -> ByteBuffer) async throws -> ByteBuffer {
        do {
            return try await collect()
        } catch is NIOTooManyBytesError {
            throw PaymentError.tooLarge
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw PaymentError.tooLarge
        } catch {
            throw PaymentError.invalidRequest(
                "The request body could not be read: it is not valid HTTP (a malformed chunked body, or a connection "
                    + "closed before the body's end)."
            )
        }
    }

    /// A POST body's parameters: JSON for `application/json`, a form for `application/x-www-form-urlencoded` or no
    /// content type.
    /// - Parameter limit: the most parameters accepted (``HTTPLimits/maxFormParameters``).
    /// - Throws: 400 for another content type, a malformed body, one that is not UTF-8, one with more than `limit`
    ///   parameters, or a card number outside `card[number]`.
    static func parseBody(_ buffer: ByteBuffer, contentType: String?, limit: Int) throws -> [String: ParameterNode] {
        let mediaType = contentType.map(Self.mediaType) ?? ""
        if mediaType == "application/json" {
            if buffer.readableBytes == 0 { return [:] }
            return try refusingCardNumbers(ParameterNode.parseJSON(Data(buffer.readableBytesView), limit: limit))
        }
        // Anything else was read as a form: a multipart body (`curl -F`) was answered with parameter_unknown naming
        // its boundary line, a JSON body sent as text/plain with its braces as a parameter's name
        guard mediaType.isEmpty || mediaType == "application/x-www-form-urlencoded" else {
            throw PaymentError.unsupportedContentType(mediaType)
        }
        // Validated, not decoded: NIO's `getString` replaces each byte that is not UTF-8 with U+FFFD, so
        // `description=caf\xE9` was stored as `caf\u{FFFD}`, and two metadata keys differing in such a byte merged
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw PaymentError.invalidRequest(
                "The request body is not valid UTF-8: send form parameters as UTF-8, percent-encoded "
                    + "(application/x-www-form-urlencoded)."
            )
        }
        // A JSON object sent as a form (`curl -d '{"amount": 2000}'` sends it so) was read as one parameter named
        // by the whole text, and answered "Missing required param: amount."
        if let first = text.utf8.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }),
            first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        {
            throw PaymentError.invalidRequest(
                "The request body looks like JSON, but its Content-Type is "
                    + "\(mediaType.isEmpty ? "missing" : mediaType) (curl -d sends application/x-www-form-urlencoded): "
                    + "send it with Content-Type: application/json, or form-encode it (amount=2000&currency=usd).",
                code: "parameter_unknown"
            )
        }
        return try refusingCardNumbers(ParameterNode.parseForm(text, limit: limit))
    }

    /// The media type of a `Content-Type` value, lowercased, without its parameters (`; charset=utf-8`).
    ///
    /// An ASCII value (every client's) is cut on its bytes: Foundation's `trimmingCharacters` goes through
    /// `NSString` on Linux, which cost 1% of a W1 request's CPU (`perf`). Anything else takes Foundation's way, so
    /// a non-ASCII space around the type is still trimmed.
    static func mediaType(_ contentType: String) -> String {
        let utf8 = contentType.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else {
            return String(contentType.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces).lowercased()
        }
        let type = utf8.prefix { $0 != UInt8(ascii: ";") }
        let isSpace = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = type.firstIndex(where: { !isSpace($0) }),
            let last = type.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: type[first...last].map { $0 | (0x41...0x5A ~= $0 ? 0x20 : 0) }, as: UTF8.self)
    }

    /// `parameters`, unless one of them holds a card number where it does not belong, or a null character.
    /// - Throws: 400 `card_number_not_allowed` or `parameter_invalid_string` naming the parameter; nothing has run
    ///   yet, so nothing changed.
    static func refusingCardNumbers(_ parameters: [String: ParameterNode]) throws(PaymentError) -> [String:
        ParameterNode]
    {
        if let param = ParameterNode.parameterHoldingCardNumber(in: parameters) {
            throw .cardNumberNotAllowed(param: param, place: "The parameter \(param)")
        }
        if let param = ParameterNode.parameterHoldingNullCharacter(in: parameters) {
            throw .nullCharacterNotAllowed(param: param)
        }
        return parameters
    }
}

extension PaymentError {
    /// A POST body of a content type other than a form or JSON: Stripe's 400 (an `invalid_request_error` without a
    /// code), saying which types are read. The type is repeated unless it holds a card number.
    static func unsupportedContentType(_ mediaType: String) -> PaymentError {
        let named = CardNumber.appears(in: mediaType) ? "" : " \(mediaType.prefix(100))"
        return .invalidRequest(
            "Invalid request: unsupported Content-Type\(named). Send the parameters as "
                + "application/x-www-form-urlencoded (Stripe's form encoding: card[number]=...&metadata[key]=...) or "
                + "as application/json."
        )
    }
}
