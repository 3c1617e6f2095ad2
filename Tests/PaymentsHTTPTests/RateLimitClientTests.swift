import NIOCore
import Testing

@testable import PaymentsHTTP

/// Who a bucket of the rate limit belongs to, by the connection's address.
@Suite("Rate limit clients")
struct RateLimitClientTests {
    static func client(_ address: String) throws -> String {
        RateLimitMiddleware.client(try SocketAddress(ipAddress: address, port: 443))
    }

    @Test("An IPv6 address counts by its /64, an IPv4 address (mapped into IPv6 too) as itself")
    func addresses() throws {
        // A script holding a /64 had a bucket for each of its addresses
        #expect(try Self.client("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64")
        #expect(try Self.client("2001:db8:1:2::9") == "2001:db8:1:2::/64")
        #expect(try Self.client("2001:db8:1:3::9") == "2001:db8:1:3::/64")
        // A server listening on `::` sees IPv4 clients mapped: each is its own, not all of `::/64`
        #expect(try Self.client("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(try Self.client("::ffff:192.0.2.8") == "192.0.2.8")
        #expect(try Self.client("192.0.2.7") == "192.0.2.7")
        #expect(try Self.client("::1") == "0:0:0:0::/64")
        #expect(RateLimitMiddleware.client(nil) == "unknown")
    }
}
