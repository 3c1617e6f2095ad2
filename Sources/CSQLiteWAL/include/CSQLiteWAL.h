#ifndef CSQLITEWAL_H
#define CSQLITEWAL_H

#include <sqlite3.h>

/// Registers, once per process, a SQLite VFS that wraps the default one and makes it the default: every connection
/// opened afterwards writes its write-ahead log through it. Each frame of a transaction SQLite writes in two calls
/// (its 24-byte header, then the page); this VFS gathers the contiguous writes of the WAL file and hands them to the
/// file together (one `pwrite` per 124 KiB, the most the unix VFS writes at once) when SQLite syncs the log, writes
/// a commit frame, reads, sizes or truncates the file, or the gathered bytes pass 4 MiB. Nothing is acknowledged in between: SQLite makes a transaction visible (and with
/// synchronous=FULL, durable) only after its commit frame, which is handed to the file before the call that wrote
/// it returns. Other files (the database, its shared memory, temporary files) pass straight through.
/// Returns SQLITE_OK, or SQLite's error code when the default VFS is missing or registration failed.
int payments_sqlite_wal_buffer_install(void);

/// The write-ahead log of `db`'s main database, if it is open through this VFS: how many writes SQLite asked of it
/// (`writes`) and how many the buffer made to the file (`flushes`), since the connection opened it. Returns 1 when
/// it filled them in, 0 otherwise (no log open yet, or another VFS's). For tests and benchmarks.
int payments_sqlite_wal_buffer_counts(sqlite3 *db, long long *flushes, long long *writes);

/// Checkpoints a database's write-ahead log on a thread of its own, instead of on the writer's thread after a
/// commit (SQLite's automatic checkpoint): the writer no longer stops to copy pages into the database file and sync
/// it. Installs a WAL hook on `writer` (the connection that writes; SQLite's automatic checkpoint is itself such a
/// hook, which this replaces) that, after commits, asks the thread for a PASSIVE checkpoint every `threshold` frames
/// the log grew by, and checkpoints right there itself once the log reaches `limit` frames (see `walHook`). The
/// thread checkpoints on a connection of its own to `path`. Returns NULL with SQLite's error code in `error` when it
/// cannot start. Call on the writer's thread, or with the writer idle.
typedef struct payments_sqlite_checkpointer payments_sqlite_checkpointer;
payments_sqlite_checkpointer *payments_sqlite_checkpointer_start(
    sqlite3 *writer, const char *path, int threshold, int limit, int *error
);

/// Gives the writer back SQLite's automatic checkpoint every `threshold` frames, ends the thread (after the
/// checkpoint it runs, if any), closes its connection and frees `checkpointer`. Call on the writer's thread, or with
/// the writer idle (GRDB opens its connections without SQLite's mutex), while the writer connection is open.
void payments_sqlite_checkpointer_stop(payments_sqlite_checkpointer *checkpointer);

/// Asks the thread for a checkpoint now, whatever the log's length (a write found the log's file removed under the
/// process: the checkpoint copies what the log it has open holds into the database file). Any thread.
void payments_sqlite_checkpointer_request(payments_sqlite_checkpointer *checkpointer);

/// Checkpoints run so far: by the thread, by the writer itself (the log had reached `limit`), and the thread's
/// that failed (other than finding the writer's own checkpoint running).
void payments_sqlite_checkpointer_counts(
    payments_sqlite_checkpointer *checkpointer, long long *background, long long *inlined, long long *failed
);

/// Lowers the calling thread's CPU priority: adds `increment` to its nice value (at most 19), so that when the
/// cores are busy the scheduler runs the other threads of its scheduling group first: the process's, and those of
/// every other process in its session (autogroup) or cgroup. Any thread may raise its own nice value;
/// nothing can lower it again without privileges, so call it only on a thread of one's own. Does nothing for an
/// `increment` of 0 or less. Returns 0, or the error (`errno`) of `setpriority`.
int payments_thread_lower_priority(int increment);

/// Names the calling thread (its first 15 bytes: what `top -H`, `perf` and `/proc/PID/task/TID/comm` show).
void payments_thread_set_name(const char *name);

#endif
