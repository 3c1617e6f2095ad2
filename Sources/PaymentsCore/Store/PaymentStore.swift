/// Where the service keeps its state: the interface the use cases call, whatever the database behind it.
///
/// Every unit of work is one transaction: ``write(_:)`` runs its body in a write transaction that commits as a
/// whole or not at all (and returns only once the commit is durable); ``read(_:)`` runs its body on a consistent
/// snapshot that never waits for writers. The SQLite store (`PaymentDatabase`) is the embedded default; a second
/// store implements the same interface and runs the same conformance suite.
public protocol PaymentStore: Sendable {
    /// Runs `body` in one write transaction; its ``StoreTransaction/afterCommit(_:)`` actions run once the commit
    /// is durable, its ``StoreTransaction/onRollback(_:)`` actions when it throws.
    ///
    /// `body` may run more than once: a store may roll a run back and run it again from the start (PostgreSQL
    /// when it refuses a transaction as conflicting, SQLite's group commit when a write sharing the transaction
    /// throws). A run rolled back has its onRollback actions run and its afterCommit actions dropped, and only the
    /// last run's result counts, so a body's only effects outside the transaction are those actions.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T

    /// Runs `body` on a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreTransaction) throws -> T) async throws -> T
}
