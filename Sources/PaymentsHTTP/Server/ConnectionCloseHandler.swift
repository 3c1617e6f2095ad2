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
/// Such a request reaches Hummingbird with the single option `close`, and its answer says `Connection: close` (the
/// server should say so, RFC 9112, 9.6). The handler sits between NIO's HTTP/1 decoder and Hummingbird's codec, where
/// the request's version is still known; ``RequestArrivalHandler`` puts it there.
final class ConnectionCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// For each request read and not yet answered, oldest first: whether its answer ends the connection. Pipelined
    /// requests are read before the answers to those before them are written.
    private var closing: CircularBuffer<Bool> = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        let close = !head.isKeepAlive
        closing.append(close)
        if close && head.headers[canonicalForm: "connection"] != ["close"] {
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // An interim answer (100 Continue) is not the request's answer.
        guard case .head(var head) = unwrapOutboundIn(data), head.status.code >= 200,
            let close = closing.popFirst()
        else {
            context.write(data, promise: promise)
            return
        }
        if close {
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        } else {
            context.write(data, promise: promise)
        }
    }
}
