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
/// Such a request reaches Hummingbird with the single option `close`; ``ErrorAndRequestIDMiddleware`` then says
/// `Connection: close` in its answer (the server should, RFC 9112, 9.6). The handler sits between NIO's HTTP/1
/// decoder and Hummingbird's codec, where the request's version is still known; ``RequestArrivalHandler`` puts it
/// there. It handles only what arrives: answers do not pass through it (a duplex handler cost W2 about 3 us of CPU a
/// request in `scripts/bench-w1-ab`).
final class ConnectionCloseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data), !head.isKeepAlive,
            head.headers[canonicalForm: "connection"] != ["close"]
        else {
            context.fireChannelRead(data)
            return
        }
        head.headers.replaceOrAdd(name: "connection", value: "close")
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}
