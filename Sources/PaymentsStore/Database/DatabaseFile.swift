import Foundation
import PaymentsCore

/// The SQLite file a ``PaymentDatabase`` opened, as the file system knows it (device and inode), so that a write
/// can first check the path still leads to it.
///
/// A file deleted or replaced under the running server (an operator's `rm`, a restore copied over it) stays open:
/// SQLite goes on writing to the unlinked file, which no restart will find, and each payment answered 200 from then
/// on was lost, its authorization approved at the card network. `/health/ready` already answered 503
/// `database_missing`; now every write is refused too (a 500 that says why, nothing written) until the server is
/// restarted on the right file. One `stat` per group commit, before its batch: a fraction of a microsecond a write.
final class DatabaseFile: Sendable {
    let path: String
    private let identity: Identity

    private struct Identity: Equatable {
        let device: UInt64
        let inode: UInt64
    }

    init(path: String) throws {
        self.path = path
        guard let identity = Self.identity(of: path) else {
            throw StoreError.unavailable("The database file \(path) cannot be read.")
        }
        self.identity = identity
    }

    /// Whether `path` still leads to the file opened: false once it was removed, moved, or replaced by another (a
    /// copy moved over it: a file is there, but not the one SQLite writes to).
    var isInPlace: Bool { Self.identity(of: path) == identity }

    /// Throws when `path` no longer leads to the file opened: removed, moved, or replaced by another.
    @Sendable func check() throws {
        guard isInPlace else {
            // Shown to the client as it is (it names no path): a 500 that says why, and that nothing was done
            throw PaymentError.apiError(
                "The service's database file was removed or replaced while it ran, so nothing was written and "
                    + "nothing was charged. Retry once it is back in place, or the service restarted on it."
            )
        }
    }

    private static func identity(of path: String) -> Identity? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
