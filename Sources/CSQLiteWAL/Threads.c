#define _GNU_SOURCE
#include "CSQLiteWAL.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

int payments_thread_lower_priority(int increment) {
    if (increment <= 0) return 0;
    // On Linux a nice value belongs to a thread (the kernel's task), named by its thread id
    id_t thread = (id_t)syscall(SYS_gettid);
    errno = 0;
    int current = getpriority(PRIO_PROCESS, thread);
    if (current == -1 && errno != 0) return errno;
    int target = current + increment > 19 ? 19 : current + increment;
    return setpriority(PRIO_PROCESS, thread, target) == 0 ? 0 : errno;
}

void payments_thread_set_name(const char *name) {
    // The kernel keeps 15 bytes and a terminating zero
    char truncated[16];
    strncpy(truncated, name, sizeof truncated - 1);
    truncated[sizeof truncated - 1] = 0;
    pthread_setname_np(pthread_self(), truncated);
}
