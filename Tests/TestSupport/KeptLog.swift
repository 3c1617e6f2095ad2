import Logging
import Synchronization

/// What a logger logged, kept for a test to read: each line's level, message and metadata (the logger's merged with
/// the line's own).
public final class KeptLog: Sendable {
    /// One logged line.
    public struct Line: Sendable, CustomStringConvertible {
        public let level: Logger.Level
        public let message: String
        public let metadata: Logger.Metadata

        public var description: String { "\(level) \(message) \(metadata)" }
    }

    private let kept = Mutex<[Line]>([])

    public init() {}

    /// The lines logged so far, oldest first.
    public var lines: [Line] { kept.withLock { $0 } }

    /// A logger whose lines at `level` and above are kept here.
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        Logger(label: label) { _ in Handler(log: self, logLevel: level) }
    }

    private struct Handler: LogHandler {
        let log: KeptLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level

        init(log: KeptLog, logLevel: Logger.Level) {
            self.log = log
            self.logLevel = logLevel
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, line in line }
            log.kept.withLock { $0.append(Line(level: event.level, message: "\(event.message)", metadata: merged)) }
        }
    }
}
