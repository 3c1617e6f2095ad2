import Testing

@testable import PaymentsHTTP

@Suite("The request log line")
struct RequestLogTests {
    @Test("a path is logged with its challenge token and card numbers redacted, and cut at 5000 characters")
    func loggedPath() {
        #expect(RequestLog.path("/v1/payment_intents/pi_123") == "/v1/payment_intents/pi_123")
        #expect(RequestLog.path("/3ds/pi_123/secret-token") == "/3ds/pi_123/REDACTED")
        #expect(RequestLog.path("/v1/customers/4242424242424242") == "/v1/customers/REDACTED")
        // What follows a card number (its CVC, its expiry) goes with it
        #expect(RequestLog.path("/v1/x/4000-0566-5566-5556/739/12") == "/v1/x/REDACTED/REDACTED/REDACTED")
        // A `+` for a space, as form encoding writes it (a path keeps it), literal or percent-encoded
        #expect(RequestLog.path("/v1/x/4242+4242+4242+4242/739") == "/v1/x/REDACTED/REDACTED")
        #expect(RequestLog.path("/v1/x/4242%2B4242%2B4242%2B4242") == "/v1/x/REDACTED")
        #expect(RequestLog.path("/v1/x/1+2") == "/v1/x/1+2")
        // API keys and client secrets where an id belongs were logged in full
        #expect(RequestLog.path("/v1/payment_intents/pi_123_secret_abc") == "/v1/payment_intents/REDACTED")
        #expect(RequestLog.path("/v1/customers/sk_test_51abc") == "/v1/customers/REDACTED")
        #expect(RequestLog.path("/v1/x/rk_live_1/pk_test_2") == "/v1/x/REDACTED/REDACTED")
        #expect(RequestLog.path("/v1/customers/cus_sk%5Ftest") == "/v1/customers/REDACTED")
        #expect(RequestLog.path("/v1/setup_intents/seti_1/confirm") == "/v1/setup_intents/seti_1/confirm")
        // A 33,000-character id was logged whole, a 33 KB line
        let long = RequestLog.path("/v1/customers/cus_" + String(repeating: "a", count: 33_000))
        #expect(long.count == 5000 && long.hasPrefix("/v1/customers/cus_aaa") && long.hasSuffix("…"))
    }
}
