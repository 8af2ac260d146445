"""The recorded traffic the alert checks judge rules against: 12 hours of checkout's metrics, one sample every
15 s, ending at the time of grading (realistic timestamps, so time(), hour(), offsets and *_over_time
behave as they would in production), with every series checkout exports and the labels Prometheus adds
(job="checkout", instance="127.0.0.1:8080"; `le` exactly as checkout writes it, e.g. "1.0").

Traffic follows the load generator (20-35 requests/s on a one-minute wave). Normal: 0.3% errors with the
attempt's 5xx code, p99 ~0.24 s. Events, in minutes from the start (EVENTS): two sustained error breaches
(5% of requests fail) and two sustained latency breaches (p99 ~2.5 s), 30 minutes each, 7-8.5 hours apart;
90-second blips of 3% errors and of p99 ~1.75 s; a restart of checkout (counters back to 0).

Judged (alertcheck.py): each breach must have a severity=page alert firing 15 and 29 minutes after it starts
that was not firing in the 20 minutes before it (an alert that always fires answers nothing); in QUIET (all
but a breach and the hour after it) no page alert may fire at all.
"""
import math

STEP_S = 15
MINUTES = 720
BUCKETS = ("0.01", "0.025", "0.05", "0.1", "0.2", "0.3", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf")
# cumulative share of requests at or below each bound
NORMAL = (0, .02, .55, .93, .985, .997, .999, 1, 1, 1, 1, 1)
SLOW = (0, .02, .50, .85, .92, .93, .94, .95, .99, 1, 1, 1)
BLIP = (0, .02, .54, .91, .965, .975, .98, .98, 1, 1, 1, 1)
UP_BUCKETS = NORMAL
FAULT_CODES = {"pool": "503", "timeout": "504", "retry-storm": "502"}
BASE_ERR = 0.003

# (kind, start minute, length in minutes)
EVENTS = (
    ("errors", 90, 30),
    ("error-blip", 210, 1.5),
    ("latency", 240, 30),
    ("latency-blip", 345, 1.5),
    ("restart", 370, 0),
    ("error-blip", 450, 1.5),
    ("latency-blip", 480, 1.5),
    ("errors", 600, 30),     # 8.5 hours after the first: no 8-hour window of the day holds both
    ("latency", 660, 30),
)
BREACHES = [(kind, start, length) for kind, start, length in EVENTS if kind in ("errors", "latency")]
FIRE_BY, FIRE_STILL, CLEAN_BEFORE, COOL_DOWN = 15, 29, 20, 60


def quiet_segments():
    """Minute ranges [a, b) where no page alert may fire: everything but a breach and the hour after it."""
    out, at = [], 0
    for _, start, length in BREACHES:
        if start > at:
            out.append((at, start))
        at = start + length + COOL_DOWN
    if at < MINUTES:
        out.append((at, MINUTES))
    return out


def state(minute):
    """(error share, latency shape) at a minute."""
    err, shape = BASE_ERR, NORMAL
    for kind, start, length in EVENTS:
        if start < minute <= start + length:
            if kind == "errors":
                err = 0.05
            elif kind == "error-blip":
                err = 0.03
            elif kind == "latency":
                shape = SLOW
            elif kind == "latency-blip":
                shape = BLIP
    return err, shape


def series(t0, fault):
    """{(name, labels tuple): [(timestamp, value), ...]} for the whole timeline starting at unix time t0."""
    code = FAULT_CODES.get(fault, "502")
    job = (("instance", "127.0.0.1:8080"), ("job", "checkout"))
    h = job + (("handler", "/checkout"),)
    up = job + (("upstream", "pricing"),)
    restart_at = next(start for kind, start, _ in EVENTS if kind == "restart")
    out = {}

    def add(name, labels, ts, value):
        out.setdefault((name, tuple(sorted(labels))), []).append((ts, value))

    c = {}
    started = t0 - 86400 * 3 + 1234.5
    for i in range(MINUTES * 60 // STEP_S + 1):
        ts = t0 + i * STEP_S
        minute = i * STEP_S / 60
        if i and (minute - STEP_S / 60) < restart_at <= minute:
            c = {}
            started = ts - 3.2
        rate = 27.5 + 7.5 * math.sin(2 * math.pi * (i * STEP_S) / 60 + 0.7 * i)
        n = rate * STEP_S if i else 0
        err, shape = state(minute)
        bad = n * err
        c["ok"] = c.get("ok", 0) + n - bad
        c["bad"] = c.get("bad", 0) + bad
        for le, share in zip(BUCKETS, shape):
            c["b" + le] = c.get("b" + le, 0) + n * share
        c["sum"] = c.get("sum", 0) + n * (0.06 if shape is NORMAL else 0.2)
        # upstream attempts: ~3% retried on normal traffic, many more during an error breach
        att = n * (1.04 + (0.5 if err > 0.02 else 0))
        c["u_ok"] = c.get("u_ok", 0) + n - bad
        c["u_timeout"] = c.get("u_timeout", 0) + att * 0.025
        c["u_error"] = c.get("u_error", 0) + att * (0.012 + (0.3 if err > 0.02 else 0))
        c["u_rl"] = c.get("u_rl", 0) + (att * 0.2 if err > 0.02 and code == "502" else 0)
        for le, share in zip(BUCKETS, UP_BUCKETS):
            c["ub" + le] = c.get("ub" + le, 0) + att * share
        c["u_sum"] = c.get("u_sum", 0) + att * 0.05
        c["rejected"] = c.get("rejected", 0) + (bad if code == "503" else 0)

        add("http_requests_total", h + (("code", "200"),), ts, c["ok"])
        add("http_requests_total", h + (("code", code),), ts, c["bad"])
        for le in BUCKETS:
            add("http_request_duration_seconds_bucket", h + (("le", le),), ts, c["b" + le])
        add("http_request_duration_seconds_sum", h, ts, c["sum"])
        add("http_request_duration_seconds_count", h, ts, c["b+Inf"])
        for outcome, key in (("ok", "u_ok"), ("timeout", "u_timeout"), ("error", "u_error"), ("rate_limited", "u_rl")):
            add("checkout_upstream_requests_total", up + (("outcome", outcome),), ts, c[key])
        for le in BUCKETS:
            add("checkout_upstream_request_duration_seconds_bucket", up + (("le", le),), ts, c["ub" + le])
        add("checkout_upstream_request_duration_seconds_sum", up, ts, c["u_sum"])
        add("checkout_upstream_request_duration_seconds_count", up, ts, c["ub+Inf"])
        add("checkout_workers", job, ts, 16)
        add("checkout_workers_busy", job, ts, 2 + (i % 3) + (10 if err > 0.02 or shape is SLOW else 0))
        add("checkout_queue_depth", job, ts, 0 if err < 0.02 else 3)
        add("checkout_queue_capacity", job, ts, 64)
        add("checkout_queue_rejected_total", job, ts, c["rejected"])
        add("checkout_build_info", job + (("version", "1.7.3"),), ts, 1)
        add("process_start_time_seconds", job, ts, started)
        add("up", job, ts, 1)
        add("scrape_duration_seconds", job, ts, 0.003 + (i % 7) / 1000)
        add("scrape_samples_scraped", job, ts, 58)
    return out


def openmetrics(data):
    """OpenMetrics text for `promtool tsdb create-blocks-from openmetrics`."""
    by_name = {}
    for (name, labels), samples in data.items():
        by_name.setdefault(name, []).append((labels, samples))
    lines = []
    for name in sorted(by_name):
        lines.append(f"# TYPE {name} unknown")
        for labels, samples in by_name[name]:
            sel = name + "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels) + "}"
            for ts, v in samples:
                lines.append(f"{sel} {fmt(v)} {ts:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def escape(v):
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def fmt(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "+Inf" if v > 0 else "-Inf"
        return repr(round(v, 6))
    return str(v)
