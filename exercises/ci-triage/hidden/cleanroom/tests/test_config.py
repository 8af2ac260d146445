import unittest

from statuspage import config


class ConfigTest(unittest.TestCase):
    def test_defaults(self):
        cfg = config.load({})
        self.assertEqual((cfg.port, cfg.data_file, cfg.days), (8080, "samples.json", 7))

    def test_from_environment(self):
        cfg = config.load({"STATUSPAGE_PORT": "9000", "STATUSPAGE_DATA": "/var/lib/sp.json", "STATUSPAGE_DAYS": "30"})
        self.assertEqual((cfg.port, cfg.data_file, cfg.days), (9000, "/var/lib/sp.json", 30))

    def test_rejects_bad_port(self):
        with self.assertRaises(ValueError):
            config.load({"STATUSPAGE_PORT": "70000"})
