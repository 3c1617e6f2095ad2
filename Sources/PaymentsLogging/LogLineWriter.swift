import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole log lines to a file descriptor: each line with one `write(2)` call, under a lock, so lines logged
/// at the same moment by many threads never interleave, and a reader of the pipe or file sees only whole lines.
///
/// A write the kernel takes only in part (a full pipe, a signal) is finished before the lock is released; a line
/// that cannot be written at all (a closed descriptor) is dropped, as logging must never stop the service.
public final class LogLineWriter: Sendable {
    private let descriptor: Mutex<Int32>

    /// Writes to `fileDescriptor`, which stays open for the writer's lifetime (the writer never closes it).
    public init(fileDescriptor: Int32) {
        self.descriptor = Mutex(fileDescriptor)
    }

    /// Standard error, where the service's logs go (standard output keeps the start-up lines scripts wait for).
    public static let standardError = LogLineWriter(fileDescriptor: 2)

    /// Writes `line` (which ends with its newline) whole.
    public func write(_ line: [UInt8]) {
        descriptor.withLock { fd in
            line.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                var written = 0
                while written < buffer.count {
                    #if canImport(Glibc)
                        let result = Glibc.write(fd, base + written, buffer.count - written)
                    #else
                        let result = Darwin.write(fd, base + written, buffer.count - written)
                    #endif
                    if result < 0 {
                        if errno == EINTR { continue }
                        return
                    }
                    written += result
                }
            }
        }
    }
}
