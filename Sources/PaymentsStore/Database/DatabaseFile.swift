import PaymentsCore
import PaymentsSQLite

/// The SQLite file a ``PaymentDatabase`` opened and its write-ahead log, as the file system knows them
/// (``SQLiteFiles``), so that a write can first check the paths still lead to them.
///
/// A file deleted or replaced under the running server (an operator's `rm`, a restore copied over it) stays open:
/// SQLite goes on writing to the unlinked file, which no restart will find, and each payment answered 200 from then
/// on was lost, its authorization approved at the card network. `/health/ready` answers 503 `database_missing` (or
/// `database_log_missing` for the log), and every write is refused too (a 500 that says why, nothing written) until
/// the server is restarted on the right files. Two `stat` calls per group commit, before its batch: about a
/// microsecond a batch.
///
/// A log found gone is first copied into the database file from the one the server still has open (``SQLiteFiles``).
final class DatabaseFile: Sendable {
    let path: String
    private let files: SQLiteFiles

    init(path: String, checkpointer: BackgroundCheckpointer) throws {
        self.path = path
        guard let files = SQLiteFiles(path: path, checkpointer: checkpointer) else {
            throw StoreError.unavailable("The database file \(path) cannot be read.")
        }
        self.files = files
    }

    /// Which file is no longer the one opened (a log found gone is being copied in), or nil.
    func displaced() -> SQLiteFiles.Displaced? { files.displaced() }

    /// Whether `path` still leads to the file opened: false once it was removed, moved, or replaced by another (a
    /// copy moved over it: a file is there, but not the one SQLite writes to).
    var isInPlace: Bool { displaced() != .database }

    /// Throws when the database file or its log is no longer the one opened: removed, moved, or replaced.
    @Sendable func check() throws {
        switch displaced() {
        case nil:
            return
        case .database:
            // A store's failure, not an answer: a payment whose last write this refuses has asked the card network
            // already, and is answered as one whose answer could not be recorded (it said "nothing was charged" of
            // a card the network had charged: a probe); any other request gets these words, with the advice of a
            // write that could not finish (``PaymentError/storeFailure(_:read:)``). They name no path.
            throw StoreError.fileDisplaced(
                "The service's database file was removed or replaced while it ran, so this request's change was not "
                    + "written. Put it back, or restart the service on it."
            )
        case .log:
            throw StoreError.fileDisplaced(
                "The service's database log (its -wal file) was removed or replaced while it ran, so this request's "
                    + "change was not written. Restart the service."
            )
        }
    }
}
