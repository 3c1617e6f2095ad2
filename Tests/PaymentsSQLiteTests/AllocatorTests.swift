import CAllocator
import Testing

/// The server's malloc settings (`MemoryAllocator` in the `payments` executable) through the C shim.
@Suite("Allocator tuning")
struct AllocatorTests {
    @Test("glibc accepts the trim and mmap thresholds (the shim sees glibc, so the settings are not a no-op)")
    func glibcAcceptsSettings() {
        #if canImport(Glibc)
            #expect(payments_tune_malloc(64 << 20, 32 << 20) == 1)
        #else
            #expect(payments_tune_malloc(64 << 20, 32 << 20) == 0)
        #endif
    }
}
