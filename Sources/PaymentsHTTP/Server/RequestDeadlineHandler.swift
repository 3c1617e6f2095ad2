import HummingbirdCore
import NIOCore

/// Closes a connection whose request has not arrived whole (head, body and end) within `deadline` of its head.
///
/// The idle timeout (``HTTPLimits/idleTimeout``) closes a connection that stops sending, but every byte restarts it:
/// a client that announced a 256 KiB body and sent one byte a second held its connection (and a file descriptor)
/// for as long as it liked, and 20,000 such clients would exhaust the process's descriptors. This puts a bound on
/// the whole request instead, from its head to its end; a request being answered is never cut (the bound ends at the
/// request's end).
///
/// A timer is scheduled only for a request still incomplete when a read ends: a request that arrives in one read (a
/// GET, a payment's small form) costs a clock read and no timer. Scheduling one for every request cost W2 (the
/// retrieve) about 7% of its rate in `scripts/bench-w1-ab`.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn

    let deadline: TimeAmount
    /// When the request being read began (its head), until its end is read.
    private var started: NIODeadline?
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount) { self.deadline = deadline }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            started = .now()
        case .end:
            started = nil
            timer?.cancel()
            timer = nil
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let started, timer == nil {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleTask(deadline: started + deadline) { bound.value.close(promise: nil) }
        }
        context.fireChannelReadComplete()
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
