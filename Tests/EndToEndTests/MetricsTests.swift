import Foundation
import Testing

/// `GET /metrics` of the built binary: Prometheus text, no API key, and counters that follow what happened.
@Suite("Metrics")
struct MetricsTests {
    /// The value of the first sample of `name` whose labels include every one of `labels` (`key="value"`).
    static func sample(_ text: String, _ name: String, _ labels: [String] = []) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last else {
                continue
            }
            return Double(value)
        }
        return nil
    }

    @Test("A payment and a decline show in the counters; requests by route and status; no key needed")
    func paymentAndDecline() async throws {
        let server = try await ServerProcess.start()
        defer { server.kill() }
        for card in ["pm_card_visa", "pm_card_chargeDeclinedInsufficientFunds"] {
            _ = try await server.client.postForm(
                "/v1/payment_intents",
                [("amount", "1500"), ("currency", "usd"), ("payment_method", card), ("confirm", "true")],
                auth: server.secret,
                headers: ["Idempotency-Key": "metrics-\(card)"]
            )
        }
        // A replay of the first
        _ = try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret,
            headers: ["Idempotency-Key": "metrics-pm_card_visa"]
        )
        let answer = try await server.client.get("/metrics")
        #expect(answer.status == 200)
        #expect(answer.header("Content-Type")?.hasPrefix("text/plain") == true)
        let text = answer.text
        #expect(Self.sample(text, "payments_attempts_total", [#"outcome="approved""#]) == 1, "\(text)")
        #expect(
            Self.sample(
                text,
                "payments_attempts_total",
                [#"outcome="declined""#, #"decline_code="insufficient_funds""#]
            )
                == 1
        )
        #expect(Self.sample(text, "payments_idempotent_replays_total") == 1)
        #expect((Self.sample(text, "payments_group_commit_batch_size_count", [#"database="payments""#]) ?? 0) >= 2)
        // Requests by route and status: two creates answered 200 (the first and its replay) and one 402
        #expect(Self.sample(text, "hb_requests", [#"/v1/payment_intents""#, #""200""#]) == 2)
        #expect(Self.sample(text, "hb_requests", [#"/v1/payment_intents""#, #""402""#]) == 1)
        // And nothing secret: no key, no card number
        #expect(!text.contains(server.secretKey))
        #expect(!text.contains("4242424242424242"))
    }
}
