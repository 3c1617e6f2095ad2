import Foundation

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
///
/// The reserve is at least the files open before the service opens its databases and those it opens after; half of
/// a small limit was not (a probe: at 40 files the server said 20 connections with some 30 files already open, and
/// spun; at 64, libdispatch, finding no file left, crashed the process). A limit that leaves fewer than
/// ``minimumConnections`` is refused at start.
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

    /// The files this process has open now (its entries in `/proc/self/fd`, less the one that lists them), or nil
    /// where that cannot be read.
    static func openNow() -> Int? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return nil }
        return max(0, entries.count - 1)
    }

    /// The files the service opens once it starts: the database's and the card network ledger's writers and
    /// checkpointers (their files, logs and shared memory: 16), each reader connection's database file and log, for
    /// the readers of both that open as reads need them (`readers` each), a PostgreSQL pool's sockets
    /// (`poolConnections`), and 32 for the rest (log files, event loops, timers, a sweep's files).
    static func headroom(readers: Int, poolConnections: Int) -> Int {
        16 + 2 * 2 * readers + poolConnections + 32
    }

    /// The fewest connections worth serving: a limit that leaves fewer is refused at start.
    static let minimumConnections = 16

    /// The connections to hold at once under a limit of `files` open files, with `inUse` open now and `headroom` to
    /// come: all but a reserve of 256, or half a smaller limit, and never less than what is open and to come. Zero or
    /// less when the limit leaves none.
    static func connections(files: Int, inUse: Int, headroom: Int) -> Int {
        files - max(min(256, files / 2), inUse + headroom)
    }
}
