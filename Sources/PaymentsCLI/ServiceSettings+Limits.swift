import Configuration
import NIOCore
import PaymentsHTTP

extension ServiceSettings {
    /// The default shutdown grace period: 10 s, well over a request's usual milliseconds and a card network call's
    /// timeout (`networkTimeout`, 10 s by default, so a request waiting on the network usually still finishes), and
    /// inside the 30 s that Kubernetes and systemd wait after SIGTERM before they SIGKILL.
    static let defaultShutdownGracePeriod: Double = 10

    /// The default number of event loops: half the cores, at least one.
    ///
    /// A request's handler runs on Swift's cooperative pool (one thread per core); the event loops only move its
    /// bytes and parse HTTP, and hand each response back to its connection's loop. SwiftNIO's own default, a loop per
    /// core, doubles the threads that wake for every request: on the benchmark's 2-core machine one loop instead of
    /// two took 93 µs of CPU per `GET /v1/payment_intents/:id` instead of 120 (medians of five alternating
    /// `scripts/bench --only http` runs each), and its p99 fell from 5.9 to 4.6 ms.
    static var defaultEventLoops: Int { max(1, System.coreCount / 2) }

    /// Reads the request limits, the rate limit, the connections' idle timeout, the shutdown grace period, the event
    /// loops and the writers' niceness (config keys under `payments`, environment variables `PAYMENTS_MAX_BODY_BYTES`,
    /// `PAYMENTS_RATE_LIMIT`, `PAYMENTS_IDLE_TIMEOUT`, ...).
    ///
    /// `writerNiceness` lowers the CPU priority of the threads that run SQLite's commits. On 2 shared cores, eight
    /// rounds of each workload, medians of per-round ratios against 0: reads beside a stream of payments answered 35%
    /// more a second at 10 (18% at 5), the payments beside them 9% (3%) fewer, payments alone 3% (1%) more. But a
    /// nice value is weighed against every thread in the process's scheduling group (its session's autogroup, its
    /// cgroup), not only the process's own: beside other busy processes of the same group, a server at 10 left its
    /// commits waiting for them, past the card network's timeout in a loaded test run. So the default is 0; raise it
    /// only where the service has its group to itself (a systemd unit, a container).
    mutating func readLimits(_ payments: ConfigReader) throws {
        let defaults = HTTPLimits()
        limits = HTTPLimits(
            maxBodyBytes: try payments.checkedInt(forKey: "maxBodyBytes", default: defaults.maxBodyBytes),
            maxHeaderBytes: try payments.checkedInt(forKey: "maxHeaderBytes", default: defaults.maxHeaderBytes),
            maxHeaderCount: try payments.checkedInt(forKey: "maxHeaderCount", default: defaults.maxHeaderCount),
            maxFormParameters: try payments.checkedInt(
                forKey: "maxFormParameters",
                default: defaults.maxFormParameters
            ),
            rateLimit: try payments.checkedDouble(forKey: "rateLimit", default: defaults.rateLimit),
            rateLimitBurst: try payments.checkedDouble(forKey: "rateLimitBurst", default: defaults.rateLimitBurst),
            idleTimeout: try payments.checkedDouble(forKey: "idleTimeout", default: defaults.idleTimeout)
        )
        shutdownGracePeriod = try payments.checkedDouble(
            forKey: "shutdownGracePeriod",
            default: Self.defaultShutdownGracePeriod
        )
        eventLoops = try payments.checkedInt(forKey: "eventLoops", default: Self.defaultEventLoops)
        writerNiceness = try payments.checkedInt(forKey: "writerNiceness", default: 0)
        minimumFreeDisk = try payments.checkedInt(forKey: "minimumFreeDisk", default: Self.defaultMinimumFreeDisk)
    }

    /// `minimumFreeDisk`'s default, 1 MiB: a payment writes tens of KB (its pages in the write-ahead log, then in the
    /// file at a checkpoint). On a full disk a failed commit's rollback leaves room for the readiness check's own
    /// one-page write, and a write-ahead log started over reuses its file's space, so the check's write passed while
    /// payments failed, and readiness went back to ready 5 s after each failed payment (a probe on a full file
    /// system). The space left decides instead.
    static let defaultMinimumFreeDisk = 1 << 20

    /// Refuses limits that cannot work.
    func validateLimits() throws {
        if let problem = limits.problem { throw SettingsError.invalid(problem) }
        guard shutdownGracePeriod >= 0, shutdownGracePeriod.isFinite else {
            throw SettingsError.invalid(
                "shutdownGracePeriod (PAYMENTS_SHUTDOWN_GRACE_PERIOD) must be 0 or more seconds."
            )
        }
        guard (1...1024).contains(eventLoops) else {
            throw SettingsError.invalid("eventLoops (PAYMENTS_EVENT_LOOPS) must be 1...1024.")
        }
        guard (0...19).contains(writerNiceness) else {
            throw SettingsError.invalid("writerNiceness (PAYMENTS_WRITER_NICENESS) must be 0...19.")
        }
        guard minimumFreeDisk >= 0 else {
            throw SettingsError.invalid("minimumFreeDisk (PAYMENTS_MINIMUM_FREE_DISK) must be 0 (off) or more bytes.")
        }
    }
}
