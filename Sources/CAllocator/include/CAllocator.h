#ifndef C_ALLOCATOR_H
#define C_ALLOCATOR_H

/// The C allocator's tuning knobs, which Swift's Glibc module does not expose (they live in <malloc.h>).
/// Returns 1 when glibc accepted both settings, 0 otherwise (and on C libraries other than glibc).
int payments_tune_malloc(int trim_threshold, int mmap_threshold);

#endif
