"""wrk scripts for scripts/bench, and running wrk with them.

Every script ends with the same `done` hook, which prints one line `BENCH {json}` with what the run did: requests,
seconds, non-2xx (wrk counts statuses >= 400), socket errors, mean, p50 and p99 latency per request in ms, and the
totals of any per-thread counters the script names in `counters` (wrk runs one Lua state per thread; `done` reads
their globals with `thread:get`).

finish() also checks wrk's latencies against the closed loop they come from: a connection has one request in
flight at a time, so the latencies of its answered requests add up to at most the run's length, and all of them
to at most connections x seconds. `latency_load` is that sum over that bound (about 1.0 when every connection is
kept busy). Above 1.1 wrk's latencies cannot be right, and the bench says so beside them. This happened with two
servers on PostgreSQL, with the kernel's autogroup scheduler on (BENCHMARKS.md, "PostgreSQL, two servers").
"""
import json, os, subprocess, uuid

SUMMARY_LUA = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local extra = ""
  for _, name in ipairs(counters or {}) do
    local total = 0
    for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
    extra = extra .. string.format(', "%s": %d', name, total)
  end
  io.write(string.format('BENCH {"requests": %d, "seconds": %f, "non2xx": %d, "errors": %d, "mean_ms": %f, '
    .. '"p50_ms": %f, "p99_ms": %f%s}\n', summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(99) / 1000, extra))
end
"""

FORM = "application/x-www-form-urlencoded"


def _auth_lua(secret):
    """Lua defining `api(key)`: the headers of an API request, with an Idempotency-Key when `key` is given."""
    return f"""
local function api(key)
  local headers = {{}}
  headers["Authorization"] = "Bearer {secret}"
  headers["Content-Type"] = "{FORM}"
  headers["Idempotency-Key"] = key
  return headers
end
prefix = "bench-{uuid.uuid4().hex[:8]}-"
counter = 0
local function new_key()
  counter = counter + 1
  return prefix .. counter
end
"""


def post_script(secret, body, replay_key=None):
    """POST `body` to /v1/payment_intents: a new Idempotency-Key per request, or `replay_key` every time."""
    key = f'"{replay_key}"' if replay_key else "new_key()"
    return _auth_lua(secret) + f"""
request = function()
  return wrk.format("POST", "/v1/payment_intents", api({key}), "{body}")
end
""" + SUMMARY_LUA


def get_script(secret, path):
    """GET `path` with the secret key."""
    return f"""
wrk.method = "GET"
wrk.path = "{path}"
wrk.headers["Authorization"] = "Bearer {secret}"
""" + SUMMARY_LUA


def three_d_secure_script(secret, body):
    """The 3-D Secure round trip, three requests: create+confirm `body` (a card that always asks for 3-D Secure,
    manual confirmation) -> POST the challenge page outcome=complete -> POST /v1/payment_intents/:id/confirm.

    wrk asks `request()` for a connection's next request without saying which connection, so the steps due next
    wait in one FIFO per thread: a response queues its intent's next step, the next request() takes the oldest
    step (or starts a new round trip when none waits). Counters: `creates` (intents made), `roundtrips` (confirms
    answered succeeded), `unexpected` (any other answer)."""
    return _auth_lua(secret) + f"""
counters = {{"creates", "roundtrips", "unexpected"}}
creates, roundtrips, unexpected = 0, 0, 0
local steps, first, last = {{}}, 1, 0
local function push(step) last = last + 1; steps[last] = step end

request = function()
  if first <= last then
    local step = steps[first]
    steps[first] = nil
    first = first + 1
    if step.challenge then
      return wrk.format("POST", step.challenge, {{["Content-Type"] = "{FORM}"}}, "outcome=complete")
    end
    return wrk.format("POST", "/v1/payment_intents/" .. step.confirm .. "/confirm", api(new_key()), "")
  end
  return wrk.format("POST", "/v1/payment_intents", api(new_key()), "{body}")
end

response = function(status, headers, body)
  if status ~= 200 then unexpected = unexpected + 1; return end
  local challenge = string.match(body, '"url":%s*"https?://[^/"]+(/3ds/pi_[^"]+)"')
  if challenge then creates = creates + 1; push({{challenge = challenge}}); return end
  local authenticated = string.match(body, 'payment_intent: "(pi_[^"]+)", outcome: "complete"')
  if authenticated then push({{confirm = authenticated}}); return end
  if string.match(body, '"status":%s*"succeeded"') then roundtrips = roundtrips + 1; return end
  unexpected = unexpected + 1
end
""" + SUMMARY_LUA


def start(port, script, folder, name, connections, seconds):
    """Starts wrk -t1 with `script` (written to FOLDER/NAME.lua); finish() waits for it and reads its summary."""
    path = os.path.join(folder, f"{name}.lua")
    with open(path, "w") as f:
        f.write(script)
    process = subprocess.Popen(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", path,
         f"http://127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    process.connections = connections
    return process


def finish(process):
    """Waits for a wrk started by start(); returns its BENCH summary with req/s and `latency_load` added."""
    out = process.communicate()[0]
    line = next((l for l in out.splitlines() if l.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{out}")
    summary = json.loads(line[len("BENCH "):])
    summary["rps"] = summary["requests"] / summary["seconds"]
    summary["latency_load"] = summary["requests"] * summary["mean_ms"] / 1000 / (
        process.connections * summary["seconds"])
    return summary


def latency_warning(summaries):
    """A note for the table when wrk's latencies break the closed-loop bound (see the module's notes), else ""."""
    worst = max(summary["latency_load"] for summary in summaries)
    if worst <= 1.1:
        return ""
    return (f"wrk's latencies add up to {worst:.1f}x its connections' time, which a closed loop cannot: "
            "p50/p99 not trustworthy")


def run(port, script, folder, name, connections, seconds):
    """Runs wrk to the end; returns its summary."""
    return finish(start(port, script, folder, name, connections, seconds))
