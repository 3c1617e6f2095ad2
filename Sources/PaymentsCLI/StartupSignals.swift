import Dispatch
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// SIGTERM, SIGINT and SIGHUP from the first moment of `payments serve`, until the service group takes them over.
///
/// The service group handles the stop signals only once it runs, after the migrations and the start-up recovery.
/// Before, a signal's default action killed the process (exit status 143, no message) in the middle of its start-up:
/// on a large database between two migrations, each of which takes seconds. Now a signal that comes first is kept:
/// the start-up finishes the step it is in (each migration is one transaction), and the command exits 0 without
/// serving. One that comes once the group exists is handed to it, which shuts it down gracefully whether or not it
/// was running yet; a second one then ends the process at once, as `payments recharge` does (an operator's second
/// Ctrl-C waited out the grace period): the requests it cuts are safe as after a SIGKILL (see ``GracefulDrain``).
final class StartupSignals: Sendable {
    private enum State {
        case starting
        case stopRequested
        case handedOver(ServiceGroup, logger: Logger, signals: Int)
    }

    private let state = Mutex<State>(.starting)
    /// Kept alive as long as this is: a released source stops delivering its signal.
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []

    /// Starts catching SIGTERM, SIGINT and SIGHUP (their default actions are ignored from now on: Dispatch delivers
    /// them).
    init() {
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            // Signals that came before the handler ran are one event, counted in `data` (as in `RunSignals`)
            nonisolated(unsafe) let counted = source
            source.setEventHandler { [weak self] in
                for _ in 0..<max(1, counted.data) { self?.received(signalNumber) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Whether a stop signal came before the group took them over.
    var stopRequested: Bool {
        state.withLock { state in
            if case .stopRequested = state { return true }
            return false
        }
    }

    /// Hands the signals to `group`: one that comes from now on triggers its graceful shutdown (also before it
    /// runs), beside the group's own handling once it runs.
    /// - Returns: false when a stop signal came before: the caller should not serve.
    /// - Parameter logger: where a second signal's exit is said.
    func handOver(to group: ServiceGroup, logger: Logger) -> Bool {
        state.withLock { state in
            if case .stopRequested = state { return false }
            state = .handedOver(group, logger: logger, signals: 0)
            return true
        }
    }

    private func received(_ signalNumber: Int32) {
        let handedOver: (group: ServiceGroup, logger: Logger, count: Int)? = state.withLock { state in
            switch state {
            case .starting:
                state = .stopRequested
                return nil
            case .stopRequested:
                return nil
            case .handedOver(let group, let logger, let signals):
                state = .handedOver(group, logger: logger, signals: signals + 1)
                return (group, logger, signals + 1)
            }
        }
        guard let (group, logger, count) = handedOver else { return }
        guard count >= 2 else {
            Task { await group.triggerGracefulShutdown() }
            return
        }
        // A second signal while draining: the operator does not want to wait for the requests in flight. Ended by the
        // signal's default action, sent to the process (raised on this Dispatch thread, where signals are blocked, it
        // stays pending)
        logger.warning(
            "second stop signal: exiting now, cutting the requests in flight (their keys and recovery finish them)"
        )
        fflush(nil)  // every open output stream: the log line reaches its file before the process ends
        signal(signalNumber, SIG_DFL)
        kill(getpid(), signalNumber)
    }
}
