import Synchronization

/// The actions one attempt at a transaction registered to run after it commits, or if it rolls back.
///
/// Each attempt of ``PostgresPaymentStore/write(_:)`` has its own: an attempt that PostgreSQL refused (a
/// serialization failure or a deadlock) rolled back, so its rollback actions run (undoing in-memory state its body
/// changed, as the attempt registry's claims) and its commit actions are dropped, before the body runs again with
/// fresh hooks.
final class PostgresTransactionHooks: Sendable {
    private let actions = Mutex<(commit: [@Sendable () -> Void], rollback: [@Sendable () -> Void])>(([], []))

    func add(afterCommit action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.commit.append(action) }
    }

    func add(onRollback action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.rollback.append(action) }
    }

    /// The attempt committed: runs the commit actions, in the order they were added, and drops the others.
    func committed() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.commit
        }
        for action in run { action() }
    }

    /// The attempt rolled back: runs the rollback actions, last added first, and drops the others.
    func rolledBack() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.rollback
        }
        for action in run.reversed() { action() }
    }
}
