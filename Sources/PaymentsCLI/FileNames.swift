import Foundation

/// Telling two names of one file apart, for the commands' refusals (a recharge's output that is its input, a card
/// network ledger that is the database).
enum FileNames {
    /// Why a file could not be read or written, in words: the system's reason (`No such file or directory`) when
    /// Foundation's error carries one, rather than its `NSCocoaErrorDomain Code=4`.
    static func reason(_ error: any Error) -> String {
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? any Error
        if let posix = (underlying ?? error) as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
        return error.localizedDescription
    }

    /// Whether `first` and `second` name the same file: the same path once links and `.`/`..` are resolved (so a file
    /// not made yet is matched by its name), or, both existing, the same device and inode (a hard link).
    static func same(_ first: String, _ second: String) -> Bool {
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        }
        if resolved(first) == resolved(second) { return true }
        var one = stat()
        var other = stat()
        return stat(first, &one) == 0 && stat(second, &other) == 0 && one.st_dev == other.st_dev
            && one.st_ino == other.st_ino
    }
}
