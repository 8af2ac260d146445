"""Daily uptime report from probe samples.

A sample is a dict {"ts": <unix seconds>, "ok": <bool>}. Days are calendar days in UTC, so a report reads
the same wherever it is generated.
"""
from datetime import datetime


def day_key(ts):
    """The UTC calendar day (YYYY-MM-DD) a sample at unix time `ts` belongs to."""
    return datetime.fromtimestamp(ts).date().isoformat()


def daily_uptime(samples):
    """{day: uptime percent} over the samples, rounded to two decimals, days in ascending order."""
    totals = {}
    for s in samples:
        day = day_key(s["ts"])
        ok, n = totals.get(day, (0, 0))
        totals[day] = (ok + (1 if s["ok"] else 0), n + 1)
    return {day: round(100.0 * ok / n, 2) for day, (ok, n) in sorted(totals.items())}


def overall_uptime(samples):
    """Uptime percent over all samples (100.0 when there are none)."""
    if not samples:
        return 100.0
    return round(100.0 * sum(1 for s in samples if s["ok"]) / len(samples), 2)


def format_percent(value):
    """'99.95%' style, always two decimals."""
    return f"{value:.2f}%"
