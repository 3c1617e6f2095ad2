import Logging

/// The line formats of the `logFormat` setting.
public enum LogFormat: String, Sendable, CaseIterable {
    /// swift-log's own line: `2026-11-29T21:24:52+0000 info payments: request_id=req_… [PaymentsHTTP] request`.
    case text
    /// One JSON object per line (``JSONLogHandler``), for log collectors.
    case json
}

/// Where the process's log lines go, and how they look: one place that sets up swift-log for `payments serve`.
public enum LogOutput {
    /// A problem with the logging settings, said in the settings' own words.
    public struct InvalidSetting: Error, CustomStringConvertible {
        public let description: String
    }

    /// The format named by the `logFormat` setting.
    /// - Throws: ``InvalidSetting`` for anything but `text` or `json`.
    public static func format(_ name: String) throws -> LogFormat {
        guard let format = LogFormat(rawValue: name.lowercased()) else {
            throw InvalidSetting(description: "logFormat (PAYMENTS_LOG_FORMAT) must be text or json, not '\(name)'.")
        }
        return format
    }

    /// The level named by the `logLevel` setting.
    /// - Throws: ``InvalidSetting`` for a name swift-log does not know.
    public static func level(_ name: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: name.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw InvalidSetting(description: "logLevel (PAYMENTS_LOG_LEVEL) must be one of \(names), not '\(name)'.")
        }
        return level
    }

    /// A handler for the logger `label`, writing `format` to standard error and passing lines at `level` and above.
    public static func handler(label: String, format: LogFormat, level: Logger.Level) -> any LogHandler {
        var handler: any LogHandler =
            switch format {
            case .text: DeferredMetadataLogHandler(StreamLogHandler.standardError(label: label))
            case .json: JSONLogHandler(label: label)
            }
        handler.logLevel = level
        return handler
    }

    /// Makes every logger the process creates from now on (the service's, Hummingbird's server and request
    /// loggers, the service group's) write `format` at `level`. Call it once, before the first logger is made.
    public static func bootstrap(format: LogFormat, level: Logger.Level) {
        LoggingSystem.bootstrap { label in handler(label: label, format: format, level: level) }
    }
}
