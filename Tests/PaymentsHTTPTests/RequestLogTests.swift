import Testing

@testable import PaymentsHTTP

@Suite("The request log line")
struct RequestLogTests {
    @Test("a path is logged with its challenge token and card numbers redacted, and cut at 5000 characters")
    func loggedPath() {
        #expect(RequestLog.path("/v1/payment_intents/pi_123") == "/v1/payment_intents/pi_123")
        #expect(RequestLog.path("/3ds/pi_123/secret-token") == "/3ds/pi_123/REDACTED")
        #expect(RequestLog.path("/v1/customers/4242424242424242") == "/v1/customers/REDACTED")
        // A 33,000-character id was logged whole, a 33 KB line
        let long = RequestLog.path("/v1/customers/cus_" + String(repeating: "a", count: 33_000))
        #expect(long.count == 5000 && long.hasPrefix("/v1/customers/cus_aaa") && long.hasSuffix("…"))
    }
}
