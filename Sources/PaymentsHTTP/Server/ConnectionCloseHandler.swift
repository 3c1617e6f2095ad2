import NIOCore
import NIOHTTP1

/// Closes a connection after the answer to a request that asked for it, the way HTTP/1.0 and HTTP/1.1 say, which
/// Hummingbird alone does not: it reads requests as HTTP/1.1 and closes only after one whose `Connection` header is
/// exactly `close`.
///
/// - An HTTP/1.0 request without `Connection: keep-alive` ends its connection (RFC 9112, 9.3). ApacheBench (`ab`
///   without `-k`) and other HTTP/1.0 clients read an answer until the connection closes: each of their requests
///   waited for the idle timeout, or for ever with `idleTimeout` 0.
/// - `Connection: Close`, or `close` among other options (`TE, close`), is `close` (the options are case-insensitive
///   tokens).
///
/// - A request whose framing a proxy in front might read otherwise than this server does ends its connection after
///   its answer (a 400 or 501 of ``RequestLimitsMiddleware``): more than one `Host` field, or a `Transfer-Encoding`
///   other than `chunked` alone (RFC 9112, 3.2 and 6.1). NIO's parser reads `gzip, chunked` as chunked; a proxy that
///   read the same bytes another way would send what this server takes for a second request, and what follows a
///   refused head is never read as one.
///
/// - A request that offers an upgrade of its protocol (`Upgrade: h2c` with `Connection: Upgrade`, as `curl --http2`
///   sends on `http://`), or a `CONNECT` (a tunnel, which the parser treats the same), ends its connection after its
///   answer, and nothing more is read from the connection once the
///   request has arrived. NIO's decoder stops parsing after such a request and keeps every byte that follows: a
///   client could fill the server's memory through one connection without an API key (1.1 GB in 2.5 s in a probe),
///   and a second request on that connection was never answered, waiting for the idle timeout. No upgrade is served
///   (the answer is the request's own, as RFC 9110, 7.8 allows), so the client's next request opens a new connection.
///
/// - A request whose `Content-Length` is over `maxBodyBytes` (its answer is the 413, decided from that header) ends
///   its connection after its answer, and its body is not read: the server read and dropped whatever the client sent
///   after the 413, until the idle timeout (13 GB in 8 s at three quarters of a core, from one client in a probe). A
///   body without a length (chunked) is read up to the limit, then no further, and its connection closed a second
///   later.
///
/// Such a request reaches Hummingbird with the single option `close`; ``ErrorAndRequestIDMiddleware`` then says
/// `Connection: close` in its answer (the server should, RFC 9112, 9.6). The handler sits between NIO's HTTP/1
/// decoder and Hummingbird's codec, where the request's version is still known; ``RequestArrivalHandler`` puts it
/// there. It handles only what arrives: answers do not pass through it (a duplex handler cost W2 about 3 us of CPU a
/// request in `scripts/bench-w1-ab`).
final class ConnectionCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// The request being read offers an upgrade: reading stops at its end.
    private var upgrading = false
    /// A request's head was passed on and its end not yet.
    private var inRequest = false
    /// A request the parser refused was passed on as one of its own (``errorCaught(context:error:)``).
    private var refused = false
    /// The body bytes of the request being read, and whether they went over the limit.
    private var bodyBytes = 0
    private var overLimit = false
    /// A request whose body went over the limit has ended: its 413 closes the connection, so nothing read after it
    /// is passed on. A payment pipelined behind a chunked body over the limit, in the same packet, was run and
    /// charged while its client got the 413's `Connection: close` and a reset, no answer (a re-check probe; RFC 9112,
    /// 9.6: a server that sends `close` must not process more requests on the connection).
    private var discarding = false
    /// The largest body accepted (``HTTPLimits/maxBodyBytes``).
    let maxBodyBytes: Int

    init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    /// Whether a request's `Content-Length` announces more than `limit` bytes of body. The value is read without
    /// the spaces around it, which are not part of a field's value (RFC 9110, 5.5) and which NIO's parser accepts:
    /// `Content-Length: 1000000000000 ` read as no length got the 413 without the close.
    static func announcesMore(than limit: Int, _ contentLength: String?) -> Bool {
        guard let value = contentLength?.trimmingCharacters(in: .whitespaces), let length = UInt64(value) else {
            return false
        }
        return length > UInt64(max(limit, 0))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discarding else { return }
        switch unwrapInboundIn(data) {
        case .head(var head):
            inRequest = true
            bodyBytes = 0
            overLimit = false
            let upgrade = head.method == .CONNECT || Self.offersUpgrade(head.headers)
            if upgrade { upgrading = true }
            let oversized = Self.announcesMore(than: maxBodyBytes, head.headers.first(name: "content-length"))
            guard upgrade || oversized || !head.isKeepAlive || Self.framingIsAmbiguous(head.headers),
                head.headers[canonicalForm: "connection"] != ["close"] || oversized
            else {
                context.fireChannelRead(data)
                return
            }
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
            if oversized { Self.stopReading(context) }
        case .end where upgrading:
            // The decoder reads nothing after this request but would keep what arrives
            inRequest = false
            Self.stopReading(context)
            context.fireChannelRead(data)
        case .body(let part):
            bodyBytes += part.readableBytes
            if bodyBytes > maxBodyBytes, !overLimit {
                // A body without a length (chunked) past the limit: its answer is the 413, and the rest of the body
                // was read and dropped until its end or the idle timeout (176 MB in 3 s from one client in a probe).
                // Reading stops, and the connection closes a second later, once the 413 is on its way.
                overLimit = true
                Self.stopReading(context)
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
            }
            context.fireChannelRead(data)
        case .end:
            inRequest = false
            if overLimit { discarding = true }
            context.fireChannelRead(data)
        }
    }

    // MARK: - Requests the parser refuses

    /// The method of the request that stands for one NIO's parser refused (``errorCaught(context:error:)``): a token
    /// the parser itself refuses, so no client can send it. Its path names the parser's error (`/invalidCharacter`),
    /// which the request's log line shows; ``ErrorAndRequestIDMiddleware`` answers it.
    static let refusedMethod = "PAYMENTS-UNREADABLE"

    /// What the parser refused, as the path of the request that stands for it names it.
    enum Refusal: String {
        case headerOverflow, invalidCharacter, invalidContentLength, http2Preface, invalidRequestLine, malformed

        /// The refusal of the parser's `error`.
        init(_ error: HTTPParserError) {
            switch error {
            case .headerOverflow: self = .headerOverflow
            case .invalidURL, .invalidPath, .invalidQueryString, .invalidFragment, .invalidHost, .invalidPort,
                .invalidCharactersUsed, .invalidHeaderToken, .strictModeAssertion:
                self = .invalidCharacter
            case .invalidContentLength, .unexpectedContentLength: self = .invalidContentLength
            case .paused: self = .http2Preface
            case .invalidMethod, .invalidVersion: self = .invalidRequestLine
            default: self = .malformed
            }
        }
    }

    /// A request NIO's parser refuses before its head is whole (a raw non-ASCII byte in the URL, a control character
    /// in a header, a head over the parser's limit, a malformed request line) is passed on as a request of its own,
    /// ``refusedMethod`` on a path naming the parser's error, closing its connection, so the service answers it in
    /// turn, after any request before it on the connection: a Stripe-style error with a `Request-Id`, logged as every
    /// answer is. Hummingbird answered such a request with a bare 400 (no body, no `Request-Id`, no log line), which
    /// told a merchant who pasted a URL with an umlaut into curl nothing (a probe). Reading stops at once.
    ///
    /// An error inside a request whose head was passed on (its body) goes on to Hummingbird as before, and so does a
    /// head the client cut off by closing its connection: no one is left to answer, and the log held a request that
    /// was never sent (a probe).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if refused {
            // The decoder refuses every later read once it failed: the connection ends after the answer anyway
            if error is ByteToMessageDecoderError { return }
            context.fireErrorCaught(error)
            return
        }
        guard let parserError = error as? HTTPParserError, !inRequest, parserError != .invalidEOFState else {
            context.fireErrorCaught(error)
            return
        }
        refused = true
        Self.stopReading(context)
        var head = HTTPRequestHead(
            version: .http1_1,
            method: .RAW(value: Self.refusedMethod),
            uri: "/" + Refusal(parserError).rawValue
        )
        head.headers.add(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        context.fireChannelReadComplete()
    }

    /// Stops reading the connection, so the client's bytes wait in the kernel's buffers (TCP then stops it) until the
    /// answer closes the connection. Hummingbird closes only its output after a last answer and waits for the
    /// client's end of input, which is no longer read: the close after the answer is made whole, or the connection
    /// stayed open until the idle timeout (for ever with `idleTimeout` 0), the client long gone.
    static func stopReading(_ context: ChannelHandlerContext) {
        let channel = context.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in channel.close(promise: nil) }
        try? context.pipeline.syncOperations.addHandler(WholeClose(), position: .first)
    }

    /// Whether `headers` offer an upgrade of the protocol: an `Upgrade` field and `upgrade` among the `Connection`
    /// options, which is what NIO's decoder stops parsing after.
    static func offersUpgrade(_ headers: HTTPHeaders) -> Bool {
        headers.contains(name: "upgrade")
            && headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// Whether `headers` frame their request in a way this server refuses (``RequestLimitsMiddleware``): more than one
    /// `Host`, or a `Transfer-Encoding` other than `chunked` alone.
    static func framingIsAmbiguous(_ headers: HTTPHeaders) -> Bool {
        guard headers.contains(name: "host") || headers.contains(name: "transfer-encoding") else { return false }
        let codings = headers[canonicalForm: "transfer-encoding"]
        return headers["host"].count > 1
            || (!codings.isEmpty && (codings.count != 1 || codings[0].lowercased() != "chunked"))
    }
}

/// Makes a close of the connection's output a close of the whole connection (see ``ConnectionCloseHandler``): added
/// only to a connection whose last request offered an upgrade or announced an oversized body, so other connections'
/// answers never pass through it.
final class WholeClose: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = Any

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        context.close(mode: mode == .output ? .all : mode, promise: promise)
    }
}
