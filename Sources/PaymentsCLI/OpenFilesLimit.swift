#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's limit of open files, and the connections the server may hold within it.
///
/// Every connection is an open file. At the limit, `accept` fails with `EMFILE`, and SwiftNIO's listener tried
/// again at once, for ever: a probe holding 300 connections to a server limited to 256 files saw 13,000 failed
/// `accept` calls a second on the event loop (a core's worth of CPU), and `/health` unanswered, until idle
/// connections timed out. So `serve` raises its soft limit to the hard one (as Go's runtime does; systemd's default
/// soft limit is 1,024), and stops accepting before the limit (Hummingbird's `availableConnectionsDelegate`):
/// connections past it wait in the listen backlog, not spinning, until one closes. The files the service itself opens
/// (databases, their logs, the reader connections, a PostgreSQL pool, log files) keep a reserve.
enum OpenFilesLimit {
    /// The soft limit after raising it to the hard limit (where the system allows), or nil when it cannot be read.
    static func raise() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        // RLIM_INFINITY is all ones
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }

    /// The connections to hold at once under a limit of `files` open files: all but a reserve for the service's own
    /// files (256, or half a smaller limit).
    static func connections(files: Int) -> Int {
        max(1, files - min(256, files / 2))
    }
}
