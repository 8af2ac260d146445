"""The slo clean-room job: the candidate's checkout.ini, the shipped checkout and pricing, the grader's load.

Runs as root in a throwaway container of the pristine observability image, with a copy of the sandbox's
/etc/checkout as its working directory. It copies checkout.ini, starts the shipped pricing (upstream.py around
shipped/pricing.py) and checkout (shipped/checkout.py: the exercise's files/, brought pristine under
/opt/opslab-hidden/shipped) as `nobody` with an isolated interpreter (env -i, python3 -I -B), then sends
its own load: RATE requests/s for DURATION seconds (open loop, RATE * DURATION arrivals spread as a Poisson
process's, a fresh cart each), about the sandbox's normal load plus a probe. So that a few seconds show what
minutes would, BROWNOUT_AT seconds in it sends two carts marked to start a brownout of pricing with their first
call, and it marks 1 cart in STALL_EVERY to meet a stalled first call (upstream.py): retries, backoff and timeouts
are always exercised, and pricing has no rare event of its own, so a sound configuration meets the same few
hurdles in every measurement and a fault fails by the path it always fails by. A request is good when it answers
200 with the right total and receipt for its cart within CLIENT_TIMEOUT.

A clean room starved of CPU can decide wrongly both ways, so the grader measures its own delays alongside: its
calls to pricing's /healthz (which does no work) over the whole measurement and every 10 ms around the brownout,
and the rate at which it really sent its requests. A pass stands unless the clean room stalled during the brownout
itself (a retry storm slowed down outlasts it before pricing's abuse guard trips; a machine merely slower
throughout does not slow six back-to-back calls past 100 ms, and a stall before or after the brownout does not
change what a retry meets, so only stalls inside its span count) or sent a lighter load than asked (which spares
a small pool). A narrow fail stands unless either of those, or a slow /healthz over the measurement,
could have made it (a sound answer slowed down). A clear fail always stands: a busy machine does not make a
fault's path that much worse. What does not stand is measured again, up to MEASUREMENTS times; if none stands,
the last line says it decides nothing (slo-met then ends in error, never in a verdict). Result lines start with
"::cleanroom::"; slo-met reads the last `slo` line.
"""
import hashlib
import http.client
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HIDDEN = os.path.dirname(os.path.abspath(__file__))
SHIPPED = os.path.join(HIDDEN, "shipped")   # the exercise's files/ (exercise.yaml: bring)
WORK = "/tmp/opslab-slo"
CALLS = WORK + "/log/brownout-calls.jsonl"   # written by the clean room's pricing (upstream.py)
RATE, DURATION, CLIENT_TIMEOUT, BROWNOUT_AT, STALL_EVERY = 45.0, 5.0, 3.0, 1.0, 20
P99_LIMIT_MS, ERROR_LIMIT = 1000, 0.01   # the SLO (as slo-met judges it)
# Starved: the p90 of the probe's latency over the measurement above STARVED_S. Stalled during the brownout: the
# stalls seen by the probe (a probe that took PROBE_STALL_S or more, or a pause of PROBE_STALL_S or more past its
# 10 ms between two probes) overlapping the brownout's span (pricing logs it) by BROWNOUT_STALL_S or more; a
# storm's six calls take ~10 ms, so to outlast a 100 ms brownout it needs ~90 ms of stalls. Load behind: the
# requests went out over a span so much longer than their schedule's that the rate sent was under LOAD_MIN_RATIO
# of RATE.
STARVED_S, PROBE_STALL_S, BROWNOUT_STALL_S, LOAD_MIN_RATIO = 0.02, 0.02, 0.06, 0.9
# Seconds into the measurement probed every 10 ms: the brownout starts with the marked carts' first call, about
# BROWNOUT_AT in, later when the sending fell behind; one that starts past the window counts as stalled.
BROWNOUT_WINDOW = (BROWNOUT_AT - 0.05, BROWNOUT_AT + 1.0)
PROBE_GAP_S = 0.01
NARROW_ERRORS = 0.04   # a fail by less than this (and no request near the client's timeout) may be CPU starvation
MEASUREMENTS = 4
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def result(**fields):
    print("::cleanroom:: " + json.dumps(fields, sort_keys=True), flush=True)


def expected(cart):
    total = int(hashlib.sha256(("price:" + cart).encode()).hexdigest()[:8], 16) % 100000
    return total, hashlib.sha256(f"{cart}:{total}".encode()).hexdigest()[:16]


def get(port, path, timeout):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(port, proc, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            if get(port, "/healthz", 1)[0] == 200:
                return True
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    return False


def start(program, env, log):
    return subprocess.Popen(NOBODY + ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/nonexistent", "LANG=C.UTF-8", *env,
                                      "python3", "-I", "-B", program],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def one(cart, results, i):
    t0 = time.monotonic()
    outcome = "ok"
    try:
        status, body = get(8080, "/checkout?cart=" + cart, CLIENT_TIMEOUT)
        if status != 200:
            outcome = f"http-{status}"
        else:
            total, receipt = expected(cart)
            try:
                doc = json.loads(body)
                good = doc.get("cart") == cart and doc.get("total_cents") == total and doc.get("receipt") == receipt
            except (ValueError, AttributeError):
                good = False
            if not good:
                outcome = "wrong-body"
    except TimeoutError:
        outcome = "client-timeout"
    except OSError as e:
        outcome = f"conn-{type(e).__name__}"
    except http.client.HTTPException as e:
        outcome = f"http-{type(e).__name__}"
    elapsed = time.monotonic() - t0
    if outcome == "client-timeout":
        elapsed = max(elapsed, CLIENT_TIMEOUT)
    results[i] = (elapsed, outcome)


def measure():
    """One measurement under the grader's load: a dict for the result line."""
    n = 0
    results, threads = {}, []
    rng = random.Random()
    seed = os.urandom(4).hex()
    health, stalls, stop = [], [], threading.Event()   # stalls: (from, to) on the monotonic clock, near the brownout
    start_t = time.monotonic()

    def side_probe():   # pricing's /healthz does no work: its latency is the clean room's own scheduling delay
        last_end = None
        while not stop.is_set():
            t = time.monotonic()
            try:
                get(8081, "/healthz", 2)
                latency = time.monotonic() - t
            except (OSError, http.client.HTTPException):
                latency = 2.0
            dense = BROWNOUT_WINDOW[0] <= t - start_t <= BROWNOUT_WINDOW[1]
            if dense:
                if latency >= PROBE_STALL_S:
                    stalls.append((t, t + latency))
                if last_end is not None and t - last_end >= PROBE_GAP_S + PROBE_STALL_S:
                    stalls.append((last_end + PROBE_GAP_S, t))   # the probe itself was held up between two calls
            else:
                health.append(latency)
            last_end = t + latency if BROWNOUT_WINDOW[0] - 0.1 <= t - start_t <= BROWNOUT_WINDOW[1] else None
            stop.wait(PROBE_GAP_S if last_end is not None else 0.1)

    prober = threading.Thread(target=side_probe, daemon=True)
    prober.start()
    # Exactly RATE * DURATION requests at the moments of a Poisson process given that count (uniform, sorted): the
    # bursts of a real load, without measuring a lighter or heavier one by chance (a pool too small for 45/s may
    # cope with the 39/s a short window can draw).
    offsets = sorted(rng.uniform(0, DURATION) for _ in range(round(RATE * DURATION)))
    brownout_sent = False
    late = 0.0
    sent = []   # when each request of the schedule went out
    for offset in offsets:
        send_at = start_t + offset
        if not brownout_sent and offset >= BROWNOUT_AT:
            # Two requests at once whose first call to pricing starts a brownout: every measurement meets one whole.
            brownout_sent = True
            for _ in range(2):
                t = threading.Thread(target=one, args=(f"cr-{seed}-{n}-brownout", results, n), daemon=True)
                t.start()
                threads.append(t)
                n += 1
        delay = send_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent.append(time.monotonic())
        late = max(late, sent[-1] - send_at)
        cart = f"cr-{seed}-{n}" + ("-stall" if n % STALL_EVERY == STALL_EVERY // 2 else "")
        t = threading.Thread(target=one, args=(cart, results, n), daemon=True)
        t.start()
        threads.append(t)
        n += 1
    deadline = time.monotonic() + CLIENT_TIMEOUT + 1
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stop.set()
    res = [results.get(i, (CLIENT_TIMEOUT, "no-result")) for i in range(n)]
    lat = sorted(r[0] for r in res)
    bad = {}
    for _, o in res:
        if o != "ok":
            bad[o] = bad.get(o, 0) + 1
    up = {}
    try:
        metrics = get(8080, "/metrics", 2)[1].decode()
        for line in metrics.splitlines():
            if line.startswith("checkout_upstream_requests_total{"):
                up[line.split('outcome="')[1].split('"')[0]] = int(float(line.split()[-1]))
    except (OSError, http.client.HTTPException, IndexError, ValueError):
        pass
    brownout_calls, span = {}, None
    try:
        with open(CALLS) as f:
            for line in f:
                call = json.loads(line)
                if call["cart"].startswith(f"cr-{seed}-"):
                    brownout_calls.setdefault(call["cart"], []).append([call["ms"], call["code"]])
                    span = (float(call["brownout"][0]), float(call["brownout"][1]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass
    health.sort()
    health_p90 = health[int(0.9 * (len(health) - 1))] if health else 2.0
    if span is None or span[1] > start_t + BROWNOUT_WINDOW[1]:
        stall = 2.0   # no brownout met, or one the probe did not watch: nothing says the clean room kept up
    else:
        stall = sum(max(0.0, min(b, span[1]) - max(a, span[0])) for a, b in stalls)
    load_ratio = (offsets[-1] - offsets[0]) / max(1e-6, sent[-1] - sent[0])
    return dict(n=n, rate=RATE, seconds=round(time.monotonic() - start_t, 1), p50_ms=round(lat[n // 2] * 1000),
                p99_ms=round(lat[math.ceil(0.99 * n) - 1] * 1000), max_ms=round(lat[-1] * 1000), errors=sum(bad.values()),
                bad=bad, upstream_attempts=up, healthz_p90_ms=round(health_p90 * 1000, 1),
                brownout_stall_ms=round(stall * 1000, 1), brownout_calls=brownout_calls,
                send_late_ms=round(late * 1000, 1), load_ratio=round(min(load_ratio, 9.99), 3), starved=health_p90 > STARVED_S,
                unsteady=stall >= BROWNOUT_STALL_S or load_ratio < LOAD_MIN_RATIO)


def main():
    try:
        return measure_config()
    except Exception:   # noqa: BLE001  (the grader's own failure, reported as such: slo-met ends in error)
        result(kind="error", detail=traceback.format_exc()[-2000:])
        return 3


def measure_config():
    # The programs are the shipped ones: the same digests service-genuine holds the sandbox's copies to.
    for line in open(os.path.join(HIDDEN, "code.sha256")):
        digest, name = line.split()
        path = os.path.join(SHIPPED, name)
        if not os.path.exists(path) or hashlib.sha256(open(path, "rb").read()).hexdigest() != digest:
            result(kind="error", detail=f"shipped {name} is missing or differs from code.sha256")
            return 3

    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK + "/log", mode=0o755)
    os.makedirs("/var/log/pricing", exist_ok=True)
    os.chown(WORK + "/log", 65534, 65534)
    os.chown("/var/log/pricing", 65534, 65534)
    try:
        st = os.lstat("checkout.ini")
        kind = "symlink -> " + os.readlink("checkout.ini") if os.path.islink("checkout.ini") else "file"
        with open("checkout.ini", "rb") as f:
            data = f.read(65536)
    except OSError as e:
        result(kind="config", ok=False, detail=f"/etc/checkout/checkout.ini cannot be read: {type(e).__name__}: {e}")
        return 0
    with open(WORK + "/checkout.ini", "wb") as f:
        f.write(data)
    os.chmod(WORK + "/checkout.ini", 0o644)
    result(kind="config", ok=True, bytes=len(data), entry=kind, mode=oct(st.st_mode & 0o7777))

    log = open(WORK + "/services.log", "w+b")
    # Both at once: checkout calls pricing only when a request comes.
    t_start = time.monotonic()
    pricing = start(os.path.join(HIDDEN, "upstream.py"), [f"OPSLAB_CALLS={CALLS}"], log)
    checkout = start(os.path.join(SHIPPED, "checkout.py"), [f"CHECKOUT_CONFIG={WORK}/checkout.ini", f"CHECKOUT_LOG_DIR={WORK}/log"], log)
    try:
        if not wait_healthy(8081, pricing, 10):
            result(kind="error", detail="the clean room's pricing did not start")
            return 3
        if not wait_healthy(8080, checkout, 10):
            code = checkout.poll()
            log.seek(0)
            tail = log.read().decode(errors="replace")[-600:]
            result(kind="slo", started=False, exit=code, detail=tail.strip())
            return 0
        startup_ms = round((time.monotonic() - t_start) * 1000)

        for attempt in range(1, MEASUREMENTS + 1):
            r = measure()
            # See the module's docstring: what a busy clean room could have decided is measured again.
            passed = r["errors"] / r["n"] < ERROR_LIMIT and r["p99_ms"] < P99_LIMIT_MS
            narrow = r["errors"] / r["n"] < NARROW_ERRORS and r["max_ms"] < CLIENT_TIMEOUT * 1000 * 0.9
            if passed:
                decides = not r["unsteady"]
            elif narrow:
                decides = not (r["unsteady"] or r["starved"])
            else:
                decides = True
            r.update(kind="slo", started=True, startup_ms=startup_ms, attempt=attempt, decides=decides)
            result(**r)
            if decides:
                break
        return 0
    finally:
        for p in (checkout, pricing):
            if p and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass


if __name__ == "__main__":
    sys.exit(main())
