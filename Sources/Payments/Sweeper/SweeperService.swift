import Logging
import PaymentsCore
import ServiceLifecycle

/// The sweeper as one of `serve`'s services: a pass at start, then one every `interval`, until graceful shutdown.
///
/// A pass in progress when shutdown begins is cancelled between batches (every batch is its own transaction, and
/// an interrupted network call leaves an attempt that the next pass settles), so shutdown is not held up. With
/// an interval of 0 the service is off and only waits for shutdown: HummingbirdTesting's router mode runs the
/// application's services too, and tests move time themselves.
public struct SweeperService: Service {
    let sweeper: Sweeper
    let clock: UnixClock
    let logger: Logger
    /// The pause between passes; nil when the sweeper is off.
    let interval: Duration?

    /// Creates the service.
    /// - Parameters:
    ///   - context: the use-case context whose clock, database and network the passes use.
    ///   - intervalSeconds: seconds between passes (`PAYMENTS_SWEEP_INTERVAL`); 0 turns the sweeper off.
    public init(context: PaymentsContext, intervalSeconds: Int) {
        self.sweeper = Sweeper(context: context)
        self.clock = context.clock
        self.logger = context.logger
        self.interval = intervalSeconds > 0 ? .seconds(intervalSeconds) : nil
    }

    /// Whether passes run at all.
    public var isEnabled: Bool { interval != nil }

    /// Runs passes until graceful shutdown or cancellation.
    public func run() async throws {
        guard let interval else {
            // Off. A service that returns ends the whole service group, so stay until shutdown.
            try? await gracefulShutdown()
            return
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await cancelWhenGracefulShutdown { await self.pass() }
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return  // shutdown (or cancellation) interrupted the pause
            }
        }
    }

    /// One pass as of the clock's now; a failure is logged, and the next pass tries again.
    func pass() async {
        do {
            _ = try await sweeper.sweep(now: clock.now())
        } catch {
            guard !Task.isCancelled else { return }
            logger.error("sweeper pass failed; the next pass tries again", metadata: ["error": "\(error)"])
        }
    }
}
