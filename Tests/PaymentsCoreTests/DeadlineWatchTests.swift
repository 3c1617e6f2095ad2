import Synchronization
import Testing

@testable import PaymentsCore

/// The watch behind every time limit: what is forgotten in time never expires, what is not expires once, past its
/// deadline, and the ticking task ends when nothing is watched.
@Suite("Deadline watch")
struct DeadlineWatchTests {
    @Test("a thing forgotten in time never expires; one left expires once, past its deadline; then the watch rests")
    func expiresOnlyWhatIsLeft() async throws {
        let watch = DeadlineWatch(timeout: .milliseconds(100))
        let expired = Mutex<[Int]>([])
        let start = ContinuousClock.now
        var tickets: [DeadlineWatch.Ticket] = []
        for index in 0..<10 {
            tickets.append(watch.watch { expired.withLock { $0.append(index) } })
        }
        #expect(watch.watching == (count: 10, ticking: true))
        // The even ones end in time
        for index in stride(from: 0, to: 10, by: 2) { watch.forget(tickets[index]) }
        #expect(watch.watching.count == 5)

        // (the watch lets go of what expired before it runs their expiries: wait for both)
        let deadline = ContinuousClock.now + .seconds(60)
        while watch.watching != (count: 0, ticking: false) || expired.withLock({ $0.count }) < 5,
            ContinuousClock.now < deadline
        {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(watch.watching == (count: 0, ticking: false))
        #expect(expired.withLock { $0.sorted() } == [1, 3, 5, 7, 9])
        // Not before the timeout
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        // Forgetting something already expired changes nothing
        watch.forget(tickets[1])
        #expect(expired.withLock { $0.count } == 5)

        // A new thing after the watch rested is watched again, and expires
        let again = Mutex(false)
        _ = watch.watch { again.withLock { $0 = true } }
        while !again.withLock({ $0 }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(again.withLock { $0 })
    }

    @Test("a tick expires what was late when it came due, not when it runs: a tick that runs late spares the rest")
    func expiresByTheTicksMoment() {
        // Given a thing watched for a minute
        let watch = DeadlineWatch(timeout: .seconds(60))
        let expired = Mutex(false)
        let start = ContinuousClock.now
        _ = watch.watch { expired.withLock { $0 = true } }
        // When a tick due before its deadline runs (whenever that is), nothing expires
        #expect(watch.expire(upTo: start + .seconds(30)))
        #expect(!expired.withLock { $0 } && watch.watching.count == 1)
        // and a tick due after it expires it
        #expect(!watch.expire(upTo: start + .seconds(61)))
        #expect(expired.withLock { $0 } && watch.watching.count == 0)
    }
}
