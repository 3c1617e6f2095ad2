import HummingbirdCore
import NIOCore

/// Closes a connection whose request has not arrived whole (head, body and end) within `deadline` of its head.
///
/// The idle timeout (``HTTPLimits/idleTimeout``) closes a connection that stops sending, but every byte restarts it:
/// a client that announced a 256 KiB body and sent one byte a second held its connection (and a file descriptor)
/// for as long as it liked, and 20,000 such clients would exhaust the process's descriptors. This puts a bound on
/// the whole request instead, from its head to its end; a request being answered is never cut (the timer stops at
/// the request's end). One timer per request, on the connection's event loop: nothing on the request's own path.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn

    let deadline: TimeAmount
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            timer?.cancel()
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(in: deadline) { bound.value.close(promise: nil) }
        case .end:
            timer?.cancel()
            timer = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
