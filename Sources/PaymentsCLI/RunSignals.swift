import Dispatch
import Foundation
import Synchronization

/// SIGTERM, SIGINT and SIGHUP during a batch command's run (`payments recharge`): the first stops it starting new rows,
/// the rows in flight finish and the results are written; a second ends the process at once, as the signal's default
/// action would. SIGHUP (the terminal or ssh session that ran it closed) killed the run at once, as the other two did
/// before them.
///
/// Before, either signal killed the run at once (exit status 143 or 130): no results file, no summary, and the rows
/// in flight kept their references' leases, so the next run waited up to 30 s for them. A row in flight takes
/// milliseconds (or the card network's time limit), so finishing them keeps the stop prompt.
final class RunSignals: Sendable {
    /// The signal that asked the run to stop, once one did.
    private let received = Mutex<Int32?>(nil)
    /// Kept alive as long as this is: a released source stops delivering its signal.
    private nonisolated(unsafe) var sources: [any DispatchSourceSignal] = []

    /// Starts catching `signals` (SIGTERM, SIGINT and SIGHUP unless told others); `onStop` runs once, on the first
    /// (from a Dispatch queue).
    init(signals: [Int32] = [SIGTERM, SIGINT, SIGHUP], onStop: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            // Signals that came before the handler ran are one event, counted in `data`: a second Ctrl-C on a busy
            // machine came with the first and was taken for it alone
            // (the source lives as long as the process's run, so its handler may hold it)
            nonisolated(unsafe) let counted = source
            source.setEventHandler { [weak self] in
                for _ in 0..<max(1, counted.data) { self?.receive(signalNumber, onStop: onStop) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal that asked the run to stop, if one did.
    var stopSignal: Int32? { received.withLock { $0 } }

    private func receive(_ signalNumber: Int32, onStop: @Sendable (Int32) -> Void) {
        let first = received.withLock { received in
            guard received == nil else { return false }
            received = signalNumber
            return true
        }
        guard first else {
            // A second signal: the operator does not want to wait. Sent to the process, not raised on this Dispatch
            // thread, where signals are blocked: raised, it stayed pending and the run went on to its end. A second
            // SIGTSTP ends the run as SIGTERM does, rather than pausing it with the database's write lock held.
            let ending = signalNumber == SIGTSTP ? SIGTERM : signalNumber
            signal(ending, SIG_DFL)
            kill(getpid(), ending)
            return
        }
        onStop(signalNumber)
    }
}
