import Foundation

/// The space left on the file system that holds a file: what `/health/ready` compares with `minimumFreeDisk`.
enum DiskSpace {
    /// Bytes this process may still write on the file system holding `path` (read at its folder, so a file not made
    /// yet counts too): the blocks free to unprivileged users, or every free block for root, which may use the ones
    /// the file system reserves. Nil when the folder cannot be read.
    static func available(beside path: String) -> Int64? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var info = statvfs()
        guard statvfs(folder, &info) == 0 else { return nil }
        let blocks = geteuid() == 0 ? info.f_bfree : info.f_bavail
        return Int64(clamping: blocks).multipliedReportingOverflow(by: Int64(clamping: info.f_frsize)).partialValue
    }
}
