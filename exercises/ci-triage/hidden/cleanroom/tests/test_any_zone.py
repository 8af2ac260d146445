"""The grader's own inputs: samples either side of midnight UTC, in winter and in summer (daylight saving time in
the zones that have it), on other dates than the original tests use."""
import unittest

from statuspage.report import daily_uptime, day_key

# (unix time, its UTC day): 23:30 and 00:30 UTC around five midnights.
CASES = [
    (1705275000, "2024-01-14"), (1705278600, "2024-01-15"),
    (1719790200, "2024-06-30"), (1719793800, "2024-07-01"),
    (1730590200, "2024-11-02"), (1730593800, "2024-11-03"),
    (1767137400, "2025-12-30"), (1767141000, "2025-12-31"),
    (86399, "1970-01-01"), (86400, "1970-01-02"),
]


class AnyZoneTest(unittest.TestCase):
    def test_day_key_is_the_utc_day(self):
        for ts, day in CASES:
            with self.subTest(ts=ts):
                self.assertEqual(day_key(ts), day)

    def test_daily_uptime_buckets_by_utc_day(self):
        samples = [{"ts": ts, "ok": i % 2 == 0} for i, (ts, _) in enumerate(CASES)]
        want = {}
        for i, (ts, day) in enumerate(CASES):
            ok, n = want.get(day, (0, 0))
            want[day] = (ok + (1 if i % 2 == 0 else 0), n + 1)
        self.assertEqual(daily_uptime(samples), {d: round(100.0 * ok / n, 2) for d, (ok, n) in sorted(want.items())})
