import Foundation
import Synchronization
import TestSupport

/// The built `payments` binary serving on a real port, with its own database in a temporary folder and its own
/// API keys. Its stdout and stderr go to a log file in that folder, shown by ``diagnostics`` when a test fails.
/// The child is killed when the value goes away, whatever happened.
final class ServerProcess: Sendable {
    /// The folder holding the database, the card network's ledger and the logs.
    let folder: URL
    let db: URL
    /// The store it runs on: `db`, or the PostgreSQL database `databaseURL` on the test process's shared cluster.
    let store: TestStore
    /// The PostgreSQL database's URL (`PAYMENTS_DATABASE_URL`) on `.postgres`, or the one the test's environment
    /// named; nil on SQLite.
    let databaseURL: String?
    let secretKey: String
    let publishableKey: String
    /// The address from the "payments listening on http://HOST:PORT" line.
    let baseURL: URL
    let port: Int
    let logURL: URL
    private let process: ChildProcess
    private let reaped = Mutex(false)

    /// The server's process id.
    var processIdentifier: Int32 { process.processIdentifier }

    /// The keys a fresh server gets, different for every test.
    struct Keys: Sendable {
        var secret: String
        var publishable: String

        static func random() -> Keys {
            let tag = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
            return Keys(secret: "sk_test_e2e_\(tag)", publishable: "pk_test_e2e_\(tag)")
        }
    }

    /// Starts `payments serve` and waits for its "listening" line.
    ///
    /// - Parameters:
    ///   - store: SQLite (`payments.sqlite` in `folder`) or PostgreSQL: a fresh database on the shared cluster,
    ///     named in `folder` so that a restart on the same folder finds it. The card network's ledger is
    ///     `card-network.sqlite` in `folder` either way. When nil, the store of `folder`'s data (SQLite for a new
    ///     folder).
    ///   - folder: where the database lives; a new temporary folder when nil (pass the same one to restart on the
    ///     same data).
    ///   - port: the port to ask for; `nil` picks a free one (and tries another if it was taken meanwhile),
    ///     `0` lets the server pick and reads it from the printed line.
    static func start(
        store: TestStore? = nil,
        folder: URL? = nil,
        port: Int? = nil,
        keys: Keys = .random(),
        environment: [String: String] = [:],
        arguments: [String] = [],
        fileSizeLimitKB: Int? = nil,
        openFilesLimit: Int? = nil
    ) async throws -> ServerProcess {
        let binary = try PaymentsBinary.path()
        let folder = try folder ?? TestPaths.temporaryFolder("payments-e2e")
        let store = store ?? TestStore.of(folder: folder)
        // A test may name its own PostgreSQL database in the environment instead
        let given = environment["PAYMENTS_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
        var databaseURL = given
        if databaseURL == nil { databaseURL = try await store.databaseURL(in: folder) }
        var lastError: (any Error)?
        for _ in 0..<(port == nil ? 5 : 1) {
            let chosen = try port ?? freePort()
            do {
                return try await ServerProcess(
                    binary: binary,
                    store: store,
                    databaseURL: databaseURL,
                    folder: folder,
                    port: chosen,
                    keys: keys,
                    environment: environment,
                    arguments: arguments,
                    fileSizeLimitKB: fileSizeLimitKB,
                    openFilesLimit: openFilesLimit
                )
            } catch let error as StartFailure where port == nil && error.addressInUse {
                lastError = error  // the free port was taken in between: try another
            }
        }
        throw lastError ?? EndToEndError("The server did not start.")
    }

    private struct StartFailure: Error, CustomStringConvertible {
        let description: String
        /// The port was taken between its choice and the server's bind: `serve` says so in its own words (since
        /// `4ac7f1b`, which left this retry matching NIO's words only, so a lost race failed the test).
        var addressInUse: Bool {
            description.contains("another process is listening there") || description.contains("Address already in use")
        }
    }

    private init(
        binary: String,
        store: TestStore,
        databaseURL: String?,
        folder: URL,
        port: Int,
        keys: Keys,
        environment: [String: String],
        arguments: [String],
        fileSizeLimitKB: Int? = nil,
        openFilesLimit: Int? = nil
    ) async throws {
        let db = folder.appendingPathComponent("payments.sqlite")
        let logURL = folder.appendingPathComponent("server-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        defer { try? log.close() }
        // On PostgreSQL no `--db` (a command refuses one beside PAYMENTS_DATABASE_URL): the card network's ledger is
        // named instead, where `--db` would have put it
        let serveArguments =
            ["serve"] + (databaseURL == nil ? ["--db", db.path] : [])
            + ["--host", "127.0.0.1", "--port", String(port)] + arguments
        // An empty key is left unset: the config file's (the development key) applies
        var settings: [String: String] = [:]
        if !keys.secret.isEmpty { settings["PAYMENTS_SECRET_KEY"] = keys.secret }
        if !keys.publishable.isEmpty { settings["PAYMENTS_PUBLISHABLE_KEY"] = keys.publishable }
        if let databaseURL {
            settings["PAYMENTS_DATABASE_URL"] = databaseURL
            settings["PAYMENTS_NETWORK_LEDGER"] = folder.appendingPathComponent("card-network.sqlite").path
        }
        settings.merge(environment) { _, new in new }
        // With a file size limit, through the shell's `ulimit -S -f` (which `exec` keeps for the server): no file of
        // the server's may grow past it, as on a full disk; the soft limit only, so that a test may free the space
        // (`prlimit --pid`, without privileges). With an open files limit, `ulimit -n` (soft and hard)
        let limits =
            (fileSizeLimitKB.map { ["ulimit -S -f \($0)"] } ?? [])
            + (openFilesLimit.map { ["ulimit -n \($0)"] } ?? [])
        let process = ChildProcess(
            executableURL: URL(fileURLWithPath: limits.isEmpty ? binary : "/bin/bash"),
            arguments: limits.isEmpty
                ? serveArguments
                : ["-c", limits.joined(separator: " && ") + " && exec \"$0\" \"$@\"", binary] + serveArguments,
            environment: PaymentsBinary.environment(settings),
            currentDirectoryURL: TestPaths.root,
            output: log
        )
        try ChildRegistry.launch(process)
        ChildRegistry.add(process.processIdentifier)

        // Wait for the ready line; a child that dies first, or never prints it, fails the start.
        let deadline = ContinuousClock.now + .seconds(120)
        var listening: URL?
        while listening == nil {
            let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
            listening = Self.listeningURL(in: output)
            if listening != nil { break }
            if !process.isRunning {
                ChildRegistry.remove(process.processIdentifier)
                let termination = Termination(reason: process.terminationReason, status: process.terminationStatus)
                let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? output
                throw StartFailure(description: "payments serve ended (\(termination)) before listening:\n\(output)")
            }
            if ContinuousClock.now > deadline {
                Foundation.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                ChildRegistry.remove(process.processIdentifier)
                throw EndToEndError("payments serve printed no listening line within 120 s:\n\(output)")
            }
            try? await Task.sleep(for: .milliseconds(25))
        }
        self.folder = folder
        self.db = db
        self.store = store
        self.databaseURL = databaseURL
        self.secretKey = keys.secret
        self.publishableKey = keys.publishable
        self.baseURL = listening!
        self.port = listening!.port ?? port
        self.logURL = logURL
        self.process = process
    }

    deinit { kill() }

    /// The server's `Keys`, to restart it with the same ones.
    var keys: Keys { Keys(secret: secretKey, publishable: publishableKey) }

    var client: HTTPClient { HTTPClient(baseURL: baseURL) }
    var secret: Credential { .bearer(secretKey) }
    var publishable: Credential { .bearer(publishableKey) }

    var isRunning: Bool { process.isRunning }

    /// The environment of a one-shot command (`recharge`, `sweep`, `report`) on this server's data:
    /// ``PaymentsBinary/environment(_:)`` with `extra` and, on PostgreSQL, its `PAYMENTS_DATABASE_URL` and its card
    /// network ledger. With ``databaseArguments`` the command's database and ledger are the server's.
    func commandEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var settings: [String: String] = [:]
        if let databaseURL {
            settings["PAYMENTS_DATABASE_URL"] = databaseURL
            settings["PAYMENTS_NETWORK_LEDGER"] = folder.appendingPathComponent("card-network.sqlite").path
        }
        settings.merge(extra) { _, new in new }
        return PaymentsBinary.environment(settings)
    }

    /// The arguments that name this server's database to a command run with ``commandEnvironment(_:)``: `--db` ``db``
    /// on SQLite, none on PostgreSQL (its URL is in the environment, and a command refuses a `--db` beside it).
    var databaseArguments: [String] { databaseURL == nil ? ["--db", db.path] : [] }

    /// Runs `sql` on the server's database, whichever the store (see ``Ledgers/query(_:_:)``).
    func query(_ sql: String, _ arguments: [String] = []) async throws -> [[String]] {
        try await Ledgers(folder: folder).query(sql, arguments)
    }

    /// What the server printed, for failure messages.
    var output: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The server's output, labelled, for a failing expectation's comment.
    var diagnostics: String { "server \(baseURL) output (\(logURL.path)):\n\(output.suffix(8000))" }

    /// Sends `signal` and waits up to `timeout` for the process to end; kills it if it is still running then.
    /// - Returns: how it ended, or nil when it outlived the timeout (and was then killed).
    func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(10)) async -> Termination? {
        guard process.isRunning else { return reap() }
        Foundation.kill(process.processIdentifier, signal)
        return await waitForExit(timeout: timeout)
    }

    /// Sends `signal` the moment `condition` holds, checked every 5 ms on a thread of its own (at most `timeout`).
    /// Not from a task: a full run's tests block the cooperative pool's two threads for seconds at a time, and a
    /// task's poll (or a fixed sleep before the signal) then lands late, after what the signal was meant to catch.
    /// - Returns: when the signal was sent.
    /// - Throws: when `condition` did not hold within `timeout` (nothing is sent then), or threw.
    func send(_ signal: Int32, when condition: @escaping @Sendable () throws -> Bool, timeout: Duration = .seconds(30))
        async throws -> ContinuousClock.Instant
    {
        let pid = process.processIdentifier
        return try await offCooperativePool {
            let deadline = ContinuousClock.now + timeout
            while try !condition() {
                guard ContinuousClock.now < deadline else {
                    throw EndToEndError("the condition for signal \(signal) did not hold within \(timeout)")
                }
                usleep(5_000)
            }
            Foundation.kill(pid, signal)
            return ContinuousClock.now
        }
    }

    /// Waits up to `timeout` for the process to end (a signal was sent); kills it if it is still running then.
    /// - Returns: how it ended, or nil when it outlived the timeout (and was then killed).
    func waitForExit(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(25))
        }
        if process.isRunning {
            kill()
            return nil
        }
        return reap()
    }

    /// Deletes the folder (database, ledger, logs) once the server has stopped; a failing test keeps it for a look.
    func removeFiles() {
        guard !process.isRunning else { return }
        if let database = store.database(in: folder) {
            // psql blocks: on a thread of its own, not the cooperative pool's (see `offCooperativePool`); the
            // cluster goes at exit anyway.
            Thread {
                _ = try? SharedPostgres.cluster()
                    .psql(database: "postgres", "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
            }.start()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Kills the child at once (SIGKILL) if it still runs, and reaps it.
    func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        _ = reap()
    }

    private func reap() -> Termination {
        process.waitUntilExit()
        reaped.withLock { done in
            if !done { ChildRegistry.remove(process.processIdentifier) }
            done = true
        }
        return Termination(reason: process.terminationReason, status: process.terminationStatus)
    }

    /// The URL in "payments listening on http://HOST:PORT ...".
    static func listeningURL(in output: String) -> URL? {
        for line in output.split(separator: "\n") {
            guard let range = line.range(of: "payments listening on ") else { continue }
            let address = line[range.upperBound...].prefix { !$0.isWhitespace }
            if let url = URL(string: String(address)), url.port != nil { return url }
        }
        return nil
    }

    /// A port nobody listens on right now (bound to 0 by the kernel, then released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw EndToEndError("socket() failed: \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else { throw EndToEndError("bind() failed: \(errno)") }
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw EndToEndError("getsockname() failed: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Runs `body` against a fresh server and always stops the server afterwards; when `body` throws, the server's
/// output is recorded with the failure.
func withServer<T>(
    store: TestStore = .sqlite,
    port: Int? = nil,
    environment: [String: String] = [:],
    _ body: (ServerProcess) async throws -> T
) async throws -> T {
    let server = try await ServerProcess.start(store: store, port: port, environment: environment)
    defer { server.kill() }
    let result: T
    do {
        result = try await body(server)
    } catch {
        throw EndToEndError("\(error)\n\(server.diagnostics)")
    }
    server.kill()
    server.removeFiles()
    return result
}
