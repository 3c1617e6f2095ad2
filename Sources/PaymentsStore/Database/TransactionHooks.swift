import Synchronization

/// The actions one write transaction registered to run after it commits, or if it rolls back.
///
/// A closure passed to ``PaymentDatabase/write(_:)`` may run inside a shared transaction (group commit), where
/// GRDB's own transaction observers see only the outer commit; these hooks follow the write itself: its savepoint
/// rolled back, its batch rolled back to run again, or the shared commit failed, means rolled back.
final class TransactionHooks: Sendable {
    private let actions = Mutex<(commit: [@Sendable () -> Void], rollback: [@Sendable () -> Void])>(([], []))

    func add(afterCommit action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.commit.append(action) }
    }

    func add(onRollback action: @escaping @Sendable () -> Void) {
        actions.withLock { $0.rollback.append(action) }
    }

    /// The write committed: runs the commit actions, in the order they were added.
    func committed() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.commit
        }
        for action in run { action() }
    }

    /// The write rolled back: runs the rollback actions, last added first.
    func rolledBack() {
        let run = actions.withLock { actions in
            defer { actions = ([], []) }
            return actions.rollback
        }
        for action in run.reversed() { action() }
    }
}
