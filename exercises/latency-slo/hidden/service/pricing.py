#!/usr/bin/env python3
"""pricing: quotes cart totals for checkout (owned by the pricing team; not part of this incident's fix).

GET /price?cart=<id> -> {"cart": ..., "total_cents": ...}

Behaviour of the real thing, reproduced here:
  * most quotes take 25-85 ms;
  * a small share of calls get stuck behind a slow cache refill and take several seconds;
  * every few seconds a short brownout (a replica restarting) answers 503 for ~100 ms;
  * abuse guard: a client that asks for the same cart more than 5 times within a second is
    refused (429) for 2 seconds.
Log: /var/log/pricing/pricing.log
"""
import hashlib
import json
import os
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LISTEN = ("127.0.0.1", 8081)
LOG = "/var/log/pricing/pricing.log"
STALL_RATE = 0.04
STALL_SECONDS = 6.0
BROWNOUT_EVERY = (6.0, 10.0)
BROWNOUT_SECONDS = 0.1
GUARD_REPEATS = 5
GUARD_PENALTY = 2.0

lock = threading.Lock()
recent = {}            # cart -> [monotonic times within the last second]
state = {"blocked_until": 0.0, "brownout_until": 0.0}
os.makedirs(os.path.dirname(LOG), exist_ok=True)
logf = open(LOG, "a", buffering=1)


def log(line):
    with lock:
        logf.write(time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + line + "\n")
        if logf.tell() > 5 * 1024 * 1024:
            logf.truncate(0)
            logf.seek(0)


def brownouts():
    while True:
        time.sleep(random.uniform(*BROWNOUT_EVERY))
        with lock:
            state["brownout_until"] = time.monotonic() + BROWNOUT_SECONDS
        log(f"WARN replica restart: answering 503 for {int(BROWNOUT_SECONDS * 1000)} ms")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "pricing/3.2"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        data = (json.dumps(obj) + "\n").encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/healthz":
            return self.reply(200, {"ok": True})
        if url.path != "/price":
            return self.reply(404, {"error": "not found"})
        cart = (parse_qs(url.query).get("cart") or [""])[0]
        now = time.monotonic()
        with lock:
            if now < state["blocked_until"]:
                return self.reply(429, {"error": "too many repeated requests, retry later"})
            times = [t for t in recent.get(cart, []) if now - t < 1.0]
            times.append(now)
            recent[cart] = times
            if len(recent) > 5000:
                for k in [k for k, v in recent.items() if now - v[-1] > 1.0]:
                    del recent[k]
            if len(times) > GUARD_REPEATS:
                state["blocked_until"] = now + GUARD_PENALTY
                blocked = True
            else:
                blocked = False
            brownout = now < state["brownout_until"]
        if blocked:
            log(f"WARN abuse guard: cart {cart} requested {len(times)} times within 1s; refusing all requests for {GUARD_PENALTY:.0f}s")
            return self.reply(429, {"error": "too many repeated requests, retry later"})
        if brownout:
            return self.reply(503, {"error": "replica restarting"})
        if random.random() < STALL_RATE:
            time.sleep(STALL_SECONDS)
        else:
            time.sleep(0.025 + min(random.expovariate(1 / 0.012), 0.06))
        total = int(hashlib.sha256(("price:" + cart).encode()).hexdigest()[:8], 16) % 100000
        self.reply(200, {"cart": cart, "total_cents": total})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


if __name__ == "__main__":
    threading.Thread(target=brownouts, daemon=True).start()
    log("INFO pricing listening on %s:%d" % LISTEN)
    Server(LISTEN, Handler).serve_forever()
