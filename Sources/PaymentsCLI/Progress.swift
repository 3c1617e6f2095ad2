import Foundation
import Payments
import Synchronization

/// A progress bar on standard error when it is a terminal; silent otherwise (in scripts and CI logs).
final class Progress: Sendable {
    private let total: Int
    private let state = Mutex<(done: Int, failed: Int)>((0, 0))
    private let enabled = isatty(STDERR_FILENO) == 1

    /// Width of the bar in characters: fits an 80-column terminal with the counts beside it.
    private static let width = 30

    init(total: Int) { self.total = total }

    /// Counts one finished row and redraws.
    func advance(_ outcome: OffSessionCharges.Outcome?) {
        let (done, failed) = state.withLock { value in
            value.done += 1
            if outcome?.status == "error" { value.failed += 1 }
            return value
        }
        // Redrawn when a bar cell fills or at the end (30 writes a run), not once per row: a 5,000-row run wrote
        // 5,000 lines of escape codes to the terminal.
        guard enabled, total > 0, done == total || Self.width * done / total != Self.width * (done - 1) / total
        else { return }
        let filled = Self.width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: Self.width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) rows, \(failed) errors".utf8))
    }

    /// Ends the bar's line.
    func finish() {
        if enabled && total > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
