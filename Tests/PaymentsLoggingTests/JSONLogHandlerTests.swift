import Foundation
import Logging
import Testing

@testable import PaymentsLogging

/// The JSON line handler: its fields, its escaping, whole lines under concurrency, and the level it is given.
@Suite("JSON log lines")
struct JSONLogHandlerTests {
    /// 2026-11-29T21:24:52.123Z.
    static let fixedTime = Date(timeIntervalSince1970: 1_795_987_492.123)

    /// A logger writing JSON lines into a new temporary file; returns the logger and a reader of the file's lines.
    ///
    /// The file is unlinked as soon as it is open: it is read through its descriptor, and the system frees it when
    /// the test process exits (the writer never closes its descriptor), so no run leaves logs behind in the
    /// temporary folder (the concurrency test's alone is megabytes).
    static func fileLogger(level: Logger.Level = .trace) throws -> (Logger, () throws -> [String]) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("log-\(UUID().uuidString).jsonl")
        let fd = open(url.path, O_RDWR | O_CREAT | O_EXCL | O_APPEND, 0o600)
        try #require(fd >= 0)
        try #require(unlink(url.path) == 0)
        let writer = LogLineWriter(fileDescriptor: fd)
        var logger = Logger(label: "payments.test") { label in
            JSONLogHandler(label: label, writer: writer, now: { fixedTime })
        }
        logger.logLevel = level
        let read = {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let count = chunk.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(bytes.count)) }
                try #require(count >= 0, "reading the log file failed (errno \(errno))")
                if count == 0 { break }
                bytes += chunk[..<count]
            }
            let text = String(decoding: bytes, as: UTF8.self)
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        }
        return (logger, read)
    }

    static func object(_ line: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8))
        return try #require(parsed as? [String: Any], "not an object: \(line)")
    }

    @Test("A line has the timestamp, level, label, message and source, then the metadata as fields")
    func fields() throws {
        // Given a logger with metadata of its own
        let (base, lines) = try Self.fileLogger()
        var logger = base
        logger[metadataKey: "request_id"] = "req_ABCDEFGHIJKLMN"
        // When it logs with more metadata of every shape
        logger.info(
            "request",
            metadata: [
                "status": .stringConvertible(402),
                "duration_ms": .stringConvertible(1.25),
                "path": "/v1/payment_intents",
                "tags": .array(["a", .stringConvertible(true)]),
                "card": .dictionary(["last4": "4242", "brand": "visa"]),
                "message": "a metadata key named like a fixed field",
            ]
        )
        // Then the line is one JSON object with every field
        let written = try lines()
        try #require(written.count == 1)
        let line = written[0]
        #expect(line.hasPrefix(#"{"timestamp":"2026-11-29T21:24:52.123Z","level":"info","label":"payments.test""#))
        let object = try Self.object(line)
        #expect(object["timestamp"] as? String == "2026-11-29T21:24:52.123Z")
        #expect(object["level"] as? String == "info")
        #expect(object["label"] as? String == "payments.test")
        #expect(object["message"] as? String == "request")
        #expect(object["source"] as? String == "PaymentsLoggingTests")
        #expect(object["request_id"] as? String == "req_ABCDEFGHIJKLMN")
        #expect(object["status"] as? Int == 402)
        #expect(object["duration_ms"] as? Double == 1.25)
        #expect(object["path"] as? String == "/v1/payment_intents")
        let tags = try #require(object["tags"] as? [Any])
        #expect(tags.count == 2)
        #expect(tags.first as? String == "a")
        #expect(tags.last as? Bool == true)
        #expect(object["card"] as? [String: String] == ["brand": "visa", "last4": "4242"])
        #expect(object["metadata.message"] as? String == "a metadata key named like a fixed field")
    }

    @Test("Quotes, backslashes, newlines, control characters and non-ASCII text stay inside one valid line")
    func escaping() throws {
        let (logger, lines) = try Self.fileLogger()
        let nasty =
            "quote \" backslash \\ newline \n return \r tab \t nul \u{0} bell \u{7} esc \u{1B} del \u{7F} "
            + "accents é ü, CJK 日本, emoji 🎉, separators \u{2028}\u{2029} end"
        logger.warning("\(nasty)", metadata: ["value": "\(nasty)", "key with \"quote\"\n": "x"])
        let written = try lines()
        // One line: the newlines inside were escaped
        try #require(written.count == 1, "\(written)")
        let line = written[0]
        #expect(line.contains(#"quote \" backslash \\ newline \n return \r tab \t nul \u0000 bell \u0007"#))
        #expect(line.contains(#"esc \u001b del \u007f accents é ü, CJK 日本, emoji 🎉"#))
        // And a JSON parser reads back exactly what was logged
        let object = try Self.object(line)
        #expect(object["message"] as? String == nasty)
        #expect(object["value"] as? String == nasty)
        #expect(object["key with \"quote\"\n"] as? String == "x")
    }

    @Test("Lines logged by many threads at once are never interleaved, however long")
    func concurrentLinesStayWhole() async throws {
        let (logger, lines) = try Self.fileLogger()
        let writers = 8
        let perWriter = 200
        // Longer than a pipe's atomic write (4096 bytes), so only the handler's lock keeps lines whole
        let filler = String(repeating: "x", count: 6000)
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in 0..<perWriter {
                        logger.info("\(filler)", metadata: ["writer": "\(writer)", "index": "\(index)"])
                    }
                }
            }
        }
        let written = try lines()
        #expect(written.count == writers * perWriter)
        var seen = Set<String>()
        for line in written {
            let object = try Self.object(line)
            #expect(object["message"] as? String == filler)
            seen.insert("\(object["writer"] ?? "")/\(object["index"] ?? "")")
        }
        #expect(seen.count == writers * perWriter)
    }

    @Test("The handler passes only lines at its level and above")
    func level() throws {
        // Given a handler made the way `payments serve` makes them, at `notice`
        let (base, lines) = try Self.fileLogger(level: .notice)
        var logger = base
        logger.debug("hidden")
        logger.info("hidden too")
        logger.notice("shown")
        logger.error("shown too")
        logger.logLevel = .trace
        logger.trace("shown at trace")
        let levels = try lines().map { try Self.object($0)["level"] as? String }
        #expect(levels == ["notice", "error", "trace"])
    }

    @Test("The settings name the format and the level; anything else is refused")
    func settings() throws {
        #expect(try LogOutput.format("json") == .json)
        #expect(try LogOutput.format("TEXT") == .text)
        #expect(throws: LogOutput.InvalidSetting.self) { try LogOutput.format("xml") }
        #expect(try LogOutput.level("debug") == .debug)
        #expect(throws: LogOutput.InvalidSetting.self) { try LogOutput.level("verbose") }
        let handler = LogOutput.handler(label: "payments", format: .json, level: .warning)
        #expect(handler is JSONLogHandler)
        #expect(handler.logLevel == .warning)
        #expect(LogOutput.handler(label: "payments", format: .text, level: .trace).logLevel == .trace)
    }

    @Test("Timestamps are ISO 8601 in UTC with milliseconds")
    func timestamps() {
        #expect(ISO8601Timestamp.utc(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(ISO8601Timestamp.utc(Self.fixedTime) == "2026-11-29T21:24:52.123Z")
        #expect(ISO8601Timestamp.utc(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
    }
}
