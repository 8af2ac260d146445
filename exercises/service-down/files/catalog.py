#!/usr/bin/env python3
"""catalog: the price list service. GET /price?sku=<sku> -> {"sku": ..., "unit_cents": ...}; GET /healthz."""
import hashlib
import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LISTEN = ("127.0.10.10", 9100)
SKU = re.compile(r"[A-Z]{2,4}-[0-9]{3,6}")


def unit_cents(sku):
    """This quarter's list price of a SKU, in cents."""
    return 100 + int(hashlib.sha256(f"catalog-2026q4:{sku}".encode()).hexdigest()[:8], 16) % 49_900


class Handler(BaseHTTPRequestHandler):
    server_version = "catalog/3.2"

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/healthz":
            return self.reply(200, {"status": "ok"})
        if url.path == "/price":
            sku = parse_qs(url.query).get("sku", [""])[0]
            if not SKU.fullmatch(sku):
                return self.reply(400, {"error": "sku must look like AB-1234"})
            return self.reply(200, {"sku": sku, "unit_cents": unit_cents(sku)})
        return self.reply(404, {"error": "not found"})

    def log_message(self, fmt, *args):
        sys.stdout.write("catalog: " + (fmt % args) + "\n")
        sys.stdout.flush()


def say_ready():
    """Tells svcd (notify = true in the program file) that this program is up: a line on $NOTIFY_FD."""
    fd = os.environ.get("NOTIFY_FD", "")
    if fd.isdigit():
        try:
            os.write(int(fd), b"READY\n")
            os.close(int(fd))
        except OSError:
            pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(LISTEN, Handler)
    print(f"catalog: listening on {LISTEN[0]}:{LISTEN[1]}", flush=True)
    say_ready()
    server.serve_forever()
