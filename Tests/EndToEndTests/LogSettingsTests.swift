import Foundation
import TestSupport
import Testing

/// The logging settings of `payments serve`.
@Suite("Log settings")
struct LogSettingsTests {
    @Test("An unknown log format or level stops serve before it starts, saying which setting is wrong")
    func unknownSettingsRefused() async throws {
        let binary = try PaymentsBinary.path()
        let folder = try TestPaths.temporaryFolder("payments-log-settings")
        defer { try? FileManager.default.removeItem(at: folder) }
        let db = folder.appendingPathComponent("payments.sqlite").path
        for (setting, value, named) in [
            ("PAYMENTS_LOG_FORMAT", "xml", "logFormat"), ("PAYMENTS_LOG_LEVEL", "verbose", "logLevel"),
        ] {
            let (termination, output) = try await runToCompletion(
                binary,
                ["serve", "--db", db, "--port", "0"],
                environment: PaymentsBinary.environment([setting: value]),
                in: folder,
                timeout: .seconds(60)
            )
            #expect(!termination.isCleanExit, "\(output)")
            #expect(output.contains(named) && output.contains(value), "\(output)")
            #expect(!output.contains("payments listening on"), "\(output)")
        }
    }
}
