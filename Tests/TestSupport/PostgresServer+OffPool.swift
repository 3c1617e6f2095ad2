import Dispatch
import Foundation

/// Runs `work`, which blocks (a child process, a file scan), on a dispatch thread and awaits it: Swift's cooperative
/// pool has one thread per core (two here), and the tests' servers, clients and every other running test share them,
/// so a test that blocks one for seconds (initdb and pg_ctl take 3 to 7 s) stalls the whole test process.
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

extension PostgresServer {
    /// ``start(maxConnections:)`` off the cooperative pool.
    public static func started(maxConnections: Int = 100) async throws -> PostgresServer {
        try await offCooperativePool { try start(maxConnections: maxConnections) }
    }

    /// ``createDatabase()`` off the cooperative pool.
    public func newDatabase() async throws -> String {
        try await offCooperativePool { try self.createDatabase() }
    }

    /// ``stop()`` off the cooperative pool.
    public func stopped() async {
        _ = try? await offCooperativePool { self.stop() }
    }
}
