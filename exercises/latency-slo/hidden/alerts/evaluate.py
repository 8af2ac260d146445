"""The alerts clean-room job: the candidate's alerts.yml, evaluated by a real Prometheus over the grader's
recorded traffic (timeline.py) at realistic timestamps, ending now.

Runs as root in a throwaway container of the pristine observability image, cwd = a copy of /root/work (links
inside it resolve as they did in the sandbox). Prometheus (as nobody) loads alerts.yml as its rule file and
takes the timeline through its remote-write receiver, with an out-of-order window so that past samples are
accepted. The rules are read back from its API, as Prometheus parsed them. Each recording rule is evaluated
over the timeline (a range query at the evaluation step: what the rule manager computes at each evaluation)
and its output written back, level by level for rules built on other recorded series; then each alert is
evaluated the same way, with `for` and `keep_firing_for` applied as the rule manager does. Result lines start
with "::cleanroom::"; one `firing` line per severity=page alert series that fires, with the minutes it fired.
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HIDDEN = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HIDDEN)
import timeline  # noqa: E402

WORK = "/tmp/opslab-alerts"
PORT = 9391
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
MAX_LEVELS = 6
MAX_SERIES_LINES = 100
MAX_INTERVALS = 200
# Rules that take longer than this to evaluate (all of them together) are left unevaluated: they count as never
# firing, so an expensive rule file fails the checks rather than turning them into errors.
BUDGET_S = 45


def result(**fields):
    print("::cleanroom:: " + json.dumps(fields, sort_keys=True), flush=True)


def run(cmd, timeout=60):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return r.returncode, (r.stdout + r.stderr).strip()


def api(path, params=None, timeout=30):
    url = f"http://127.0.0.1:{PORT}{path}" + ("?" + urllib.parse.urlencode(params) if params else "")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        return json.load(e)


class Prometheus:
    def __init__(self):
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(NOBODY + ["env", "-i", "PATH=/usr/bin:/bin", "prometheus",
                                               f"--config.file={WORK}/prometheus.yml", f"--storage.tsdb.path={WORK}/data",
                                               "--storage.tsdb.retention.time=30d", f"--web.listen-address=127.0.0.1:{PORT}",
                                               "--web.enable-remote-write-receiver", "--query.timeout=15s"],
                                     stdout=open(f"{WORK}/prometheus.log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field(number, payload):
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def snappy(data):
    """Snappy block format with the data as one literal (valid, uncompressed)."""
    n = len(data) - 1
    return varint(len(data)) + bytes([63 << 2]) + n.to_bytes(4, "little") + data if data else varint(0)


STAMPS = {}


def stamp(t):
    """The varint of a timestamp in ms (the timeline's timestamps repeat across series: computed once)."""
    v = STAMPS.get(t)
    if v is None:
        v = STAMPS[t] = varint(int(round(t * 1000)))
    return v


def remote_write(data):
    """Writes {(name, labels): [(unix seconds, value)]} through Prometheus's remote-write receiver."""
    batch, size = [], 0

    def flush():
        nonlocal batch, size
        if not batch:
            return
        body = snappy(b"".join(field(1, ts) for ts in batch))
        req = urllib.request.Request(f"http://127.0.0.1:{PORT}/api/v1/write", data=body, method="POST", headers={
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        try:
            urllib.request.urlopen(req, timeout=60).read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"remote write: HTTP {e.code}: {e.read()[:300]!r}") from None
        batch, size = [], 0

    for (name, labels), samples in data.items():
        head = b"".join(field(1, field(1, k.encode()) + field(2, str(v).encode()))
                        for k, v in sorted((("__name__", name),) + tuple(labels)))
        pack = struct.Struct("<d").pack
        body = b"".join(field(2, b"\x09" + pack(v) + b"\x10" + stamp(t)) for t, v in samples)
        batch.append(head + body)
        size += len(body)
        if size > 4 << 20:
            flush()
    flush()


STARTED = time.monotonic()


def range_query(expr, t0, t1):
    if time.monotonic() - STARTED > BUDGET_S:
        return None, f"not evaluated: the rules took more than {BUDGET_S} s"
    doc = api("/api/v1/query_range", {"query": expr, "start": t0, "end": t1, "step": timeline.STEP_S}, timeout=60)
    if doc.get("status") != "success":
        return None, doc.get("error", "query failed")
    return doc["data"], None


def main():
    fault = os.environ.get("OPSLAB_VAR_FAULT", "pool")
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK + "/data")
    try:
        kind = "symlink -> " + os.readlink("alerts.yml") if os.path.islink("alerts.yml") else "file"
        with open("alerts.yml", "rb") as f:
            rules = f.read(1 << 20)
    except OSError as e:
        result(kind="load", ok=False, detail=f"alerts.yml cannot be read: {type(e).__name__}: {e}")
        return 0
    with open(f"{WORK}/rules.yml", "wb") as f:
        f.write(rules)
    code, out = run(["promtool", "check", "rules", f"{WORK}/rules.yml"])
    if code != 0:
        result(kind="load", ok=False, entry=kind, detail=out[-1500:])
        return 0
    with open(f"{WORK}/prometheus.yml", "w") as f:
        f.write(f"global:\n  evaluation_interval: 24h\nrule_files: [{WORK}/rules.yml]\n"
                "storage:\n  tsdb:\n    out_of_order_time_window: 2d\n")

    now = int(time.time()) // timeline.STEP_S * timeline.STEP_S
    t0 = now - timeline.MINUTES * 60
    t1 = now
    subprocess.run(["chown", "-R", "65534:65534", WORK])
    prom = Prometheus()
    try:
        if not prom.start():
            log = open(f"{WORK}/prometheus.log", errors="replace").read()[-1500:]
            result(kind="load", ok=False, entry=kind, detail="Prometheus did not start with these rules: " + log)
            return 0
        t_gen = time.monotonic()
        try:
            remote_write(timeline.series(t0, fault))
        except (RuntimeError, OSError) as e:
            result(kind="error", detail=f"the timeline could not be written: {e}")
            return 3
        result(kind="timeline", t0=t0, t1=t1, step=timeline.STEP_S, fault=fault, entry=kind,
               write_ms=round((time.monotonic() - t_gen) * 1000))
        doc = api("/api/v1/rules")
        rules = [r for g in doc["data"]["groups"] for r in g["rules"]]
        recording = [r for r in rules if r["type"] == "recording"]
        alerting = [r for r in rules if r["type"] == "alerting"]

        # Recording rules, level by level: a rule is evaluated once every recorded series it reads is in the TSDB.
        pending, done, levels = list(recording), set(), 0
        names = {r["name"] for r in recording}
        problems = []
        while pending and levels < MAX_LEVELS:
            ready = [r for r in pending if not any(n not in done and re.search(r"(?<![\w:])" + re.escape(n) + r"(?![\w:])", r["query"])
                                                   for n in names if n != r["name"])]
            if not ready:
                ready = pending   # a cycle: evaluate what is there, as Prometheus would
            recorded = {}
            for r in ready:
                data, err = range_query(r["query"], t0, t1)
                if err:
                    problems.append(f"recording rule {r['name']}: {err}")
                    continue
                for sample in data["result"] if data["resultType"] == "matrix" else []:
                    labels = {k: v for k, v in sample["metric"].items() if k != "__name__"}
                    labels.update(r.get("labels") or {})
                    key = (r["name"], tuple(sorted(labels.items())))
                    recorded.setdefault(key, []).extend((float(ts), float(v)) for ts, v in sample["values"])
            try:
                remote_write(recorded)
            except (RuntimeError, OSError) as e:
                problems.append(f"recorded series could not be stored: {e}")
            done.update(r["name"] for r in ready)
            pending = [r for r in pending if r["name"] not in done]
            levels += 1
        result(kind="rules", ok=True, recording=len(recording), alerting=len(alerting), levels=levels, problems=problems[:5])

        # Alerting rules: present at each evaluation -> pending; firing once present for `for`; kept firing for
        # keep_firing_for after the condition clears.
        lines = 0
        for r in alerting:
            data, err = range_query(r["query"], t0, t1)
            if err:
                result(kind="alert-error", alert=r["name"], detail=err[:300])
                continue
            hold = float(r.get("duration") or 0)
            keep = float(r.get("keepFiringFor") or 0)
            for s in data["result"] if data["resultType"] == "matrix" else []:
                labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
                labels.update(r.get("labels") or {})
                if labels.get("severity") != "page":
                    continue
                present = {int(float(ts)) for ts, _ in s["values"]}
                intervals, active_at, last_seen, firing_from = [], None, None, None
                for i in range(timeline.MINUTES * 60 // timeline.STEP_S + 1):
                    ts = t0 + i * timeline.STEP_S
                    if ts in present:
                        active_at = ts if active_at is None else active_at
                        last_seen = ts
                    elif active_at is not None and not (firing_from is not None and ts - last_seen <= keep):
                        active_at = None
                    firing = active_at is not None and ts - active_at >= hold
                    if firing and firing_from is None:
                        firing_from = ts
                    if not firing and firing_from is not None:
                        intervals.append([(firing_from - t0) / 60, (ts - t0) / 60])
                        firing_from = None
                if firing_from is not None:
                    intervals.append([(firing_from - t0) / 60, timeline.MINUTES + 0.25])
                if not intervals:
                    continue
                # Fail closed: what does not fit in the output (too many firing series, an alert that flaps more
                # than MAX_INTERVALS times) is reported as such, and alerts-quiet counts it as noise.
                if lines < MAX_SERIES_LINES:
                    result(kind="firing", alert=r["name"], labels=labels, intervals=intervals[:MAX_INTERVALS],
                           truncated=len(intervals) > MAX_INTERVALS)
                elif lines == MAX_SERIES_LINES:
                    result(kind="too-many", alert=r["name"], detail=f"more than {MAX_SERIES_LINES} page alert series fire")
                lines += 1
        result(kind="done", ok=True)
        return 0
    finally:
        prom.stop()


if __name__ == "__main__":
    sys.exit(main())
