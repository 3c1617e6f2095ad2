import ArgumentParser
import Foundation
import Logging
import PaymentsArchive

/// What `payments export` and `payments import` print: on standard error, so that `--output -` leaves standard
/// output to the archive.
enum ArchiveCommandOutput {
    /// PostgresNIO logs every query at debug and trace: the commands keep its warnings only.
    static let logger: Logger = {
        var logger = Logger(label: "payments.archive")
        logger.logLevel = .warning
        return logger
    }()

    /// One line per table and a total with the rate.
    static func summary(_ what: String, counts: [(table: String, rows: Int64)], since started: ContinuousClock.Instant)
    {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let total = counts.reduce(0) { $0 + $1.rows }
        var text = what + "\n"
        for (table, rows) in counts { text += "  \(table): \(rows) \(rows == 1 ? "row" : "rows")\n" }
        let rate = seconds > 0 ? Int(Double(total) / seconds) : 0
        text +=
            "  total: \(total) \(total == 1 ? "row" : "rows") in \(String(format: "%.1f", seconds)) s (\(rate) rows/s)\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Prints the refusal's message.
    /// - Returns: the exit status to throw: 1.
    static func fail(_ command: String, _ error: ArchiveError) -> ExitCode {
        FileHandle.standardError.write(Data("payments \(command): \(error)\n".utf8))
        return .failure
    }
}
