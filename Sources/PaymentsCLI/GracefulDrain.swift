import Dispatch
import Foundation
import Logging
import PaymentsHTTP
import ServiceLifecycle

/// `serve`'s application inside its graceful shutdown: on SIGTERM or SIGINT the server is marked draining
/// (`GET /health/ready` answers 503), Hummingbird closes the listening socket and each idle connection, lets the
/// requests in flight finish and answer, and the process exits 0. If they have not finished within the grace
/// period, the process exits 0 anyway, abandoning them.
///
/// An abandoned request is safe, the same way a request cut short by SIGKILL is (`CrashRecoveryTests`): every
/// change is a transaction that committed or did not; an attempt that reached the card network was recorded as
/// pending first, and start-up recovery or the sweeper settles it by asking the network again under its id; its
/// idempotency key keeps its recovery point, so the client's retry with the same key (after the key's lease) resumes
/// it instead of charging again.
struct GracefulDrain<Base: Service>: Service {
    let base: Base
    let readiness: Readiness
    /// Seconds the requests in flight get after the signal.
    let gracePeriod: Double
    let logger: Logger

    func run() async throws {
        let (readiness, gracePeriod, logger) = (self.readiness, self.gracePeriod, self.logger)
        try await withGracefulShutdownHandler {
            try await base.run()
        } onGracefulShutdown: {
            readiness.beginDraining()
            logger.info(
                "shutting down: no new connections; finishing the requests in flight",
                metadata: ["grace_period_seconds": .stringConvertible(gracePeriod)]
            )
            Self.exit(after: gracePeriod, logger: logger)
        }
    }

    /// Ends the process `seconds` from now if it is still running then. A dispatch timer, not a task: it must fire
    /// even when every thread of the cooperative pool is busy with the requests it abandons, and it does
    /// (`GracefulShutdownTests.blockedThreads` holds every thread of the pool for 20 s; the process ends at its 5 s).
    static func exit(after seconds: Double, logger: Logger) {
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
            logger.warning(
                "shutdown grace period over: exiting with requests still in flight (their keys and the start-up recovery finish them)",
                metadata: ["grace_period_seconds": .stringConvertible(seconds)]
            )
            fflush(nil)  // every open output stream: the log line above reaches its file before the exit
            _exit(0)
        }
    }
}
