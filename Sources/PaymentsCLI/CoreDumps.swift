#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// No core file of this process: its memory holds card numbers and CVCs while it reads a card, opens a sealed one
/// or charges it, and a core file is that memory on disk, in plain text.
///
/// A probe sent SIGABRT to a server that had inherited an unlimited core size (as a shell or a container often
/// gives), so a crash while a card was being parsed could have written its number to disk. Every command sets its
/// core file size limit, soft and hard, to 0 before anything else runs: the kernel then writes no core file, and
/// collectors that the kernel pipes the dump to read the limit and drop it too (`systemd-coredump` does).
enum CoreDumps {
    /// Sets the limit; false when the system refused (nothing else is changed then).
    @discardableResult
    static func disable() -> Bool {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        return setrlimit(Int32(RLIMIT_CORE.rawValue), &none) == 0
    }
}
