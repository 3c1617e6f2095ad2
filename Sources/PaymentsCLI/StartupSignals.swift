import Dispatch
import Foundation
import ServiceLifecycle
import Synchronization

/// SIGTERM, SIGINT and SIGHUP from the first moment of `payments serve`, until the service group takes them over.
///
/// The service group handles the stop signals only once it runs, after the migrations and the start-up recovery.
/// Before, a signal's default action killed the process (exit status 143, no message) in the middle of its start-up:
/// on a large database between two migrations, each of which takes seconds. Now a signal that comes first is kept:
/// the start-up finishes the step it is in (each migration is one transaction), and the command exits 0 without
/// serving. One that comes once the group exists is handed to it, which shuts it down gracefully whether or not it
/// was running yet.
final class StartupSignals: Sendable {
    private enum State {
        case starting
        case stopRequested
        case handedOver(ServiceGroup)
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
            source.setEventHandler { [weak self] in self?.received() }
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
    func handOver(to group: ServiceGroup) -> Bool {
        state.withLock { state in
            if case .stopRequested = state { return false }
            state = .handedOver(group)
            return true
        }
    }

    private func received() {
        let group: ServiceGroup? = state.withLock { state in
            switch state {
            case .starting:
                state = .stopRequested
                return nil
            case .stopRequested:
                return nil
            case .handedOver(let group):
                return group
            }
        }
        if let group { Task { await group.triggerGracefulShutdown() } }
    }
}
