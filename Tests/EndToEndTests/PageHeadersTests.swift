import Foundation
import Testing

/// The browser-facing security headers, on the built binary serving its checkout files.
@Suite("Security headers of the pages")
struct PageHeadersTests {
    @Test("The checkout may not be framed; the challenge page may, and never sends its address; nothing is sniffed")
    func headers() async throws {
        try await withServer { server in
            // The checkout page, which takes card numbers
            let checkout = try await server.client.get("/checkout/")
            #expect(checkout.status == 200, "\(checkout)")
            let policy = checkout.header("Content-Security-Policy") ?? ""
            #expect(policy.contains("frame-ancestors 'none'"), "\(policy)")
            // and runs scripts from this server only, talking to it only
            #expect(policy.contains("script-src 'self';") && policy.contains("connect-src 'self';"), "\(policy)")
            #expect(policy.contains("default-src 'self';") && policy.contains("object-src 'none';"), "\(policy)")
            #expect(checkout.header("X-Frame-Options") == "DENY")
            #expect(checkout.header("Referrer-Policy") == "same-origin")
            #expect(checkout.header("X-Content-Type-Options") == "nosniff")
            // The same files under other spellings of their paths, as the real parser hands them on: not served (the
            // page came without its headers), and never a redirect to `//checkout/`, which names the host checkout
            for path in ["//checkout/", "/./checkout/", "/%63heckout/", "//checkout", "/checkout/index.html/"] {
                let other = try RawHTTP.exchange(
                    port: server.port,
                    RawHTTP.request("GET", path, port: server.port, headers: [])
                )
                #expect(other.status == 404, "\(path): \(other)")
                #expect(other.headers["location"] == nil, "\(path): \(other)")
            }

            // A 3-D Secure challenge page, which a merchant's page may embed
            let intent = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "2000"), ("currency", "usd"), ("payment_method", "pm_card_threeDSecure2Required"),
                    ("confirm", "true"),
                ],
                auth: server.secret
            ).json()
            let link = try #require(intent["next_action"]?["redirect_to_url"]?["url"]?.string)
            let challenge = try await server.client.get(try #require(URL(string: link)?.path))
            #expect(challenge.status == 200, "\(challenge)")
            #expect(challenge.header("X-Frame-Options") == nil)
            #expect(challenge.header("Content-Security-Policy") == nil)
            #expect(challenge.header("Referrer-Policy") == "no-referrer")
            #expect(challenge.header("X-Content-Type-Options") == "nosniff")

            // The API's answers, errors included
            for path in ["/v1/payment_intents", "/v1/nothing"] {
                let answer = try await server.client.get(path, auth: server.secret)
                #expect(answer.header("X-Content-Type-Options") == "nosniff", "\(path)")
                #expect(answer.header("X-Frame-Options") == nil, "\(path)")
            }
        }
    }
}
