"""HTTP API: GET /healthz and GET /api/uptime."""
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import __version__
from .report import daily_uptime, overall_uptime


def make_handler(load_samples):
    class Handler(BaseHTTPRequestHandler):
        server_version = f"statuspage/{__version__}"

        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path == "/healthz":
                return self._send(200, {"status": "ok", "version": __version__})
            if self.path == "/api/uptime":
                samples = load_samples()
                return self._send(200, {"overall": overall_uptime(samples), "daily": daily_uptime(samples)})
            return self._send(404, {"error": "not found"})

    return Handler


def serve(port, load_samples):
    httpd = ThreadingHTTPServer(("0.0.0.0", port), make_handler(load_samples))
    httpd.serve_forever()
