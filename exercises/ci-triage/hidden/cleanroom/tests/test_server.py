import json
import threading
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

from statuspage import __version__
from statuspage.server import make_handler

SAMPLES = [{"ts": 1710030600, "ok": True}, {"ts": 1710030660, "ok": False}]


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(lambda: SAMPLES))
        cls.base = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=5) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def test_healthz(self):
        self.assertEqual(self.get("/healthz"), (200, {"status": "ok", "version": __version__}))

    def test_uptime(self):
        code, body = self.get("/api/uptime")
        self.assertEqual(code, 200)
        self.assertEqual(body, {"overall": 50.0, "daily": {"2024-03-10": 50.0}})

    def test_unknown_path(self):
        self.assertEqual(self.get("/nope")[0], 404)
