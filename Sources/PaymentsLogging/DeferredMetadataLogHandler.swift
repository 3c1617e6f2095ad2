import Logging

/// A handler that keeps its logger's metadata itself and hands it to `base` only when a line is logged, as the
/// line's own metadata (a line's explicit metadata wins over the logger's, as in swift-log).
///
/// swift-log's `StreamLogHandler` renders its metadata into a string on every change (`prettify` in the property's
/// `didSet`). The request middleware sets the request id on every request's logger, so with the text format at
/// `warning` (no request line written) that rendering was 7% of a replayed request's CPU, for lines never written
/// (`perf record -g` of `payments serve` under the W3 replay load of `scripts/bench`). Kept here, a change costs a
/// dictionary write, and a line is rendered once, when it is written.
public struct DeferredMetadataLogHandler<Base: LogHandler>: LogHandler {
    /// The handler that writes the lines; its own metadata stays empty.
    public private(set) var base: Base
    public var metadata: Logger.Metadata = [:]

    /// Wraps `base`.
    public init(_ base: Base) { self.base = base }

    public var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        base.log(event: event)
    }
}
