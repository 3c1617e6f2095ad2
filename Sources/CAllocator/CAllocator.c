#include "CAllocator.h"

#include <stdlib.h>  // defines __GLIBC__ on glibc

#if defined(__GLIBC__)
#include <malloc.h>

int payments_tune_malloc(int trim_threshold, int mmap_threshold) {
    return mallopt(M_TRIM_THRESHOLD, trim_threshold) && mallopt(M_MMAP_THRESHOLD, mmap_threshold);
}
#else
int payments_tune_malloc(int trim_threshold, int mmap_threshold) {
    (void)trim_threshold;
    (void)mmap_threshold;
    return 0;
}
#endif
