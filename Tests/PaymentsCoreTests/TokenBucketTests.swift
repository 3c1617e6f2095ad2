import PaymentsCore
import Testing

/// The rate limit's token bucket, on times the test hands it (no sleeping).
@Suite("Token bucket")
struct TokenBucketTests {
    @Test("A full bucket lets a burst of its capacity through, then refuses with the wait for the next token")
    func burstThenLimited() {
        // Given 2 tokens a second and a burst of 3
        var bucket = TokenBucket(rate: 2, capacity: 3, now: 100)
        // When 4 requests arrive at once
        let decisions = (0..<4).map { _ in bucket.take(now: 100) }
        // Then 3 pass and the 4th waits half a second (one token at 2/s)
        #expect(decisions.prefix(3).allSatisfy { $0 == .allowed })
        #expect(decisions[3] == .limited(retryAfter: 0.5))
    }

    @Test("Tokens come back at the rate: after the wait the request passes, before it not")
    func refill() {
        var bucket = TokenBucket(rate: 2, capacity: 1, now: 0)
        #expect(bucket.take(now: 0) == .allowed)
        // A quarter of a second later, half a token: still refused, with the remaining quarter to wait.
        #expect(bucket.take(now: 0.25) == .limited(retryAfter: 0.25))
        #expect(bucket.take(now: 0.5) == .allowed)
        #expect(bucket.take(now: 0.5) == .limited(retryAfter: 0.5))
    }

    @Test("A long pause refills to the capacity, never beyond")
    func capped() {
        var bucket = TokenBucket(rate: 10, capacity: 2, now: 0)
        #expect(bucket.take(now: 0) == .allowed)
        #expect(bucket.take(now: 0) == .allowed)
        // An hour later: still only the burst of 2.
        #expect(bucket.take(now: 3600) == .allowed)
        #expect(bucket.take(now: 3600) == .allowed)
        #expect(bucket.take(now: 3600) != .allowed)
    }

    @Test("A clock that goes backwards adds no tokens")
    func backwards() {
        var bucket = TokenBucket(rate: 1, capacity: 1, now: 50)
        #expect(bucket.take(now: 50) == .allowed)
        #expect(bucket.take(now: 10) == .limited(retryAfter: 1))
        #expect(bucket.take(now: 50.5) == .limited(retryAfter: 0.5))
    }

    @Test("isFull says when an idle client's bucket can be forgotten")
    func isFull() {
        var bucket = TokenBucket(rate: 1, capacity: 2, now: 0)
        #expect(bucket.isFull(at: 0))
        _ = bucket.take(now: 0)
        #expect(!bucket.isFull(at: 0.5))
        #expect(bucket.isFull(at: 1))
    }

    @Test("A capacity under 1 is raised to 1, so a request can ever pass")
    func minimumCapacity() {
        var bucket = TokenBucket(rate: 1, capacity: 0, now: 0)
        #expect(bucket.capacity == 1)
        #expect(bucket.take(now: 0) == .allowed)
    }
}
