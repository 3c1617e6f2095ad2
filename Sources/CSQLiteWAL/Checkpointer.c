#include "CSQLiteWAL.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

struct payments_sqlite_checkpointer {
    /// The connection that writes, whose log this checkpoints, and the checkpointer's own.
    sqlite3 *writer;
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    /// Under `mutex`: a checkpoint was asked for since the thread last started one; the thread is to end.
    int requested;
    int stopping;
    int threshold;
    int limit;
    /// Touched only by the hook, on the thread that writes: the log's frames after the last commit, and its length
    /// when the checkpoint thread was last asked.
    int frames;
    int askedAt;
    /// Checkpoints the thread ran, those the writer ran itself (the log reached `limit`), and the thread's that failed
    /// (other than finding the writer's running).
    atomic_llong background;
    atomic_llong inlined;
    atomic_llong failed;
};

/// SQLite calls this on the writer's thread after each commit, with the log's length in frames, the writer lock
/// released. Asks the thread for a checkpoint each `threshold` frames; past `limit` checkpoints right here, as
/// SQLite's own automatic checkpoint would.
static int walHook(void *context, sqlite3 *db, const char *name, int frames) {
    payments_sqlite_checkpointer *checkpointer = context;
    // A log shorter than after the last commit started over (a checkpoint had copied all of it)
    if (frames < checkpointer->frames) checkpointer->askedAt = 0;
    checkpointer->frames = frames;
    if (frames >= checkpointer->limit) {
        // The thread's checkpoints could not keep up: while commits follow one another, each leaves frames the
        // checkpoint before it could not copy, and SQLite starts the log over only once every frame is copied. Here
        // no commit can come in between, so the rest is copied and the next transaction starts the log over. A
        // checkpoint the thread is running makes this one return SQLITE_BUSY at once: the next commit tries again.
        if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK) {
            atomic_fetch_add(&checkpointer->inlined, 1);
        }
        return SQLITE_OK;
    }
    if (frames - checkpointer->askedAt >= checkpointer->threshold) {
        checkpointer->askedAt = frames;
        pthread_mutex_lock(&checkpointer->mutex);
        checkpointer->requested = 1;
        pthread_cond_signal(&checkpointer->wake);
        pthread_mutex_unlock(&checkpointer->mutex);
    }
    return SQLITE_OK;
}

/// How long the thread waits before it tries a failed checkpoint again, in seconds.
static const int retryAfter = 1;

static void *run(void *context) {
    payments_sqlite_checkpointer *checkpointer = context;
    payments_thread_set_name("wal-checkpoint");
    int retrying = 0;
    while (1) {
        pthread_mutex_lock(&checkpointer->mutex);
        if (retrying) {
            // The last checkpoint failed (a full disk: the database file could not grow). The next one was asked
            // for only once the log had grown by `threshold` more frames, so once space was freed the log went on
            // growing from where it stood, and filled the disk again with frames a checkpoint would have let it
            // reuse (a probe: 1,878 frames on a 9 MiB volume, every payment failing). Tried again each second until
            // one succeeds.
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += retryAfter;
            while (!checkpointer->requested && !checkpointer->stopping) {
                if (pthread_cond_timedwait(&checkpointer->wake, &checkpointer->mutex, &deadline) != 0) break;
            }
        } else {
            while (!checkpointer->requested && !checkpointer->stopping) {
                pthread_cond_wait(&checkpointer->wake, &checkpointer->mutex);
            }
        }
        int stopping = checkpointer->stopping;
        checkpointer->requested = 0;
        pthread_mutex_unlock(&checkpointer->mutex);
        if (stopping) return NULL;
        // PASSIVE: copies what no reader still needs, beside the writer's commits, without waiting for locks
        // (SQLITE_BUSY: the writer's own checkpoint was running, and did the work)
        int rc = sqlite3_wal_checkpoint_v2(checkpointer->db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc == SQLITE_OK) {
            atomic_fetch_add(&checkpointer->background, 1);
            retrying = 0;
        } else if ((rc & 0xff) != SQLITE_BUSY) {
            atomic_fetch_add(&checkpointer->failed, 1);
            retrying = 1;
        }
    }
}

void payments_sqlite_checkpointer_request(payments_sqlite_checkpointer *checkpointer) {
    pthread_mutex_lock(&checkpointer->mutex);
    checkpointer->requested = 1;
    pthread_cond_signal(&checkpointer->wake);
    pthread_mutex_unlock(&checkpointer->mutex);
}

payments_sqlite_checkpointer *payments_sqlite_checkpointer_start(
    sqlite3 *writer, const char *path, int threshold, int limit, int *error
) {
    *error = SQLITE_OK;
    if (threshold < 1 || limit < threshold) {
        *error = SQLITE_MISUSE;
        return NULL;
    }
    payments_sqlite_checkpointer *checkpointer = calloc(1, sizeof(payments_sqlite_checkpointer));
    if (checkpointer == NULL) {
        *error = SQLITE_NOMEM;
        return NULL;
    }
    checkpointer->writer = writer;
    checkpointer->threshold = threshold;
    checkpointer->limit = limit;
    int rc = sqlite3_open_v2(path, &checkpointer->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    // The first read waits, as the service's connections do, while another connection recovers the log; a
    // checkpoint syncs the log before it copies it and the database file after (with synchronous NORMAL or FULL);
    // reading the schema opens the log, which a connection does on its first read
    if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(checkpointer->db, 5000);
    if (rc == SQLITE_OK) rc = sqlite3_exec(checkpointer->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(checkpointer->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        pthread_mutex_init(&checkpointer->mutex, NULL);
        pthread_cond_init(&checkpointer->wake, NULL);
        if (pthread_create(&checkpointer->thread, NULL, run, checkpointer) != 0) {
            pthread_cond_destroy(&checkpointer->wake);
            pthread_mutex_destroy(&checkpointer->mutex);
            rc = SQLITE_ERROR;
        }
    }
    if (rc != SQLITE_OK) {
        sqlite3_close(checkpointer->db);
        free(checkpointer);
        *error = rc;
        return NULL;
    }
    // Replaces SQLite's automatic checkpoint, itself a hook of this kind
    sqlite3_wal_hook(writer, walHook, checkpointer);
    return checkpointer;
}

void payments_sqlite_checkpointer_stop(payments_sqlite_checkpointer *checkpointer) {
    sqlite3_wal_autocheckpoint(checkpointer->writer, checkpointer->threshold);
    pthread_mutex_lock(&checkpointer->mutex);
    checkpointer->stopping = 1;
    pthread_cond_signal(&checkpointer->wake);
    pthread_mutex_unlock(&checkpointer->mutex);
    pthread_join(checkpointer->thread, NULL);
    pthread_cond_destroy(&checkpointer->wake);
    pthread_mutex_destroy(&checkpointer->mutex);
    sqlite3_close(checkpointer->db);
    free(checkpointer);
}

void payments_sqlite_checkpointer_counts(
    payments_sqlite_checkpointer *checkpointer, long long *background, long long *inlined, long long *failed
) {
    *background = atomic_load(&checkpointer->background);
    *inlined = atomic_load(&checkpointer->inlined);
    *failed = atomic_load(&checkpointer->failed);
}
