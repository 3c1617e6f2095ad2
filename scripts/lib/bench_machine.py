"""What scripts/bench ran on: CPU, cores, memory, kernel, the temp folder's filesystem, tool versions."""
import os, platform, sqlite3, subprocess, time


def _first(path, prefix):
    """The value after `prefix:` on the first line of a /proc file that starts with it."""
    try:
        with open(path) as f:
            return next((line.split(":", 1)[1].strip() for line in f if line.startswith(prefix)), "?")
    except OSError:
        return "?"


def filesystem(folder):
    """'TYPE on DEVICE (mounted at POINT)' for the mount holding `folder` (the longest matching /proc/mounts entry)."""
    folder = os.path.realpath(folder)
    best = ("?", "?", "")
    with open("/proc/mounts") as f:
        for line in f:
            device, point, kind = line.split()[:3]
            inside = folder == point or folder.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best[2]):
                best = (kind, device, point)
    return f"{best[0]} on {best[1]} (mounted at {best[2]})"


def _wrk_version():
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return out.split(" [")[0].removeprefix("wrk ").strip() or "?"


def _autogroup():
    """Whether the kernel groups each session's threads for CPU time (`kernel.sched_autogroup_enabled`)."""
    try:
        enabled = open("/proc/sys/kernel/sched_autogroup_enabled").read().strip() == "1"
    except OSError:
        return "autogroup unknown"
    if not enabled:
        return "autogroup off (kernel.sched_autogroup_enabled=0)"
    return ("autogroup on: every session gets an equal share of the CPUs when they are busy; the bench's servers and "
            "wrk share one, each PostgreSQL backend has its own")


def describe(folder, binary, root):
    """Lines describing the machine and what is measured."""
    memory_kb = int(_first("/proc/meminfo", "MemTotal").split()[0])
    commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "?"
    built = time.strftime("%Y-%m-%d %H:%M", time.localtime(os.path.getmtime(binary)))
    return [
        f"machine  {_first('/proc/cpuinfo', 'model name')}, {os.cpu_count()} cores, "
        f"{memory_kb / 1024 / 1024:.1f} GiB RAM, Linux {platform.release()}",
        f"disk     {filesystem(folder)}; temp folder {folder}",
        f"load     {' '.join(open('/proc/loadavg').read().split()[:3])} (1, 5, 15 min averages) at the start",
        f"sched    {_autogroup()}",
        f"binary   {binary} (built {built}); repository at {commit}",
        f"tools    wrk {_wrk_version()}, Python {platform.python_version()} (SQLite {sqlite3.sqlite_version} for the "
        f"ceiling and the bulk inserts)",
    ]


def disk_ceiling(folder, seconds):
    """Single-row transactions per second on this disk in WAL mode with synchronous=FULL (one fsync each)."""
    db = sqlite3.connect(os.path.join(folder, "ceiling.sqlite"), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")
    count, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (payload) VALUES (?)", ("x" * 200,))
        db.execute("COMMIT")
        count += 1
    elapsed = time.monotonic() - start
    db.close()
    return count / elapsed
