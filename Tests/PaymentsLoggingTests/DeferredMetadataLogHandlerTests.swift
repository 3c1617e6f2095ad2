import Foundation
import Logging
import Synchronization
import Testing

@testable import PaymentsLogging

@Suite("Text log lines: the logger's metadata handed over when a line is written")
struct DeferredMetadataLogHandlerTests {
    /// Records the events it is asked to write, and how often its own metadata was touched.
    final class Recorder: Sendable {
        let events = Mutex<[LogEvent]>([])
        let metadataWrites = Mutex(0)
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var logLevel: Logger.Level = .info
        var metadataProvider: Logger.MetadataProvider?
        var metadata: Logger.Metadata = [:] {
            didSet { recorder.metadataWrites.withLock { $0 += 1 } }
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { recorder.events.withLock { $0.append(event) } }
    }

    @Test("metadata set on the logger reaches the written line; a line's own metadata wins; the base is never touched")
    func metadataReachesTheLine() {
        let recorder = Recorder()
        var logger = Logger(label: "payments") { _ in DeferredMetadataLogHandler(RecordingHandler(recorder: recorder)) }
        logger[metadataKey: "request_id"] = "req_1"
        logger[metadataKey: "method"] = "POST"
        logger.info("request", metadata: ["method": "GET", "status": "200"])

        let events = recorder.events.withLock { $0 }
        #expect(events.count == 1)
        #expect(events.first?.metadata == ["request_id": "req_1", "method": "GET", "status": "200"])
        #expect(events.first?.message == "request")
        #expect(recorder.metadataWrites.withLock { $0 } == 0)
        #expect(logger[metadataKey: "request_id"] == "req_1")
    }

    @Test("below the level nothing reaches the base, and setting metadata renders nothing")
    func belowTheLevel() {
        let recorder = Recorder()
        var logger = Logger(label: "payments") { _ in DeferredMetadataLogHandler(RecordingHandler(recorder: recorder)) }
        logger.logLevel = .warning
        for i in 0..<100 { logger[metadataKey: "request_id"] = "req_\(i)" }
        logger.info("request")
        logger.warning("slow")

        let events = recorder.events.withLock { $0 }
        #expect(events.map(\.message) == ["slow"])
        #expect(events.first?.metadata == ["request_id": "req_99"])
        #expect(recorder.metadataWrites.withLock { $0 } == 0)
    }
}
