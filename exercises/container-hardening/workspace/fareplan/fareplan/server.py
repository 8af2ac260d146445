"""The HTTP API: GET /healthz, GET /v1/quote?km=&kg=&zone=."""
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from fleetline_money import format_amount
from jsonline_log import log

from fareplan import __version__, settings
from fareplan.fares import load_tariffs, quote

TARIFFS = load_tariffs()
_journal_lock = threading.Lock()


def journal(record):
    """Every quote is kept in the state directory (the billing export reads it)."""
    line = json.dumps(record, sort_keys=True) + "\n"
    with _journal_lock, open(os.path.join(settings.STATE_DIR, "quotes.jsonl"), "a") as f:
        f.write(line)


def healthy():
    """Ready to serve: the tariffs are loaded and the state directory takes writes."""
    probe = os.path.join(settings.STATE_DIR, ".healthz")
    try:
        with open(probe, "w") as f:
            f.write("ok\n")
        os.remove(probe)
    except OSError as e:
        return False, f"state directory {settings.STATE_DIR}: {e.strerror}"
    if not TARIFFS.get("zones"):
        return False, "no tariffs loaded"
    return True, "ok"


class Handler(BaseHTTPRequestHandler):
    server_version = f"fareplan/{__version__}"

    def send_json(self, status, body):
        data = (json.dumps(body, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/healthz":
            ok, why = healthy()
            self.send_json(200 if ok else 503, {"status": "ok" if ok else "unhealthy", "detail": why})
        elif url.path == "/v1/quote":
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                fare = quote(TARIFFS, q.get("km", ""), q.get("kg", "0"), q.get("zone", ""))
            except ValueError as e:
                self.send_json(400, {"error": str(e)})
                return
            body = {"km": q["km"], "kg": q.get("kg", "0"), "zone": q["zone"], "fare": format_amount(fare),
                    "currency": TARIFFS["currency"]}
            try:
                journal(body)
            except OSError as e:
                log("journal_failed", error=e.strerror)
                self.send_json(500, {"error": "the quote could not be recorded"})
                return
            self.send_json(200, body)
        else:
            self.send_json(404, {"error": "not found"})

    def log_message(self, fmt, *args):
        log("request", line=fmt % args)


def main():
    token = settings.maps_token()
    log("starting", version=__version__, port=settings.PORT, state_dir=settings.STATE_DIR,
        uid=os.getuid(), maps_lookups="enabled" if token else "disabled (no MAPS_TOKEN)")
    ok, why = healthy()
    if not ok:
        log("unhealthy_at_start", detail=why)
    ThreadingHTTPServer(("0.0.0.0", settings.PORT), Handler).serve_forever()
