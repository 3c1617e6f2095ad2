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

    /// A new empty temporary folder, inside this process's ``processFolder`` (removed when the process exits).
    public static func temporaryFolder(_ label: String = "payments-test") throws -> URL {
        let url = try processFolder.get().appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// One folder in the system's temporary directory for every temporary folder of this test process, named after
    /// the process id (short: the PostgreSQL clusters' sockets live in these folders), and removed when the process
    /// exits: a run of the suites made about 650 folders holding 200 MB, left behind in `/tmp` before.
    ///
    /// Made on first use, and its removal registered with `atexit` then. Handlers run in the reverse order of
    /// registration, so those registered later by what uses these folders (the shared PostgreSQL cluster's stop,
    /// the child processes' kill) run before it. A process that crashes leaves its folder; `scripts/test` runs
    /// everything under a temporary directory of its own, which it removes.
    static let processFolder: Result<URL, any Error> = {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("payments-tests-\(getpid())")
        let made = Result { () throws -> URL in
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return url
        }
        if case .success = made { atexit { TestPaths.removeProcessFolder() } }
        return made
    }()

    private static func removeProcessFolder() {
        if case .success(let url) = processFolder { try? FileManager.default.removeItem(at: url) }
    }
}
