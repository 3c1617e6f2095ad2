import ArgumentParser

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The commands' results on standard output, written with `write(2)`.
///
/// Foundation's `FileHandle.write(_:)` traps on any error (a `try!` inside it). `payments report … | head` trapped
/// on PostgreSQL, where SwiftNIO ignores SIGPIPE for the whole process so that the write fails with `EPIPE` instead
/// of ending it, and `report … > /dev/full` trapped on either store, with a backtrace. Here a reader that stops early
/// ends the command as it ends any filter, by SIGPIPE (exit status 141 in a shell, on both stores), and any other
/// failure is said in words, exit status 1.
enum StandardOutput {
    /// Writes `text` whole.
    /// - Throws: `ExitCode.failure` after saying on standard error why `command` could not write it (a full disk).
    static func write(_ text: String, command: String) throws(ExitCode) {
        let failure = writeAll(text)
        guard failure != 0 else { return }
        if failure == EPIPE {
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
        }
        let reason = String(cString: strerror(failure))
        // Not through FileHandle either: standard error may be the same full disk
        writeAll("payments \(command): cannot write to standard output: \(reason).\n", to: STDERR_FILENO)
        throw ExitCode.failure
    }

    /// Writes `text` whole, or as much as `descriptor` (standard output unless named) takes.
    /// - Returns: 0, or the `errno` of the write that failed.
    @discardableResult
    static func writeAll(_ text: String, to descriptor: Int32 = STDOUT_FILENO) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written >= 0 {
                    offset += written
                } else if errno != EINTR {
                    return errno
                }
            }
            return 0
        }
    }
}

/// `write(2)`, under a name the enum's own `write` does not hide.
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
        Glibc.write(descriptor, bytes, count)
    #else
        Darwin.write(descriptor, bytes, count)
    #endif
}
