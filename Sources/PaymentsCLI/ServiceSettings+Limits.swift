import Configuration
import PaymentsHTTP

extension ServiceSettings {
    /// The default shutdown grace period: 10 s, well over a request's usual milliseconds and a card network call's
    /// timeout (`networkTimeout`, 10 s by default, so a request waiting on the network usually still finishes), and
    /// inside the 30 s that Kubernetes and systemd wait after SIGTERM before they SIGKILL.
    static let defaultShutdownGracePeriod: Double = 10

    /// Reads the request limits, the rate limit and the shutdown grace period (config keys under `payments`,
    /// environment variables `PAYMENTS_MAX_BODY_BYTES`, `PAYMENTS_RATE_LIMIT`, ...).
    mutating func readLimits(_ payments: ConfigReader) {
        let defaults = HTTPLimits()
        limits = HTTPLimits(
            maxBodyBytes: payments.int(forKey: "maxBodyBytes", default: defaults.maxBodyBytes),
            maxHeaderBytes: payments.int(forKey: "maxHeaderBytes", default: defaults.maxHeaderBytes),
            maxHeaderCount: payments.int(forKey: "maxHeaderCount", default: defaults.maxHeaderCount),
            maxFormParameters: payments.int(forKey: "maxFormParameters", default: defaults.maxFormParameters),
            rateLimit: payments.double(forKey: "rateLimit", default: defaults.rateLimit),
            rateLimitBurst: payments.double(forKey: "rateLimitBurst", default: defaults.rateLimitBurst)
        )
        shutdownGracePeriod = payments.double(forKey: "shutdownGracePeriod", default: Self.defaultShutdownGracePeriod)
    }

    /// Refuses limits that cannot work.
    func validateLimits() throws {
        if let problem = limits.problem { throw SettingsError.invalid(problem) }
        guard shutdownGracePeriod >= 0, shutdownGracePeriod.isFinite else {
            throw SettingsError.invalid("shutdownGracePeriod must be 0 or more seconds.")
        }
    }
}
