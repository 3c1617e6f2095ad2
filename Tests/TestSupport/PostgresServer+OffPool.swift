import Dispatch
import Foundation

/// Runs `work`, which blocks (a child process, a file scan, a lock held for seconds), on a thread of its own and
/// awaits it: Swift's cooperative pool has one thread per core (two here), and the tests' servers, clients and every
/// other running test share them, so a test that blocks one for seconds (initdb and pg_ctl take 3 to 7 s) stalls the
/// whole test process.
///
/// Not `DispatchQueue.global()`: on Linux the cooperative pool's jobs run on that same root queue's threads, so work
/// blocking there held every test's card network calls back past their 10 s limit (`gdb` of a full run).
public func offCooperativePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
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
