#include "CSQLiteWAL.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// The gathered bytes are handed to the file once they pass this.
#define BUFFER_LIMIT (4 * 1024 * 1024)
/// The most handed to the wrapped VFS in one write: 31 pages of 4 KiB.
#define WRITE_LIMIT (31 * 4096)
/// SQLite's WAL frame header: the page number, then the database size in pages after a commit (0 otherwise), ...
#define FRAME_HEADER_SIZE 24

typedef struct {
    sqlite3_file base;
    /// The wrapped VFS's file, allocated right after this struct.
    sqlite3_file *real;
    /// Whether SQLite opened this file as a write-ahead log.
    int isWAL;
    /// Contiguous bytes written but not yet handed to the file, starting at `start`.
    unsigned char *buffer;
    int length;
    int capacity;
    sqlite3_int64 start;
    /// The last write was the header of a commit frame: its page, the next write, ends the transaction's frames.
    int commitPending;
    /// The writes SQLite asked of this log, and those handed to the file (for tests and benchmarks).
    long long writes;
    long long flushes;
} WALFile;

static sqlite3_vfs walVFS;
static sqlite3_vfs *realVFS;
static sqlite3_io_methods methodsV1, methodsV2, methodsV3;

/// Hands the gathered bytes to the file. On failure they are dropped and the error returned: SQLite treats the
/// write as failed, and the transaction does not commit.
static int flush(WALFile *file) {
    int rc = SQLITE_OK;
    // The unix VFS writes at most 128 KiB - 1 bytes per call (it masks the size with 0x1ffff), so larger gatherings
    // go in pieces
    for (int done = 0; done < file->length && rc == SQLITE_OK; done += WRITE_LIMIT) {
        int amount = file->length - done < WRITE_LIMIT ? file->length - done : WRITE_LIMIT;
        rc = file->real->pMethods->xWrite(file->real, file->buffer + done, amount, file->start + done);
        file->flushes += 1;
    }
    file->length = 0;
    return rc;
}

static int walClose(sqlite3_file *f) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    int closed = file->real->pMethods->xClose(file->real);
    free(file->buffer);
    file->buffer = NULL;
    return rc != SQLITE_OK ? rc : closed;
}

static int walRead(sqlite3_file *f, void *data, int amount, sqlite3_int64 offset) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xRead(file->real, data, amount, offset);
}

static int walWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
    WALFile *file = (WALFile *)f;
    if (!file->isWAL) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    file->writes += 1;
    int rc = SQLITE_OK;
    // Without "powersafe overwrite" SQLite pads a commit to a sector boundary and may split a frame's writes at a
    // sync point, so a write is no longer a whole header or a whole page: such files are written straight through
    if (!(file->real->pMethods->xDeviceCharacteristics(file->real) & SQLITE_IOCAP_POWERSAFE_OVERWRITE)) {
        rc = flush(file);
        if (rc != SQLITE_OK) return rc;
        return file->real->pMethods->xWrite(file->real, data, amount, offset);
    }
    // Only contiguous writes are gathered; anything else hands over what came before it first
    if (file->length > 0 && (offset != file->start + file->length || file->length + amount > BUFFER_LIMIT)) {
        rc = flush(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (amount > BUFFER_LIMIT) return file->real->pMethods->xWrite(file->real, data, amount, offset);
    if (file->length + amount > file->capacity) {
        int capacity = file->capacity ? file->capacity : 256 * 1024;
        while (capacity < file->length + amount) capacity *= 2;
        unsigned char *grown = realloc(file->buffer, capacity);
        if (grown == NULL) {
            rc = flush(file);
            if (rc != SQLITE_OK) return rc;
            return file->real->pMethods->xWrite(file->real, data, amount, offset);
        }
        file->buffer = grown;
        file->capacity = capacity;
    }
    if (file->length == 0) file->start = offset;
    memcpy(file->buffer + file->length, data, amount);
    file->length += amount;
    if (amount == FRAME_HEADER_SIZE) {
        // A frame's header: bytes 4 to 7 are the database's size after the transaction in a commit frame, 0 in
        // the others
        const unsigned char *header = data;
        file->commitPending = (header[4] | header[5] | header[6] | header[7]) != 0;
        return SQLITE_OK;
    }
    // The commit frame's page (or a write after it): the transaction's frames end here, and go to the file before
    // SQLite marks them committed in the WAL index (with synchronous=NORMAL no sync follows)
    return file->commitPending ? flush(file) : SQLITE_OK;
}

static int walTruncate(sqlite3_file *f, sqlite3_int64 size) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xTruncate(file->real, size);
}

static int walSync(sqlite3_file *f, int flags) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xSync(file->real, flags);
}

static int walFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileSize(file->real, size);
}

static int walLock(sqlite3_file *f, int lock) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xLock(file->real, lock);
}

static int walUnlock(sqlite3_file *f, int lock) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    int unlocked = file->real->pMethods->xUnlock(file->real, lock);
    return rc != SQLITE_OK ? rc : unlocked;
}

static int walCheckReservedLock(sqlite3_file *f, int *result) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xCheckReservedLock(file->real, result);
}

static int walFileControl(sqlite3_file *f, int op, void *argument) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFileControl(file->real, op, argument);
}

static int walSectorSize(sqlite3_file *f) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xSectorSize(file->real);
}

static int walDeviceCharacteristics(sqlite3_file *f) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static int walShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **pointer) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, pointer);
}

static int walShmLock(sqlite3_file *f, int offset, int count, int flags) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xShmLock(file->real, offset, count, flags);
}

static void walShmBarrier(sqlite3_file *f) {
    WALFile *file = (WALFile *)f;
    file->real->pMethods->xShmBarrier(file->real);
}

static int walShmUnmap(sqlite3_file *f, int deleteFlag) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}

static int walFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **pointer) {
    WALFile *file = (WALFile *)f;
    int rc = flush(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xFetch(file->real, offset, amount, pointer);
}

static int walUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *pointer) {
    WALFile *file = (WALFile *)f;
    return file->real->pMethods->xUnfetch(file->real, offset, pointer);
}

static int walOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    WALFile *file = (WALFile *)f;
    memset(file, 0, sizeof(WALFile));
    file->real = (sqlite3_file *)(file + 1);
    int rc = realVFS->xOpen(realVFS, name, file->real, flags, outFlags);
    // SQLite calls xClose only on a file whose pMethods is set, and the wrapped VFS leaves its own NULL on failure
    if (file->real->pMethods == NULL) return rc;
    file->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
    int version = file->real->pMethods->iVersion;
    file->base.pMethods = version >= 3 ? &methodsV3 : version == 2 ? &methodsV2 : &methodsV1;
    return rc;
}

/// Everything else the default VFS does (delete, access, full paths, randomness, sleep, time, dynamic loading,
/// system calls) is the default VFS's own.
static int walDelete(sqlite3_vfs *v, const char *name, int syncDir) {
    (void)v;
    return realVFS->xDelete(realVFS, name, syncDir);
}
static int walAccess(sqlite3_vfs *v, const char *name, int flags, int *result) {
    (void)v;
    return realVFS->xAccess(realVFS, name, flags, result);
}
static int walFullPathname(sqlite3_vfs *v, const char *name, int size, char *out) {
    (void)v;
    return realVFS->xFullPathname(realVFS, name, size, out);
}
static void *walDlOpen(sqlite3_vfs *v, const char *name) {
    (void)v;
    return realVFS->xDlOpen(realVFS, name);
}
static void walDlError(sqlite3_vfs *v, int size, char *message) {
    (void)v;
    realVFS->xDlError(realVFS, size, message);
}
static void (*walDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) {
    (void)v;
    return realVFS->xDlSym(realVFS, handle, symbol);
}
static void walDlClose(sqlite3_vfs *v, void *handle) {
    (void)v;
    realVFS->xDlClose(realVFS, handle);
}
static int walRandomness(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    return realVFS->xRandomness(realVFS, size, out);
}
static int walSleep(sqlite3_vfs *v, int microseconds) {
    (void)v;
    return realVFS->xSleep(realVFS, microseconds);
}
static int walCurrentTime(sqlite3_vfs *v, double *now) {
    (void)v;
    return realVFS->xCurrentTime(realVFS, now);
}
static int walGetLastError(sqlite3_vfs *v, int size, char *out) {
    (void)v;
    return realVFS->xGetLastError ? realVFS->xGetLastError(realVFS, size, out) : 0;
}
static int walCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *now) {
    (void)v;
    return realVFS->xCurrentTimeInt64(realVFS, now);
}
static int walSetSystemCall(sqlite3_vfs *v, const char *name, sqlite3_syscall_ptr call) {
    (void)v;
    return realVFS->xSetSystemCall(realVFS, name, call);
}
static sqlite3_syscall_ptr walGetSystemCall(sqlite3_vfs *v, const char *name) {
    (void)v;
    return realVFS->xGetSystemCall(realVFS, name);
}
static const char *walNextSystemCall(sqlite3_vfs *v, const char *name) {
    (void)v;
    return realVFS->xNextSystemCall(realVFS, name);
}

static int installResult = -1;

static int install(void) {
    realVFS = sqlite3_vfs_find(NULL);
    if (realVFS == NULL) return SQLITE_ERROR;
    sqlite3_io_methods methods = {
        1, walClose, walRead, walWrite, walTruncate, walSync, walFileSize, walLock, walUnlock,
        walCheckReservedLock, walFileControl, walSectorSize, walDeviceCharacteristics,
        walShmMap, walShmLock, walShmBarrier, walShmUnmap, walFetch, walUnfetch,
    };
    methodsV1 = methods;
    methodsV2 = methods;
    methodsV2.iVersion = 2;
    methodsV3 = methods;
    methodsV3.iVersion = 3;
    walVFS = *realVFS;
    walVFS.szOsFile = (int)sizeof(WALFile) + realVFS->szOsFile;
    walVFS.zName = "payments-wal-buffer";
    walVFS.pNext = NULL;
    walVFS.pAppData = NULL;
    walVFS.xOpen = walOpen;
    walVFS.xDelete = walDelete;
    walVFS.xAccess = walAccess;
    walVFS.xFullPathname = walFullPathname;
    walVFS.xDlOpen = walDlOpen;
    walVFS.xDlError = walDlError;
    walVFS.xDlSym = walDlSym;
    walVFS.xDlClose = walDlClose;
    walVFS.xRandomness = walRandomness;
    walVFS.xSleep = walSleep;
    walVFS.xCurrentTime = walCurrentTime;
    walVFS.xGetLastError = walGetLastError;
    if (realVFS->iVersion >= 2) walVFS.xCurrentTimeInt64 = walCurrentTimeInt64;
    if (realVFS->iVersion >= 3) {
        walVFS.xSetSystemCall = walSetSystemCall;
        walVFS.xGetSystemCall = walGetSystemCall;
        walVFS.xNextSystemCall = walNextSystemCall;
    }
    return sqlite3_vfs_register(&walVFS, 1);
}

int payments_sqlite_wal_buffer_install(void) {
    // Called before any connection opens; a second call finds the first's result
    static atomic_int state = 0;
    int expected = 0;
    if (atomic_compare_exchange_strong(&state, &expected, 1)) {
        installResult = install();
        atomic_store(&state, 2);
    }
    while (atomic_load(&state) != 2) {
    }
    return installResult;
}

int payments_sqlite_wal_buffer_counts(sqlite3 *db, long long *flushes, long long *writes) {
    sqlite3_file *log = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log) != SQLITE_OK || log == NULL) return 0;
    if (log->pMethods != &methodsV1 && log->pMethods != &methodsV2 && log->pMethods != &methodsV3) return 0;
    WALFile *file = (WALFile *)log;
    if (!file->isWAL) return 0;
    *flushes = file->flushes;
    *writes = file->writes;
    return 1;
}
