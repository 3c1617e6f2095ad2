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
/// Such a request reaches Hummingbird with the single option `close`; ``ErrorAndRequestIDMiddleware`` then says
/// `Connection: close` in its answer (the server should, RFC 9112, 9.6). The handler sits between NIO's HTTP/1
/// decoder and Hummingbird's codec, where the request's version is still known; ``RequestArrivalHandler`` puts it
/// there. It handles only what arrives: answers do not pass through it (a duplex handler cost W2 about 3 us of CPU a
/// request in `scripts/bench-w1-ab`).
final class ConnectionCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data),
            !head.isKeepAlive || Self.framingIsAmbiguous(head.headers),
            head.headers[canonicalForm: "connection"] != ["close"]
        else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
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
