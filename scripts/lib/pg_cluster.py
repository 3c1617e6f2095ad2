"""A throwaway PostgreSQL cluster for the scripts (chaos, bench): initdb in a temporary folder, started on a free port
of 127.0.0.1, removed when stopped. Nothing assumes a server already running.

Mirrors Tests/TestSupport/PostgresServer.swift: Debian's binaries (/usr/lib/postgresql/N/bin, the newest, or
PAYMENTS_POSTGRES_BIN), run as the `postgres` user when the script runs as root (initdb refuses root).
`durable=True` keeps PostgreSQL's defaults (fsync, full_page_writes and synchronous_commit on: every commit flushed
to disk, as the SQLite store's synchronous=FULL); `durable=False` turns them off for checks that never crash the
database server itself.
"""
import glob, os, pwd, shutil, socket, subprocess, tempfile, uuid

USER = "postgres"


def binaries():
    """The folder of initdb and pg_ctl."""
    configured = os.environ.get("PAYMENTS_POSTGRES_BIN")
    if configured:
        return configured
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    if initdb:
        return os.path.dirname(initdb)
    raise RuntimeError("PostgreSQL's binaries are missing: apt-get install postgresql (or set PAYMENTS_POSTGRES_BIN)")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """One cluster; `start()` returns once it accepts connections, `stop()` throws it away."""

    def __init__(self, durable=True):
        self.durable = durable
        self.bin = binaries()
        self.folder = tempfile.mkdtemp(prefix="payments-pg-")
        os.chmod(self.folder, 0o700)
        self.password = uuid.uuid4().hex
        self.port = None
        self.as_owner = os.geteuid() == 0

    def _run(self, args, owner):
        command = ["/usr/bin/env", "-C", "/"]
        if owner and self.as_owner:
            command += ["/usr/sbin/runuser", "-u", USER, "--"]
        done = subprocess.run(command + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{os.path.basename(args[0])} failed ({done.returncode}): {done.stdout.strip()}")
        return done.stdout

    def start(self):
        with open(os.path.join(self.folder, "password"), "w") as out:
            out.write(self.password)
        if self.as_owner:
            entry = pwd.getpwnam(USER)
            for path in [self.folder, os.path.join(self.folder, "password")]:
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run([f"{self.bin}/initdb", f"--pgdata={self.folder}/data", f"--username={USER}",
                   f"--pwfile={self.folder}/password", "--auth-local=trust", "--auth-host=scram-sha-256",
                   "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions"]
                  + ([] if self.durable else ["--no-sync"]), owner=True)
        options = ["-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.folder}",
                   "-c max_connections=200"]
        if not self.durable:
            options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
        last = None
        for _ in range(3):  # a port found free can be taken before the server binds it
            self.port = free_port()
            try:
                self._run([f"{self.bin}/pg_ctl", "start", f"--pgdata={self.folder}/data",
                           f"--log={self.folder}/server.log", "--wait", "--timeout=30",
                           "--options=" + " ".join(options + [f"-c port={self.port}"])], owner=True)
                return self
            except RuntimeError as error:
                last = error
        self.stop()
        raise last

    def create_database(self, name=None):
        name = name or "payments_" + uuid.uuid4().hex[:12]
        self._run([f"{self.bin}/createdb", f"--host={self.folder}", f"--port={self.port}", f"--username={USER}",
                   name], owner=False)
        return name

    def url(self, database):
        return f"postgres://{USER}:{self.password}@127.0.0.1:{self.port}/{database}?sslmode=disable"

    def setting(self, name, database="postgres"):
        """A server setting as psql shows it (e.g. fsync, synchronous_commit)."""
        return self.psql(database, f"SHOW {name}").strip()

    def psql(self, database, sql):
        """Runs `sql` through psql over the cluster's socket; its rows as unaligned text."""
        return self._run([f"{self.bin}/psql", f"--host={self.folder}", f"--port={self.port}",
                          f"--username={USER}", "--no-psqlrc", "--quiet", "--tuples-only", "--no-align",
                          "--set=ON_ERROR_STOP=1", f"--dbname={database}", f"--command={sql}"], owner=False)

    def stop(self):
        if self.port is not None:
            try:
                self._run([f"{self.bin}/pg_ctl", "stop", f"--pgdata={self.folder}/data", "--mode=immediate",
                           "--wait"], owner=True)
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
