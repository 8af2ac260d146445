import unittest

from statuspage.report import daily_uptime, day_key, format_percent, overall_uptime

# 2024-03-09 23:30:00 UTC and 2024-03-10 00:30:00 UTC: one hour apart, either side of midnight UTC.
LATE = 1710027000
EARLY = 1710030600


class DayKeyTest(unittest.TestCase):
    def test_epoch(self):
        self.assertEqual(day_key(0), "1970-01-01")

    def test_days_split_at_utc_midnight(self):
        self.assertEqual(day_key(LATE), "2024-03-09")
        self.assertEqual(day_key(EARLY), "2024-03-10")


class DailyUptimeTest(unittest.TestCase):
    def test_empty(self):
        self.assertEqual(daily_uptime([]), {})

    def test_one_day(self):
        samples = [{"ts": EARLY + i * 60, "ok": i != 3} for i in range(8)]
        self.assertEqual(daily_uptime(samples), {"2024-03-10": 87.5})

    def test_samples_around_midnight_go_to_their_own_day(self):
        samples = [{"ts": LATE, "ok": False}, {"ts": LATE + 60, "ok": True}, {"ts": EARLY, "ok": True}]
        self.assertEqual(daily_uptime(samples), {"2024-03-09": 50.0, "2024-03-10": 100.0})

    def test_rounds_to_two_decimals(self):
        samples = [{"ts": EARLY, "ok": True}, {"ts": EARLY, "ok": True}, {"ts": EARLY, "ok": False}]
        self.assertEqual(daily_uptime(samples), {"2024-03-10": 66.67})


class OverallTest(unittest.TestCase):
    def test_no_samples_is_full_uptime(self):
        self.assertEqual(overall_uptime([]), 100.0)

    def test_mixed(self):
        self.assertEqual(overall_uptime([{"ts": 1, "ok": True}, {"ts": 2, "ok": False}]), 50.0)

    def test_format_percent(self):
        self.assertEqual(format_percent(99.5), "99.50%")
