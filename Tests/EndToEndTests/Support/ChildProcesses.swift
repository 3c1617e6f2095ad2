import Foundation
import Synchronization
import TestSupport

/// Every child process the tests started and have not reaped yet. When the test runner exits (normally or
/// through `exit`), whatever is left is killed, so no server outlives the run.
enum ChildRegistry {
    private static let pids = Mutex<Set<Int32>>([])
    private static let installOnce: Void = {
        atexit { ChildRegistry.killAll() }
    }()

    /// Starts one child at a time (spawning is cheap; it keeps the registry and the spawn in step).
    private static let launching = Mutex(())

    /// Starts `process` and registers it to be killed when the run ends.
    static func launch(_ process: ChildProcess) throws {
        try launching.withLock { _ in
            try process.run()
            add(process.processIdentifier)
        }
    }

    static func add(_ pid: Int32) {
        _ = installOnce
        pids.withLock { _ = $0.insert(pid) }
    }

    static func remove(_ pid: Int32) {
        pids.withLock { _ = $0.remove(pid) }
    }

    static func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}

/// How a child process ended.
struct Termination: Sendable, Equatable, CustomStringConvertible {
    let reason: Process.TerminationReason
    let status: Int32

    var isCleanExit: Bool { reason == .exit && status == 0 }

    var description: String { reason == .exit ? "exit status \(status)" : "killed by signal \(status)" }
}

/// The `payments` binary, checked before use: tests fail (never skip) when it was not built.
enum PaymentsBinary {
    static func path() throws -> String {
        let path = TestPaths.binary
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw EndToEndError(
                """
                The payments binary is missing at \(path). The end-to-end tests run the built executable: \
                run `swift build --build-tests` before `swift test --skip-build` (scripts/test does both), \
                or point PAYMENTS_BINARY at a built binary.
                """
            )
        }
        return path
    }

    /// The idempotency lease and network timeout every child runs with unless a test says otherwise: short, so
    /// that a retry after a SIGKILL takes the dead holder's key over within 3 s instead of the default 6 s.
    static let shortLeases = ["PAYMENTS_IDEMPOTENCY_LEASE": "3", "PAYMENTS_NETWORK_TIMEOUT": "2"]

    /// The environment a child gets: this process's, without any `PAYMENTS_*` setting that would leak in from
    /// the developer's shell, plus ``shortLeases``, plus `extra`.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PAYMENTS_") }
        environment.merge(shortLeases) { _, new in new }
        environment.merge(extra) { _, new in new }
        return environment
    }
}

/// Runs a command to completion with its output (stdout and stderr together) in a file, and kills it if it
/// outlives `timeout` (a guard against hanging, not a measurement). With `output` the command writes there instead
/// (a pipe whose reader is gone, `/dev/full`), and the output returned is empty.
func runToCompletion(
    _ executable: String,
    _ arguments: [String],
    environment: [String: String],
    in folder: URL,
    output: FileHandle? = nil,
    timeout: Duration = .seconds(300)
) async throws -> (termination: Termination, output: String) {
    let logURL = folder.appendingPathComponent("run-\(UUID().uuidString.prefix(8)).log")
    _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
    let log = try FileHandle(forWritingTo: logURL)
    defer { try? log.close() }
    let process = ChildProcess(
        executableURL: URL(fileURLWithPath: executable),
        arguments: arguments,
        environment: environment,
        currentDirectoryURL: TestPaths.root,
        output: output ?? log
    )
    try ChildRegistry.launch(process)
    let pid = process.processIdentifier
    ChildRegistry.add(pid)
    defer {
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
        ChildRegistry.remove(pid)
    }
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(50))
    }
    let output = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
    if process.isRunning {
        throw EndToEndError(
            "`\(executable) \(arguments.joined(separator: " "))` still ran after \(timeout):\n\(output)"
        )
    }
    return (Termination(reason: process.terminationReason, status: process.terminationStatus), output)
}

extension Ledgers {
    /// Starts `payments` with `arguments` (a `recharge` run slowed by a network latency in `environment`), waits
    /// until the card network approved a quarter of `rows` more than `approvedBefore` (checked every 20 ms, at most
    /// 60 s, or until the run ends), then kills it with SIGKILL (or `signal`, `twice` 300 ms apart).
    /// - Returns: how the run ended, and how many attempts the network approved in it.
    func recharge(
        killedPartWay arguments: [String],
        environment: [String: String],
        rows: Int,
        approvedBefore: Int,
        signal: Int32 = SIGKILL,
        twice: Bool = false
    ) async throws -> (termination: Process.TerminationReason, status: Int32, charged: Int) {
        // With `twice`, its output, read for the first signal's answer before the second is sent: two signals sent
        // before the first was taken are one for the kernel (a signal does not queue)
        let log = try TestPaths.temporaryFolder("recharge-signals").appendingPathComponent("output.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = twice ? try FileHandle(forWritingTo: log) : nil
        defer { try? output?.close() }
        let process = ChildProcess(
            executableURL: URL(fileURLWithPath: try PaymentsBinary.path()),
            arguments: arguments,
            environment: environment,
            currentDirectoryURL: TestPaths.root,
            output: output
        )
        try ChildRegistry.launch(process)
        ChildRegistry.add(process.processIdentifier)
        // Watched from a thread of its own, not a task: a full run's tests block the cooperative pool's two threads
        // for seconds at a time, and a task's poll then came too late, after the whole run had finished.
        let (ledgers, pid) = (self, process.processIdentifier)
        try await offCooperativePool {
            var approved = approvedBefore
            let deadline = ContinuousClock.now + .seconds(60)
            while approved < approvedBefore + rows / 4, ContinuousClock.now < deadline, process.isRunning {
                usleep(20_000)
                approved = try ledgers.networkApprovedAttempts().count
            }
            kill(pid, signal)
            if twice {
                // The operator presses Ctrl-C (or Ctrl-Z) again, once the run said it stops
                let answered = ContinuousClock.now + .seconds(30)
                while ContinuousClock.now < answered,
                    (try? String(contentsOf: log, encoding: .utf8))?.contains("starting no more rows") != true
                {
                    usleep(20_000)
                }
                kill(pid, signal)
            }
        }
        process.waitUntilExit()
        ChildRegistry.remove(process.processIdentifier)
        let charged = try networkApprovedAttempts().count - approvedBefore
        return (process.terminationReason, process.terminationStatus, charged)
    }
}
