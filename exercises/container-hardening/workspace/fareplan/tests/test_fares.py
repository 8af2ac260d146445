"""Run from the project's directory: PYTHONPATH=vendor/fleetline_money-2.3.1 python3 -m unittest discover tests"""
import unittest
from decimal import Decimal

from fareplan.fares import load_tariffs, quote


class QuoteTest(unittest.TestCase):
    def setUp(self):
        self.t = load_tariffs()

    def test_short_trip(self):
        # 4.90 + 0.62 * 10 = 11.10
        self.assertEqual(quote(self.t, "10", "2", "A"), Decimal("11.10"))

    def test_weight_over_the_free_allowance(self):
        # 6.40 + 0.71 * 12.5 + 0.22 * 3 = 15.935 -> 15.95
        self.assertEqual(quote(self.t, "12.5", "8", "B"), Decimal("15.95"))

    def test_long_haul_discount(self):
        # (8.75 + 0.83 * 200 + 0.31 * 7) * 0.92 = 162.7664 -> 162.75
        self.assertEqual(quote(self.t, "200", "10", "C"), Decimal("162.75"))

    def test_bad_input(self):
        for km, kg, zone in [("0", "1", "A"), ("5", "-1", "A"), ("5", "1", "Z"), ("x", "1", "A")]:
            with self.assertRaises(ValueError):
                quote(self.t, km, kg, zone)


if __name__ == "__main__":
    unittest.main()
