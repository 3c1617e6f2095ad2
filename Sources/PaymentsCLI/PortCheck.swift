import Foundation
import NIOCore

/// Whether another process listens on the address `serve` is to listen on, asked before the database is touched.
enum PortCheck {
    /// Whether binding `host:port` fails now because the address is in use: another server listens there. The
    /// socket is bound with `SO_REUSEADDR`, as the server's own is, so a connection of an earlier run still in
    /// `TIME_WAIT` does not count; it is closed at once.
    static func inUse(host: String, port: Int) -> Bool {
        guard port != 0, let address = try? SocketAddress.makeAddressResolvingHost(host, port: port) else {
            return false
        }
        let fd = socket(Int32(address.protocol.rawValue), Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { pointer, size in bind(fd, pointer, socklen_t(size)) }
        return bound != 0 && errno == EADDRINUSE
    }
}
