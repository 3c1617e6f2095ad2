import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL cluster for tests: `initdb` in a new temporary folder, a server on a free loopback port,
/// stopped (`pg_ctl stop -m immediate`) and its folder removed by ``stop()``.
///
/// Nothing is assumed to be running: the binaries come from Debian's `postgresql` package (the newest
/// `/usr/lib/postgresql/*/bin`, or `PAYMENTS_POSTGRES_BIN`), which `scripts/test` installs when missing. `initdb`
/// refuses to run as root, so when the tests run as root the cluster belongs to the `postgres` user the package
/// creates and its commands run through `runuser`.
///
/// The server listens on 127.0.0.1 only, its unix socket in the temporary folder. TCP logins need the superuser's
/// password (scram-sha-256, a random one per cluster), so tests connect with a full `postgres://` URL; the unix
/// socket trusts local users, for `createdb`. TLS is on, with a self-signed certificate made by `openssl` (so
/// `sslmode=require` connects and `verify-full` is refused); the URLs ``url(database:)`` gives turn it off. Durability
/// is off (`fsync=off`, `full_page_writes=off`,
/// `synchronous_commit=off`): the cluster lives as long as one test run and is never recovered after a crash.
public final class PostgresServer: Sendable {
    /// The superuser `initdb` creates.
    public static let user = "postgres"

    /// The temporary folder: the cluster (`data/`), its log (`server.log`) and its unix socket.
    public let folder: URL
    /// The TCP port on 127.0.0.1.
    public let port: Int
    /// The superuser's password.
    public let password: String
    /// The folder holding `initdb`, `pg_ctl`, `createdb`.
    public let binaries: String

    /// Errors starting the cluster.
    public enum StartError: Error, CustomStringConvertible {
        case binariesMissing
        case commandFailed(String, status: Int32, output: String)

        public var description: String {
            switch self {
            case .binariesMissing:
                "No PostgreSQL binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin, PAYMENTS_POSTGRES_BIN or "
                    + "PATH: install Debian's postgresql package (scripts/test does, as root)."
            case .commandFailed(let command, let status, let output):
                "\(command) exited with \(status): \(output)"
            }
        }
    }

    /// The most connections the server accepts (`max_connections`).
    let maxConnections: Int

    private init(folder: URL, port: Int, password: String, binaries: String, maxConnections: Int) {
        self.folder = folder
        self.port = port
        self.password = password
        self.binaries = binaries
        self.maxConnections = maxConnections
    }

    /// Creates a cluster and starts its server, ready for connections.
    ///
    /// - Parameter maxConnections: PostgreSQL's `max_connections`; more than the default 100 when many servers
    ///   (each with its own pool) share the cluster, as the end-to-end tests' shared cluster does.
    public static func start(maxConnections: Int = 100) throws -> PostgresServer {
        let binaries = try findBinaries()
        let folder = try TestPaths.temporaryFolder("payments-postgres")
        do {
            let password = UUID().uuidString
            try Data(password.utf8).write(to: folder.appendingPathComponent("password"))
            // A self-signed certificate, so that tests can connect with TLS too (sslmode=require).
            try run(
                "/usr/bin/openssl",
                [
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", folder.appendingPathComponent("server.key").path,
                    "-out", folder.appendingPathComponent("server.crt").path,
                ],
                asClusterOwner: false
            )
            try FileManager.default.setAttributes(
                [.posixPermissions: 0o600],
                ofItemAtPath: folder.appendingPathComponent("server.key").path
            )
            try handOver(folder)
            try run(
                binaries + "/initdb",
                [
                    "--pgdata=" + folder.appendingPathComponent("data").path, "--username=" + user,
                    "--pwfile=" + folder.appendingPathComponent("password").path, "--auth-local=trust",
                    "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
                    "--no-instructions",
                ],
                asClusterOwner: true
            )
            // A port found free can be taken before the server binds it: try a few.
            var lastError: (any Error)?
            for _ in 0..<3 {
                let port = try freePort()
                let server = PostgresServer(
                    folder: folder,
                    port: port,
                    password: password,
                    binaries: binaries,
                    maxConnections: maxConnections
                )
                do {
                    try server.startServer()
                    return server
                } catch {
                    lastError = error
                }
            }
            throw lastError ?? StartError.binariesMissing
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
    }

    /// Creates a new empty database and returns its name.
    public func createDatabase() throws -> String {
        let name = "test_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        try Self.run(
            binaries + "/createdb",
            ["--host=" + folder.path, "--port=\(port)", "--username=" + Self.user, name],
            asClusterOwner: false
        )
        return name
    }

    /// The URL of `database` over TCP, with the superuser's password and TLS off.
    public func url(database: String) -> String {
        "postgres://\(Self.user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Runs `sql` with `psql` on `database` (over the unix socket) and returns what it prints: unaligned, tuples
    /// only (`-tA`), one row a line, columns separated by `|`. For tests that read the tables as an admin would.
    public func psql(database: String, _ sql: String) throws -> String {
        try Self.run(
            binaries + "/psql",
            [
                "--host=" + folder.path, "--port=\(port)", "--username=" + Self.user, "--dbname=" + database,
                "--no-psqlrc", "--tuples-only", "--no-align", "--set=ON_ERROR_STOP=1", "--command=" + sql,
            ],
            asClusterOwner: false
        )
        .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Stops the server at once (no shutdown checkpoint: the data is thrown away) and removes the folder.
    public func stop() {
        _ = try? Self.run(
            binaries + "/pg_ctl",
            ["stop", "--pgdata=" + folder.appendingPathComponent("data").path, "--mode=immediate", "--wait"],
            asClusterOwner: true
        )
        try? FileManager.default.removeItem(at: folder)
    }

    // MARK: - Starting

    /// `pg_ctl start --wait`: returns once the server accepts connections.
    private func startServer() throws {
        let options = [
            "-c listen_addresses=127.0.0.1", "-c port=\(port)", "-c unix_socket_directories=\(folder.path)",
            "-c max_connections=\(maxConnections)", "-c fsync=off", "-c full_page_writes=off",
            "-c synchronous_commit=off", "-c ssl=on",
            "-c ssl_cert_file=\(folder.appendingPathComponent("server.crt").path)",
            "-c ssl_key_file=\(folder.appendingPathComponent("server.key").path)",
        ]
        try Self.run(
            binaries + "/pg_ctl",
            [
                "start", "--pgdata=" + folder.appendingPathComponent("data").path,
                "--log=" + folder.appendingPathComponent("server.log").path, "--wait", "--timeout=30",
                "--options=" + options.joined(separator: " "),
            ],
            asClusterOwner: true
        )
    }

    /// The newest `/usr/lib/postgresql/N/bin` with `initdb`, `PAYMENTS_POSTGRES_BIN`, or the folder of `initdb` on
    /// `PATH`.
    static func findBinaries() throws -> String {
        let manager = FileManager.default
        if let bin = ProcessInfo.processInfo.environment["PAYMENTS_POSTGRES_BIN"] {
            guard manager.isExecutableFile(atPath: bin + "/initdb") else { throw StartError.binariesMissing }
            return bin
        }
        let versions = (try? manager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.compactMap(Int.init).sorted(by: >) {
            let bin = "/usr/lib/postgresql/\(version)/bin"
            if manager.isExecutableFile(atPath: bin + "/initdb") { return bin }
        }
        for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            if manager.isExecutableFile(atPath: "\(folder)/initdb")
                && manager.isExecutableFile(atPath: "\(folder)/pg_ctl")
            {
                return String(folder)
            }
        }
        throw StartError.binariesMissing
    }

    /// Whether the tests run as root, when the cluster must belong to another user.
    static var runningAsRoot: Bool { geteuid() == 0 }

    /// Gives `folder` (and the files in it) to the `postgres` user when running as root.
    static func handOver(_ folder: URL) throws {
        guard runningAsRoot else { return }
        guard let entry = getpwnam(user) else {
            throw StartError.commandFailed("getpwnam(postgres)", status: -1, output: "no postgres user")
        }
        let owner: [FileAttributeKey: Any] = [
            .ownerAccountID: NSNumber(value: entry.pointee.pw_uid),
            .groupOwnerAccountID: NSNumber(value: entry.pointee.pw_gid),
        ]
        try FileManager.default.setAttributes(owner, ofItemAtPath: folder.path)
        for file in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
            try FileManager.default.setAttributes(owner, ofItemAtPath: folder.appendingPathComponent(file).path)
        }
    }

    /// Runs `executable` to its end, as the cluster's owner when asked and running as root.
    ///
    /// Through `posix_spawn` and `waitpid`, like the end-to-end tests' `ChildProcess` (Foundation's `Process` did not
    /// reap these children here when two suites started clusters at once). The output goes to a file opened
    /// close-on-exec, not a pipe: a server that pg_ctl starts could otherwise inherit another command's pipe and
    /// keep it open as long as it runs.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], asClusterOwner: Bool) throws -> String {
        // `env -C /`: a working directory every user can enter (runuser keeps ours, which postgres may not read).
        var command = ["/usr/bin/env", "-C", "/"]
        if asClusterOwner && runningAsRoot { command += ["/usr/sbin/runuser", "-u", user, "--"] }
        command += [executable] + arguments
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("payments-postgres-command-\(UUID().uuidString).log").path
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw StartError.commandFailed("open \(outputPath)", status: errno, output: "") }
        defer {
            close(output)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        let name = URL(fileURLWithPath: executable).lastPathComponent
        guard spawned == 0 else { throw StartError.commandFailed(name, status: spawned, output: "posix_spawn failed") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw StartError.commandFailed(name, status: errno, output: "waitpid failed") }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        // Exited normally with status 0: the low 7 bits (the signal) are 0 and the exit code is 0.
        guard status == 0 else { throw StartError.commandFailed(name, status: status, output: text) }
        return text
    }

    /// A TCP port nothing listens on now, on 127.0.0.1.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw StartError.commandFailed("socket", status: errno, output: "") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(descriptor, generic, length) == 0 && getsockname(descriptor, generic, &length) == 0
            }
        }
        guard bound else { throw StartError.commandFailed("bind", status: errno, output: "") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
