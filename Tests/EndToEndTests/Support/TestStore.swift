import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The store a test's server runs on: the embedded SQLite file, or a fresh database on the test process's one
/// throwaway PostgreSQL cluster (``SharedPostgres``). Suites that should hold on both take it as an argument
/// (`arguments: TestStore.allCases`) and pass it to ``ServerProcess/start(store:folder:port:keys:environment:arguments:)``.
enum TestStore: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The file in a server's folder that names its PostgreSQL database: a restart on the same folder finds the
    /// same database, as a restart on SQLite finds the same `payments.sqlite`.
    static let databaseNameFile = "postgres-database"

    /// The PostgreSQL database named in `folder`; nil on SQLite or when none is named.
    func database(in folder: URL) -> String? {
        guard self == .postgres else { return nil }
        return try? String(contentsOf: folder.appendingPathComponent(Self.databaseNameFile), encoding: .utf8)
    }

    /// The URL of the PostgreSQL database of the data in `folder`: the one named there, or a new one named there
    /// now. Nil on SQLite. The cluster's start and `createdb` block, so they run off the tests' cooperative
    /// threads (two on this machine): a test waiting for them must not stall the timing of the others.
    func databaseURL(in folder: URL) async throws -> String? {
        guard self == .postgres else { return nil }
        let cluster = try await offCooperativePool { try SharedPostgres.cluster() }
        if let name = database(in: folder) { return cluster.url(database: name) }
        let name = try await offCooperativePool { try cluster.createDatabase() }
        try Data(name.utf8).write(to: folder.appendingPathComponent(Self.databaseNameFile))
        return cluster.url(database: name)
    }

    /// The store whose data is in `folder`: PostgreSQL when the folder names a database.
    static func of(folder: URL) -> TestStore {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(databaseNameFile).path)
            ? .postgres : .sqlite
    }
}

/// One throwaway PostgreSQL cluster for the whole test process: started on first use, each server on it gets a
/// fresh database, and it is stopped (its folder removed) when the process exits.
enum SharedPostgres {
    /// Servers of many parallel tests share it, each with a pool of `databasePoolSize` (8) connections.
    static let maxConnections = 400

    private static let started: Result<PostgresServer, any Error> = {
        let result = Result { try PostgresServer.start(maxConnections: maxConnections) }
        if case .success = result {
            atexit { SharedPostgres.stopAtExit() }
        }
        return result
    }()

    /// The cluster, started now when this is the first use.
    static func cluster() throws -> PostgresServer {
        try started.get()
    }

    private static func stopAtExit() {
        if case .success(let cluster) = started { cluster.stop() }
    }
}
