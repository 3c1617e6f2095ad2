"""The payments server and CLI as scripts/bench runs them: environment, process, resident memory, API calls."""
import json, os, resource, socket, sqlite3, subprocess, sys, threading, time, urllib.parse, urllib.request

SECRET = "sk_test_bench_hot_path"
PUBLISHABLE = "pk_test_bench_hot_path"


def environment():
    """The environment of every payments process: no inherited PAYMENTS_* settings, the bench's keys, the durability
    the server runs with in production (synchronous=FULL, group commit), no periodic sweeper, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYMENTS_")}
    env.update(PAYMENTS_SECRET_KEY=SECRET, PAYMENTS_PUBLISHABLE_KEY=PUBLISHABLE, PAYMENTS_SYNCHRONOUS="FULL",
               PAYMENTS_GROUP_COMMIT="true", PAYMENTS_SWEEP_INTERVAL="0", PAYMENTS_LOG_LEVEL="warning")
    return env


def command(binary, root, *args, check=True):
    """Runs a payments subcommand from the repository root (it reads migrations/ and config/ relative to it);
    returns (wall seconds, CompletedProcess), the process's CPU seconds (user + system) in the result's
    `cpu_seconds`. With `check`, stops the bench when the command fails."""
    start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run([binary, *args], cwd=root, env=environment(), capture_output=True, text=True)
    elapsed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    result.cpu_seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and result.returncode != 0:
        sys.exit(f"{' '.join([binary, *args])} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return elapsed, result


def free_port():
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """The CPU time (user + system, all threads) a running process has used so far, in seconds (None once it has
    exited): /proc/PID/stat's utime and stime, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields[0] is the state (field 3 of the file); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu_seconds(pid, name):
    """The CPU time (user + system) the threads of a running process named `name` (as `/proc/PID/task/TID/comm`
    shows it) have used so far, in seconds; None once the process has exited."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().strip() != name:
                        continue
                with open(f"/proc/{pid}/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # a thread that ended meanwhile
            total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def duration_p99(before, after):
    """From two request_durations() readings (of one server, or each summed over several): the smallest bucket bound
    that 99% of the requests between them stayed within, in ms; None without requests."""
    bounds = sorted(after)
    counts = [after[bound] - before.get(bound, 0) for bound in bounds]
    if not counts or counts[-1] <= 0:
        return None
    return next(bound * 1000 for bound, count in zip(bounds, counts) if count >= 0.99 * counts[-1])


def resident_kb(pid):
    """VmRSS of a process, in kB (None once it has exited)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


class Server:
    """`payments serve` on a database and a free port, its VmRSS sampled every second while it runs.

    `db` is the SQLite file (its folder holds the log and the card network's ledger); with `postgres` (a
    pg_cluster.Cluster and a database name) the server runs on that PostgreSQL database instead, its log and ledger
    still in `db`'s folder, so several servers given the same folder share one ledger."""

    def __init__(self, binary, root, db, postgres=None, name="server"):
        self.binary, self.root, self.db, self.postgres, self.name = binary, root, db, postgres, name
        self.port = free_port()
        self.samples = []  # (monotonic seconds, VmRSS kB)
        self._stopped = threading.Event()

    def __enter__(self):
        log_path = os.path.join(os.path.dirname(self.db), f"{self.name}.log")
        self._log = open(log_path, "a")
        env, database = environment(), ["--db", self.db]
        if self.postgres:
            cluster, name = self.postgres
            env.update(PAYMENTS_DATABASE_URL=cluster.url(name),
                       PAYMENTS_NETWORK_LEDGER=os.path.join(os.path.dirname(self.db), "card-network.sqlite"))
            database = []
        self.process = subprocess.Popen([self.binary, "serve", *database, "--port", str(self.port)],
                                        cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.__exit__()
                    sys.exit(f"the server did not start; see {log_path}")
                time.sleep(0.1)
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def __exit__(self, *_):
        self._stopped.set()
        self.process.terminate()
        self.process.wait(timeout=30)
        self._log.close()

    def _sample(self):
        while not self._stopped.is_set():
            kb = resident_kb(self.process.pid)
            if kb is not None:
                self.samples.append((time.monotonic(), kb))
            self._stopped.wait(1.0)

    def cpu_seconds(self):
        """The CPU time the server has used so far, in seconds (see cpu_seconds())."""
        return cpu_seconds(self.process.pid)

    def metrics(self):
        """The server's /metrics text (Prometheus'), or None when it does not answer."""
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10).read().decode()
        except OSError:
            return None

    def writer_cpu_seconds(self):
        """The CPU time the SQLite writer's own thread (`commit-payments`) has used so far, in seconds: the part of
        its busy time (writer_seconds()) it spent running, not waiting for the disk or a core."""
        return thread_cpu_seconds(self.process.pid, "commit-payments")

    def writer_seconds(self):
        """How long the server's SQLite writer has been busy so far, in seconds: the sum of its group commits'
        durations (`payments_group_commit_duration` for the payments database, from /metrics; each commit runs its
        writes' bodies and the COMMIT with its fsync). None on PostgreSQL, which has no single writer."""
        return self.reading()["writer"]

    def request_durations(self):
        """The server's own histogram of request durations so far, every route and status together: {upper bound in
        seconds: requests that took at most that long} (`http_server_request_duration_bucket`, from /metrics; the
        time inside the server's handlers, from the parsed request to the response handed to the event loop)."""
        return self.reading()["durations"]

    def reading(self):
        """What /metrics says so far, from one read of it: `writer` (writer_seconds()), `writes` and `commits` (the
        writes the SQLite writer ran and the group commits they ran in, from `payments_group_commit_batch_size`'s
        sum and count; writes / commits is the batch size) and `durations` (request_durations()). The SQLite
        figures are None on PostgreSQL, and all but `durations` (then empty) when the server does not answer."""
        text = self.metrics()
        lines = (text or "").splitlines()

        def payments(name):
            if text is None or self.postgres:
                return None
            prefix = f'{name}{{database="payments"}} '
            return next((float(line[len(prefix):]) for line in lines if line.startswith(prefix)), 0.0)

        durations = {}
        for line in lines:
            if not line.startswith("http_server_request_duration_bucket{"):
                continue
            labels, count = line.rsplit(" ", 1)
            bound = labels.rsplit('le="', 1)[1].split('"', 1)[0]
            key = float("inf") if bound == "+Inf" else float(bound)
            durations[key] = durations.get(key, 0) + int(float(count))
        return {"writer": payments("payments_group_commit_duration_sum"),
                "writes": payments("payments_group_commit_batch_size_sum"),
                "commits": payments("payments_group_commit_batch_size_count"), "durations": durations}

    def peak_mb(self, since=None):
        """The highest VmRSS sampled (since a monotonic time), in MB."""
        return max(kb for t, kb in self.samples if since is None or t >= since) / 1024

    def rss_mb_at(self, moment):
        """The VmRSS sample nearest a monotonic time, in MB."""
        return min(self.samples, key=lambda sample: abs(sample[0] - moment))[1] / 1024

    def post(self, path, form, key=None):
        """POSTs a form to the API with the secret key; returns the decoded JSON answer."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                         data=urllib.parse.urlencode(form).encode(), method="POST")
        request.add_header("Authorization", f"Bearer {SECRET}")
        if key:
            request.add_header("Idempotency-Key", key)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    def intents(self):
        """How many payment intents the database holds, once the count has stopped moving (requests wrk left in
        flight when it stopped finish first)."""
        previous = None
        for _ in range(25):
            if self.postgres:
                cluster, name = self.postgres
                count = int(cluster.psql(name, "SELECT count(*) FROM payment_intents"))
            else:
                db = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
                count = db.execute("SELECT count(*) FROM payment_intents").fetchone()[0]
                db.close()
            if count == previous:
                return count
            previous = count
            time.sleep(0.2)
        return count
