import Synchronization

/// The actions one write registered to run after it commits, or if it rolls back (``StoreTransaction/afterCommit(_:)``
/// and ``StoreTransaction/onRollback(_:)``), for a store to run when it knows which happened.
///
/// What "one write" is belongs to the store. On SQLite a closure passed to the store's `write` may run inside a shared
/// transaction (group commit), where GRDB's own transaction observers see only the outer commit; its hooks follow the
/// write itself: its savepoint rolled back, its batch rolled back to run again, or the shared commit failed, means
/// rolled back. On PostgreSQL each attempt at a transaction has its own: an attempt the server refused (a
/// serialization failure or a deadlock) rolled back, so its rollback actions run (undoing in-memory state its body
/// changed, as the attempt registry's claims) and its commit actions are dropped, before the body runs again with
/// fresh hooks.
public final class TransactionHooks: Sendable {
    private let actions = Mutex<(commit: [@Sendable () -> Void], rollback: [@Sendable () -> Void])>(([], []))

    /// Creates hooks with no actions.
    public init() {}

    /// Adds an action to run if the write commits.
    public func add(afterCommit action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.commit.append(action) }
    }

    /// Adds an action to run if the write rolls back.
    public func add(onRollback action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.rollback.append(action) }
    }

    /// The write committed: runs the commit actions, in the order they were added, and drops the others.
    public func committed() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.commit
        }
        for action in run { action() }
    }

    /// The write rolled back: runs the rollback actions, last added first, and drops the others.
    public func rolledBack() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.rollback
        }
        for action in run.reversed() { action() }
    }
}
