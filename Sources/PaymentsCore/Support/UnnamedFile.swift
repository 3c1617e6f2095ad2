#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A file made without a name in a folder (Linux's `O_TMPFILE`) and named only once it is complete: a process
/// killed while writing it (SIGKILL, a power cut) leaves nothing behind, where a file written under a temporary name
/// stayed there, as large as it had got.
public enum UnnamedFile {
    /// Linux's `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`, the same on x86-64 and arm64), which Swift's Glibc module
    /// does not import.
    static let flag: Int32 = 0o2000_0000 | O_DIRECTORY

    /// Opens a new file with no name in `folder` for writing, with `mode` (less the umask).
    /// - Returns: its descriptor, or nil when the system cannot make one there (a file system without unnamed files,
    ///   another system than Linux, no `/proc` to name it through later): the caller writes under a name instead.
    ///   A folder that cannot be written is nil as well; the caller's own open then says why.
    public static func open(inFolder folder: String, mode: mode_t = 0o666) -> Int32? {
        #if os(Linux)
            // It is named through /proc/self/fd (naming it by descriptor alone needs a privilege)
            guard access("/proc/self/fd", X_OK) == 0 else { return nil }
            let descriptor = Glibc.open(folder, O_WRONLY | flag | O_CLOEXEC, mode)
            return descriptor >= 0 ? descriptor : nil
        #else
            return nil
        #endif
    }

    /// Gives the unnamed file `descriptor` the name `path`, which must not exist (a link replaces nothing: rename
    /// the file over another afterwards).
    /// - Returns: 0, or the `errno` of the failure.
    public static func name(_ descriptor: Int32, as path: String) -> Int32 {
        linkat(AT_FDCWD, "/proc/self/fd/\(descriptor)", AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0 ? 0 : errno
    }
}
