import CAllocator

/// The C allocator's settings for the server and the batch commands (`sweep`, `recharge`).
///
/// glibc's malloc gives memory back to the kernel eagerly: when the free space at the top of a thread's arena
/// passes 128 KiB it is released with `madvise`, and blocks above the (adaptive) mmap threshold get a mapping of
/// their own, unmapped on free. The writer thread allocates and frees the same few hundred KiB on every batch
/// (SQLite's pages, statement results, rendered responses), so under load it spent a fifth of its time in
/// `madvise`, page faults and zeroing fresh pages (`perf record -g` of `payments serve` under W1 in
/// `scripts/bench`). Keeping up to 64 MiB of free heap and serving blocks up to 32 MiB from the heap removes that
/// churn; resident memory stays bounded by the heap's high-water mark, not by how long the server has run. A sweeper
/// pass or a recharge run writes in batches the same way (a `payments sweep` pass over 1,000 due rows spent 15% of
/// its samples in page faults without these settings).
enum MemoryAllocator {
    /// Free memory kept at the top of an arena before it is returned to the kernel.
    static let trimThreshold: Int32 = 64 << 20
    /// Blocks at least this large get their own mapping.
    static let mmapThreshold: Int32 = 32 << 20

    /// Applies the settings (a no-op where the C library is not glibc). Call once, before the first write.
    static func configureForServer() {
        _ = payments_tune_malloc(trimThreshold, mmapThreshold)
    }
}
