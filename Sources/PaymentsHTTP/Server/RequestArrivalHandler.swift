import HTTPTypes
import HummingbirdCore
import NIOCore
import NIOHTTP1

/// What the server does while a request arrives, before any handler of the router sees it:
///
/// - It answers `Expect: 100-continue` with `100 Continue` at once. Clients that send it (curl for a body over
///   1 KB, PHP's curl among them) otherwise wait a second before sending the body: every such request took 1 s more.
///   Not for a body whose `Content-Length` is over `maxBodyBytes`: its answer is the 413, and the 100 invited the
///   client to send what would be refused.
/// - With a `deadline`, it closes a connection whose request has not arrived whole (head, body and end) within
///   `deadline` of its head. The idle timeout (``HTTPLimits/idleTimeout``) closes a connection that stops sending,
///   but every byte restarts it: a client that announced a 256 KiB body and sent one byte a second held its
///   connection (and a file descriptor) for as long as it liked, and 20,000 such clients would exhaust the process's
///   descriptors. A request being answered is never cut (the bound ends at the request's end).
///
/// It also puts a ``ConnectionCloseHandler`` before Hummingbird's codec, where the HTTP version is still known (the
/// server's configuration adds handlers only after it).
///
/// A timer is scheduled only for a request still incomplete when a read ends: a request that arrives in one read (a
/// GET, a payment's small form) costs a clock read and no timer. Scheduling one for every request cost W2 (the
/// retrieve) about 7% of its rate in one `scripts/bench-w1-ab` sitting.
final class RequestArrivalHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPConnectionStateHandler.InboundIn
    typealias InboundOut = HTTPConnectionStateHandler.InboundIn
    typealias OutboundOut = HTTPConnectionStateHandler.OutboundOut

    /// How long a request may take to arrive; nil never closes a connection for it.
    let deadline: TimeAmount?
    /// The largest body accepted (``HTTPLimits/maxBodyBytes``).
    let maxBodyBytes: Int
    /// When the request being read began (its head), until its end is read.
    private var started: NIODeadline?
    private var timer: Scheduled<Void>?

    init(deadline: TimeAmount?, maxBodyBytes: Int) {
        self.deadline = deadline
        self.maxBodyBytes = maxBodyBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if deadline != nil { started = .now() }
            if request.headerFields[.expect]?.lowercased() == "100-continue",
                !ConnectionCloseHandler.announcesMore(than: maxBodyBytes, request.headerFields[.contentLength])
            {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
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
        if let started, let deadline, timer == nil {
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

    func handlerAdded(context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        if let decoder = try? pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self) {
            try? pipeline.addHandler(
                ConnectionCloseHandler(maxBodyBytes: maxBodyBytes),
                position: .after(decoder.handler)
            )
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
