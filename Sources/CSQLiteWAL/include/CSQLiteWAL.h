#ifndef CSQLITEWAL_H
#define CSQLITEWAL_H

/// Registers, once per process, a SQLite VFS that wraps the default one and makes it the default: every connection
/// opened afterwards writes its write-ahead log through it. Each frame of a transaction SQLite writes in two calls
/// (its 24-byte header, then the page); this VFS gathers the contiguous writes of the WAL file and hands them to the
/// file in one `pwrite` when SQLite syncs the log, writes a commit frame, reads, sizes or truncates the file, or the
/// gathered bytes pass 4 MiB. Nothing is acknowledged in between: SQLite makes a transaction visible (and with
/// synchronous=FULL, durable) only after its commit frame, which is handed to the file before the call that wrote
/// it returns. Other files (the database, its shared memory, temporary files) pass straight through.
/// Returns SQLITE_OK, or SQLite's error code when the default VFS is missing or registration failed.
int payments_sqlite_wal_buffer_install(void);

/// How many times the buffer handed gathered WAL bytes to the file (one `pwrite` each), and how many `xWrite`
/// calls SQLite made on WAL files: for tests and benchmarks.
void payments_sqlite_wal_buffer_counts(long long *flushes, long long *writes);

#endif
