import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, with the small part of `Foundation.Process`'s interface the tests
/// use.
///
/// Foundation's `Process.run()` crashed intermittently on Linux (a bad read in its spawn path) when many tests
/// started servers in parallel, even with the calls serialized; spawning directly avoids it. The child gets its
/// own working directory (through glibc's `posix_spawn_file_actions_addchdir_np`), its environment, standard
/// input from `/dev/null`, and standard output and error on the given file handles.
final class ChildProcess: Sendable {
    let executableURL: URL
    let arguments: [String]
    let environment: [String: String]
    let currentDirectoryURL: URL
    let output: FileHandle?
    private let state = Mutex<State>(State())

    private struct State {
        var pid: pid_t = 0
        /// The raw wait status once the child was reaped.
        var exitStatus: Int32?
    }

    init(
        executableURL: URL,
        arguments: [String],
        environment: [String: String],
        currentDirectoryURL: URL,
        output: FileHandle?
    ) {
        self.executableURL = executableURL
        self.arguments = arguments
        self.environment = environment
        self.currentDirectoryURL = currentDirectoryURL
        self.output = output
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which Swift's Glibc module does not export.
    private typealias AddChdir =
        @convention(c) (
            UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>
        ) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// Starts the child.
    func run() throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_adddup2(&actions, output.fileDescriptor, 1)
            posix_spawn_file_actions_adddup2(&actions, output.fileDescriptor, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        guard let addChdir = Self.addChdir else {
            throw EndToEndError("posix_spawn_file_actions_addchdir_np is missing from this libc")
        }
        let chdirResult = currentDirectoryURL.path.withCString { addChdir(&actions, $0) }
        guard chdirResult == 0 else { throw EndToEndError("addchdir failed: \(chdirResult)") }

        let argv = ([executableURL.path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executableURL.path, &actions, nil, argv, envp)
        guard result == 0 else {
            throw EndToEndError("posix_spawn \(executableURL.path) failed: \(String(cString: strerror(result)))")
        }
        state.withLock { $0.pid = pid }
    }

    var processIdentifier: Int32 { state.withLock { $0.pid } }

    /// Whether the child still runs (reaps it, without blocking, once it has ended).
    var isRunning: Bool {
        state.withLock { state in
            guard state.exitStatus == nil, state.pid > 0 else { return false }
            var status: Int32 = 0
            let reaped = waitpid(state.pid, &status, WNOHANG)
            if reaped == state.pid {
                state.exitStatus = status
                return false
            }
            return reaped == 0
        }
    }

    /// Waits until the child has ended.
    func waitUntilExit() {
        while isRunning { usleep(10_000) }
    }

    /// Whether the child exited or was killed by a signal.
    var terminationReason: Process.TerminationReason {
        let status = state.withLock { $0.exitStatus } ?? 0
        return (status & 0x7f) == 0 ? .exit : .uncaughtSignal
    }

    /// The exit status, or the signal that killed the child.
    var terminationStatus: Int32 {
        let status = state.withLock { $0.exitStatus } ?? 0
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : status & 0x7f
    }
}
