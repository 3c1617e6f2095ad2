import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PaymentsHTTP
import Synchronization
import TestSupport
import Testing

/// Seconds on a clock the test moves by hand, for the rate limiter.
final class ManualSeconds: Sendable {
    private let seconds = Mutex<Double>(1000)

    func advance(by delta: Double) { seconds.withLock { $0 += delta } }

    var clock: RateLimiter.Clock { RateLimiter.Clock { [self] in self.seconds.withLock { $0 } } }
}

/// Runs `test` against the real router with a rate limiter of `rate`/s and `burst` on a hand-moved clock.
func withRateLimitedWire(
    rate: Double,
    burst: Double,
    keys: APIKeys = APIKeys(secret: TestHTTP.secretKey, publishable: TestHTTP.publishableKey),
    _ test: @Sendable (WireClient, ManualSeconds) async throws -> Void
) async throws {
    var http = try TestHTTP(keys: keys)
    let time = ManualSeconds()
    http.services.rateLimiter = RateLimiter(rate: rate, burst: burst, clock: time.clock)
    let configured = http
    try await configured.application().test(.router) { client in
        try await test(WireClient(client: client, http: configured), time)
    }
}

/// The per-key rate limit through the router: Stripe's 429, and never an idempotency key spent on it.
@Suite("Rate limit (router)")
struct RateLimitRouteTests {
    @Test("A burst over the limit gets Stripe's 429 rate_limit with Retry-After, and creates nothing")
    func burst() async throws {
        try await withRateLimitedWire(rate: 1, burst: 3) { api, time in
            // Given a bucket of 3: three creates pass
            for _ in 0..<3 { #expect(try await api.createIntent().status == 200) }
            // When a fourth comes at once
            let refused = try await api.createIntent()
            // Then Stripe's rate limit answer
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.error["type"]?.string == "invalid_request_error")
            #expect(refused.error["code"]?.string == "rate_limit")
            #expect(refused.error["message"]?.string?.hasPrefix("Too many requests hit the API too quickly.") == true)
            #expect(refused.header("Retry-After") == "1")
            #expect(refused.header("Stripe-Should-Retry") == "true")
            // And nothing more was created (the list is limited too: it waits for a token first)
            time.advance(by: 1)
            #expect(try await api.listCount("/v1/payment_intents") == 3)
        }
    }

    @Test("After a 429, the same Idempotency-Key runs the request normally once a token is back")
    func idempotencyKeyNotSpent() async throws {
        try await withRateLimitedWire(rate: 1, burst: 1) { api, time in
            let key: HTTPFields = [.init("Idempotency-Key")!: "retry-after-429"]
            let form = [
                ("amount", "1500"), ("currency", "usd"), ("payment_method", "pm_card_visa"), ("confirm", "true"),
            ]
            // Given the bucket spent by another request
            #expect(try await api.get("/v1/payment_intents").status == 200)
            // When the keyed create is refused
            let refused = try await api.post("/v1/payment_intents", form, headers: key)
            #expect(refused.status == 429, "\(refused.text)")
            // Then, a second later, the same key runs: a new intent, not a replay of the 429
            time.advance(by: 1)
            let first = try await api.post("/v1/payment_intents", form, headers: key)
            #expect(first.status == 200, "\(first.text)")
            #expect(first.json["status"]?.string == "succeeded")
            #expect(first.header("Idempotent-Replayed") == nil)
            // And the key now replays that intent
            time.advance(by: 1)
            let replay = try await api.post("/v1/payment_intents", form, headers: key)
            #expect(replay.status == 200)
            #expect(replay.header("Idempotent-Replayed") == "true")
            #expect(replay.json["id"] == first.json["id"])
            time.advance(by: 1)
            #expect(try await api.listCount("/v1/payment_intents") == 1)
        }
    }

    @Test("Each key has its own bucket: the publishable key still works when the secret key is limited")
    func perKey() async throws {
        try await withRateLimitedWire(rate: 1, burst: 1) { api, _ in
            #expect(try await api.get("/v1/customers").status == 200)
            #expect(try await api.get("/v1/customers").status == 429)
            let card = try await api.post(
                "/v1/payment_methods",
                [
                    ("type", "card"), ("card[number]", "4242424242424242"), ("card[exp_month]", "12"),
                    ("card[exp_year]", "2030"),
                ],
                auth: WireClient.publishable
            )
            #expect(card.status == 200, "\(card.text)")
        }
    }

    @Test("Two secret keys configured at once (a key being rolled) have a bucket each")
    func perSecretKey() async throws {
        let rolled = "sk_test_router_rolled"
        let keys = APIKeys(secret: [TestHTTP.secretKey, rolled], publishable: [TestHTTP.publishableKey])
        try await withRateLimitedWire(rate: 1, burst: 1, keys: keys) {
            (api: WireClient, _: ManualSeconds) async throws in
            #expect(try await api.get("/v1/customers").status == 200)
            #expect(try await api.get("/v1/customers").status == 429)
            #expect(try await api.get("/v1/customers", auth: "Bearer \(rolled)").status == 200)
            #expect(try await api.get("/v1/customers", auth: "Bearer \(rolled)").status == 429)
        }
    }

    @Test("Failed authentications are limited per address: once spent, they are 429s; a configured key still passes")
    func failedAuthenticationLimited() async throws {
        try await withRateLimitedWire(rate: 1, burst: 3) { api, time in
            // Given an address sending wrong keys: each is the 401 it was, until the bucket is spent
            for guess in 0..<3 {
                let answer = try await api.get("/v1/customers", auth: "Bearer sk_test_guess\(guess)")
                #expect(answer.status == 401, "\(answer.text)")
            }
            // When it sends more, with a wrong key or none
            for auth in ["Bearer sk_test_guess9", nil] as [String?] {
                let refused = try await api.get("/v1/customers", auth: auth)
                // Then each is the 429 (they were all 401s at full speed, the limit counting per authenticated key)
                #expect(refused.status == 429, "\(refused.text)")
                #expect(refused.error["code"]?.string == "rate_limit")
                #expect(refused.header("Retry-After") == "1")
            }
            // While a request from the same address with a configured key is served: behind a proxy every client has
            // its address, and one client's wrong key must not refuse the others
            #expect(try await api.get("/v1/customers").status == 200)
            // And once a token is back, a wrong key is the 401 again
            time.advance(by: 1)
            #expect(try await api.get("/v1/customers", auth: "Bearer sk_test_guess10").status == 401)
        }
    }

    @Test("/pay is limited by client address, before its idempotency key; /health never")
    func payByAddress() async throws {
        try await withRateLimitedWire(rate: 1, burst: 2) { api, _ in
            let key: HTTPFields = [.init("Idempotency-Key")!: "pay-429"]
            for _ in 0..<2 {
                let answer = try await api.postJSON("/pay", #"{"payment_method_id": "pm_card_visa"}"#, auth: nil)
                #expect(answer.status == 200, "\(answer.text)")
            }
            let refused = try await api.send(
                .post,
                "/pay",
                body: #"{"payment_method_id": "pm_card_visa"}"#,
                contentType: "application/json",
                auth: nil,
                headers: key
            )
            #expect(refused.status == 429, "\(refused.text)")
            #expect(refused.error["code"]?.string == "rate_limit")
            for _ in 0..<5 { #expect(try await api.get("/health", auth: nil).status == 200) }
            #expect(try await api.get("/health/ready", auth: nil).status == 200)
        }
    }

    @Test("With the rate limit off (the default) a burst is never refused")
    func offByDefault() async throws {
        try await withWire { api in
            #expect(api.http.services.rateLimiter == nil)
            for _ in 0..<30 {
                let answer = try await api.get("/v1/customers")
                #expect(answer.status == 200)
            }
        }
    }
}

/// The limiter's buckets, apart from HTTP.
@Suite("Rate limiter")
struct RateLimiterTests {
    @Test("Memory stays bounded however many clients appear")
    func bounded() {
        let time = ManualSeconds()
        let limiter = RateLimiter(rate: 1, burst: 2, clock: time.clock)
        for index in 0..<(RateLimiter.maximumClients + 500) {
            _ = limiter.take(.address("10.0.\(index / 256).\(index % 256)"))
        }
        #expect(limiter.clients <= RateLimiter.maximumClients)
        #expect(limiter.clients > 0)
    }

    @Test("At the bound, idle clients' full buckets are dropped first; a busy client keeps its empty bucket")
    func prunesIdleFirst() {
        let time = ManualSeconds()
        let limiter = RateLimiter(rate: 1, burst: 1, clock: time.clock)
        // Given many clients that each made one request, long ago (their buckets are full again by now)
        for index in 0..<(RateLimiter.maximumClients - 1) { _ = limiter.take(.address("idle-\(index)")) }
        time.advance(by: 10)
        // And one busy client that just spent its token
        #expect(limiter.take(.apiKey(7)) == .allowed)
        // When a new client arrives at the bound
        #expect(limiter.take(.address("new")) == .allowed)
        // Then the idle ones were forgotten, and the busy one is still limited
        #expect(limiter.clients == 2)
        #expect(limiter.take(.apiKey(7)) == .limited(retryAfter: 1))
    }

    @Test("At the bound with every bucket in use, the fuller half is dropped; the busiest client stays limited")
    func floodKeepsTheBusiest() {
        let time = ManualSeconds()
        let limiter = RateLimiter(rate: 1, burst: 5, clock: time.clock)
        // Given a client that spent its whole burst
        for _ in 0..<5 { #expect(limiter.take(.address("busy")) == .allowed) }
        #expect(limiter.take(.address("busy")) != .allowed)
        // When a flood of new addresses, one request each, fills the bound within the refill time
        for index in 0..<RateLimiter.maximumClients { _ = limiter.take(.address("flood-\(index)")) }
        // Then memory stays bounded, and the busy client is still limited: every bucket was dropped, its own with
        // them, and it got a full burst again
        #expect(limiter.clients <= RateLimiter.maximumClients)
        #expect(limiter.clients >= RateLimiter.maximumClients / 2)
        #expect(limiter.take(.address("busy")) != .allowed)
    }
}
