import Foundation
import Logging

/// A swift-log handler that writes one JSON object per line: `timestamp` (ISO 8601, UTC, milliseconds), `level`,
/// `label`, `message`, `source`, then the metadata flattened as fields, sorted by key.
///
/// Metadata values keep their shape (a dictionary becomes an object, an array an array, anything else a string).
/// A metadata key that would overwrite one of the fixed fields is written as `metadata.KEY` instead. An error
/// attached to the event is written as `error.message` and `error.type`, as swift-log's own handler does.
///
/// ```json
/// {"timestamp":"2026-11-29T21:24:52.123Z","level":"info","label":"payments","message":"request","source":"PaymentsHTTP","duration_ms":3.1,"method":"POST","path":"/v1/payment_intents","request_id":"req_ZHHlGodEG8hREx","status":200}
/// ```
public struct JSONLogHandler: LogHandler {
    /// The fields every line starts with, in order.
    static let fixedFields: Set<String> = ["timestamp", "level", "label", "message", "source"]

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let writer: LogLineWriter
    private let now: @Sendable () -> Date

    /// Creates a handler for the logger `label`.
    ///
    /// - Parameters:
    ///   - writer: where the lines go (standard error by default).
    ///   - metadataProvider: metadata added to every line, read when the line is logged.
    ///   - now: the time a line is stamped with (the wall clock; tests pass a fixed one).
    public init(
        label: String,
        writer: LogLineWriter = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.label = label
        self.writer = writer
        self.metadataProvider = metadataProvider
        self.now = now
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { _, new in new } }
        if let explicit = event.metadata { fields.merge(explicit) { _, new in new } }
        if let error = event.error {
            fields["error.message"] = .string(String(describing: error))
            fields["error.type"] = .string(String(reflecting: type(of: error)))
        }
        writer.write(
            Self.line(
                timestamp: now(),
                level: event.level,
                label: label,
                message: event.message.description,
                source: event.source,
                metadata: fields
            )
        )
    }

    /// One log line: the JSON object and its newline, as UTF-8.
    static func line(
        timestamp: Date,
        level: Logger.Level,
        label: String,
        message: String,
        source: String,
        metadata: Logger.Metadata
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(UInt8(ascii: "{"))
        JSONText.field("timestamp", first: true, into: &out)
        JSONText.string(ISO8601Timestamp.utc(timestamp), into: &out)
        JSONText.field("level", into: &out)
        JSONText.string(level.rawValue, into: &out)
        JSONText.field("label", into: &out)
        JSONText.string(label, into: &out)
        JSONText.field("message", into: &out)
        JSONText.string(message, into: &out)
        JSONText.field("source", into: &out)
        JSONText.string(source, into: &out)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            JSONText.field(fixedFields.contains(key) ? "metadata.\(key)" : key, into: &out)
            JSONText.value(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
        return out
    }
}
