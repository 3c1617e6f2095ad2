import Foundation

/// Paths of the repository the tests run in.
public enum TestPaths {
    /// The repository root (the folder holding `Package.swift`).
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// The `migrations/` folder.
    public static var migrations: String { root.appendingPathComponent("migrations").path }

    /// The built `payments` executable (`PAYMENTS_BINARY` overrides; default the debug build).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["PAYMENTS_BINARY"] { return path }
        return root.appendingPathComponent(".build/debug/payments").path
    }

    /// A new empty temporary folder.
    public static func temporaryFolder(_ label: String = "payments-test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
