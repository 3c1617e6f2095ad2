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

    /// Found by a probe: `rate(payments_refunds_total{status="failed"}[5m]) > 0` had no data, not 0, until the first
    /// failed refund, and the idempotency and rate limit counters none until their first event.
    @Test("A server that did nothing shows the series whose labels are known, at 0")
    func knownSeriesStartAtZero() async throws {
        let server = try await ServerProcess.start()
        defer { server.kill() }
        let text = try await server.client.get("/metrics").text
        let known: [(String, [String])] = [
            ("payments_refunds_total", [#"status="failed""#]), ("payments_refunds_total", [#"status="succeeded""#]),
            ("payments_attempts_total", [#"outcome="approved""#]),
            ("payments_three_d_secure_challenges_total", [#"step="requested""#]),
            ("payments_sweeper_rows_total", [#"rule="attempts_expired""#]),
            ("payments_idempotent_replays_total", []), ("payments_idempotency_conflicts_total", []),
            ("payments_idempotency_mismatches_total", []), ("payments_rate_limited_total", [#"by="api_key""#]),
        ]
        for (name, labels) in known {
            #expect(Self.sample(text, name, labels) == 0, "\(name) \(labels) in \(text)")
        }
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
        // And the key reused with another amount: the 400 idempotency_error
        let mismatch = try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", "1600"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret,
            headers: ["Idempotency-Key": "metrics-pm_card_visa"]
        )
        #expect(mismatch.status == 400, "\(mismatch)")
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
        #expect(Self.sample(text, "payments_idempotency_mismatches_total") == 1, "\(text)")
        #expect((Self.sample(text, "payments_group_commit_batch_size_count", [#"database="payments""#]) ?? 0) >= 2)
        // Requests by route and status: two creates answered 200 (the first and its replay) and one 402
        #expect(Self.sample(text, "hb_requests", [#"/v1/payment_intents""#, #""200""#]) == 2)
        #expect(Self.sample(text, "hb_requests", [#"/v1/payment_intents""#, #""402""#]) == 1)
        // And nothing secret: no key, no card number
        #expect(!text.contains(server.secretKey))
        #expect(!text.contains("4242424242424242"))

        // And HEAD requests (a load balancer's `HEAD /health`) are counted, and leave no request active: their body
        // is never written, where Hummingbird's middleware counted a request, so each raised the gauge for good
        for _ in 0..<3 {
            let head = try RawHTTP.exchange(
                port: server.port,
                RawHTTP.request("HEAD", "/health", port: server.port, headers: [])
            )
            #expect(head.status == 200, "\(head)")
        }
        let after = try await server.client.get("/metrics").text
        #expect(Self.sample(after, "hb_requests", [#"/health""#, #""HEAD""#, #""200""#]) == 3, "\(after)")
        #expect(Self.sample(after, "http_server_active_requests", [#""HEAD""#]) == 0, "\(after)")
        // and a route's answers carry no error counter at 0 beside them (one per route, method and status)
        #expect(!after.contains(#"error_type="200""#), "\(after)")
    }

    /// Found by a probe: a long read kept the log from starting over, and it grew from 8 to 59 MB with nothing in
    /// `/metrics` or the log to show it.
    @Test("The write-ahead logs' sizes show at each scrape, the database's and the card network's")
    func writeAheadLogSizes() async throws {
        let server = try await ServerProcess.start()
        defer { server.kill() }
        _ = try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret
        )
        func size(_ file: URL) throws -> Double {
            Double(try FileManager.default.attributesOfItem(atPath: file.path + "-wal")[.size] as? Int ?? -1)
        }
        // The files as they are right after a scrape; tried again if a write (the sweeper's pass at start) came
        // between the two
        var (text, payments, ledger) = ("", -1.0, -1.0)
        for _ in 0..<5 {
            text = try await server.client.get("/metrics").text
            payments = try size(server.db)
            ledger = try size(server.folder.appendingPathComponent("card-network.sqlite"))
            if Self.sample(text, "payments_wal_bytes", [#"database="payments""#]) == payments,
                Self.sample(text, "payments_wal_bytes", [#"database="card-network""#]) == ledger
            {
                break
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(payments > 0 && ledger > 0)
        #expect(Self.sample(text, "payments_wal_bytes", [#"database="payments""#]) == payments, "\(text)")
        #expect(Self.sample(text, "payments_wal_bytes", [#"database="card-network""#]) == ledger, "\(text)")
    }

    @Test("Refunds count by the outcome they reach; a refund's retry with its key counts nothing more")
    func refunds() async throws {
        let server = try await ServerProcess.start()
        defer { server.kill() }
        let paid = try await server.client.postForm(
            "/v1/payment_intents",
            [("amount", "2000"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true")],
            auth: server.secret
        )
        let intent = try #require(try paid.json()["id"]?.string, "\(paid.text)")
        // Two partial refunds, the second sent twice with its key, and one more than is left (refused)
        for (amount, key) in [("500", "metrics-refund-1"), ("700", "metrics-refund-2"), ("700", "metrics-refund-2")] {
            let refunded = try await server.client.postForm(
                "/v1/refunds",
                [("payment_intent", intent), ("amount", amount)],
                auth: server.secret,
                headers: ["Idempotency-Key": key]
            )
            #expect(refunded.status == 200, "\(refunded.text)")
        }
        let refused = try await server.client.postForm(
            "/v1/refunds",
            [("payment_intent", intent), ("amount", "5000")],
            auth: server.secret
        )
        #expect(refused.status == 400, "\(refused.text)")
        let text = try await server.client.get("/metrics").text
        #expect(Self.sample(text, "payments_refunds_total", [#"status="succeeded""#]) == 2, "\(text)")
        #expect(Self.sample(text, "payments_refunds_total", [#"status="failed""#]) == 0, "\(text)")
    }

    @Test("Attempts that fail without a decline count as failed under their code; a SetupIntent's challenge counts")
    func failuresWithoutDecline() async throws {
        // A four-second confirmation window, so that a challenge can be answered too late (the window ends on a whole
        // second, so it lasts 3 to 4 s: at 2 s a loaded machine's first answer came after it, a 404)
        let server = try await ServerProcess.start(environment: ["PAYMENTS_CONFIRMATION_WINDOW": "4"])
        defer { server.kill() }
        func challenged(_ extra: [(String, String)] = []) async throws -> (id: String, challenge: String) {
            let answer = try await server.client.postForm(
                "/v1/payment_intents",
                [
                    ("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_threeDSecure2Required"),
                    ("confirm", "true"),
                ] + extra,
                auth: server.secret
            )
            let json = try answer.json()
            let url = json["next_action"]?["redirect_to_url"]?["url"]?.string
            return (json["id"]?.string ?? "", url.flatMap { URL(string: $0)?.path } ?? "")
        }
        // Given a challenge refused by error_on_requires_action (402), one failed, and one answered too late
        _ = try await challenged([("error_on_requires_action", "true")])
        let failed = try await challenged()
        let late = try await challenged()
        #expect(!failed.challenge.isEmpty && !late.challenge.isEmpty)
        let failing = try await server.client.postForm(failed.challenge, [("outcome", "fail")], auth: nil)
        #expect(failing.status < 400, "\(failing)")
        try await Task.sleep(for: .seconds(4.5))
        _ = try await server.client.postForm(late.challenge, [("outcome", "complete")], auth: nil)
        // And a SetupIntent's challenge
        let setup = try await server.client.postForm(
            "/v1/setup_intents",
            [("payment_method", "pm_card_threeDSecure2Required"), ("confirm", "true")],
            auth: server.secret
        )
        #expect(try setup.json()["status"]?.string == "requires_action", "\(setup)")

        // Then /metrics counts each failed attempt under its code, as report_declines does
        let text = try await server.client.get("/metrics").text
        for code in [
            "payment_intent_action_required", "payment_intent_authentication_failure",
            "payment_intent_payment_attempt_expired",
        ] {
            #expect(
                Self.sample(text, "payments_attempts_total", [#"outcome="failed""#, "decline_code=\"\(code)\""]) == 1,
                "\(code): \(text)"
            )
        }
        // And the challenges asked of customers, the SetupIntent's among them: three
        #expect(Self.sample(text, "payments_three_d_secure_challenges_total", [#"step="requested""#]) == 3, "\(text)")
        #expect(Self.sample(text, "payments_three_d_secure_challenges_total", [#"step="failed""#]) == 1, "\(text)")
    }
}
