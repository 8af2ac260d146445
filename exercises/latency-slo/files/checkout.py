#!/usr/bin/env python3
"""checkout: the shop's checkout API.

GET /checkout?cart=<id>  asks the pricing service for the cart's total and answers
                         {"cart": ..., "total_cents": ..., "receipt": ...}
GET /healthz             liveness (not instrumented)
GET /metrics             Prometheus text format

Configuration: /etc/checkout/checkout.ini (read at start; restart with `svc restart checkout`). The file it
was started with is in the metric checkout_config_info: its path, the sha256 of its bytes, and the sha256 of the
settings in use (settings_digest).
Logs: /var/log/checkout/access.log and /var/log/checkout/error.log.
"""
import configparser
import hashlib
import http.client
import json
import os
import queue
import random
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

VERSION = "1.7.3"
CONFIG_PATH = os.environ.get("CHECKOUT_CONFIG", "/etc/checkout/checkout.ini")
LOG_DIR = os.environ.get("CHECKOUT_LOG_DIR", "/var/log/checkout")
LOG_MAX_BYTES = 20 * 1024 * 1024
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


def load_config(path):
    """The settings in `path`, and where they came from (read once: the digests describe what was parsed)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(f"checkout: cannot read {path}: {e}")
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    try:
        cp.read_string(text, source=path)
    except configparser.Error as e:
        sys.exit(f"checkout: cannot parse {path}: {e}")
    host, _, port = cp.get("server", "listen", fallback="127.0.0.1:8080").rpartition(":")
    up = urlsplit(cp.get("upstream", "url", fallback="http://127.0.0.1:8081"))
    cfg = {
        "host": host or "127.0.0.1",
        "port": int(port),
        "workers": cp.getint("server", "workers"),
        "queue_size": cp.getint("server", "queue_size"),
        "upstream_host": up.hostname,
        "upstream_port": up.port or 80,
        "timeout_ms": cp.getint("upstream", "timeout_ms"),
        "retries": cp.getint("upstream", "retries"),
        "backoff_ms": cp.getint("upstream", "retry_backoff_ms"),
    }
    if not 1 <= cfg["workers"] <= 256 or not 1 <= cfg["queue_size"] <= 4096:
        sys.exit("checkout: workers must be 1..256 and queue_size 1..4096")
    if not 1 <= cfg["timeout_ms"] <= 60000 or not 0 <= cfg["retries"] <= 50 or not 0 <= cfg["backoff_ms"] <= 10000:
        sys.exit("checkout: timeout_ms must be 1..60000, retries 0..50, retry_backoff_ms 0..10000")
    source = {"path": os.path.abspath(path), "file_sha256": hashlib.sha256(data).hexdigest(),
              "settings_sha256": settings_digest(cfg)}
    return cfg, source


def settings_digest(cfg):
    """sha256 of the settings as checkout uses them (canonical JSON): equal files parse to equal digests."""
    return hashlib.sha256(json.dumps(cfg, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def label_value(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.f = open(path, "a", buffering=1)

    def write(self, line):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        ms = int((time.time() % 1) * 1000)
        with self.lock:
            self.f.write(f"{ts}.{ms:03d}Z {line}\n")
            if self.f.tell() > LOG_MAX_BYTES:
                self.f.close()
                os.replace(self.path, self.path + ".1")
                self.f = open(self.path, "a", buffering=1)


class Metrics:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}          # code -> count
        self.hist = [0] * len(BUCKETS)
        self.hist_sum = 0.0
        self.hist_count = 0
        self.upstream = {}          # outcome -> count
        self.up_hist = [0] * len(BUCKETS)
        self.up_sum = 0.0
        self.up_count = 0
        self.rejected = 0
        self.busy = 0

    def observe_request(self, code, seconds):
        with self.lock:
            self.requests[code] = self.requests.get(code, 0) + 1
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    self.hist[i] += 1
            self.hist_sum += seconds
            self.hist_count += 1

    def observe_upstream(self, outcome, seconds):
        with self.lock:
            self.upstream[outcome] = self.upstream.get(outcome, 0) + 1
            for i, b in enumerate(BUCKETS):
                if seconds <= b:
                    self.up_hist[i] += 1
            self.up_sum += seconds
            self.up_count += 1

    def render(self, server):
        h = '{handler="/checkout"'
        out = []
        with self.lock:
            out.append("# HELP http_requests_total Requests answered by checkout, by handler and HTTP status code.")
            out.append("# TYPE http_requests_total counter")
            for code in sorted(self.requests):
                out.append(f'http_requests_total{h},code="{code}"}} {self.requests[code]}')
            out.append("# HELP http_request_duration_seconds Time from accepting the connection to the end of the response.")
            out.append("# TYPE http_request_duration_seconds histogram")
            for b, n in zip(BUCKETS, self.hist):
                out.append(f'http_request_duration_seconds_bucket{h},le="{b}"}} {n}')
            out.append(f'http_request_duration_seconds_bucket{h},le="+Inf"}} {self.hist_count}')
            out.append(f"http_request_duration_seconds_sum{h}}} {self.hist_sum:.6f}")
            out.append(f"http_request_duration_seconds_count{h}}} {self.hist_count}")
            out.append("# HELP checkout_upstream_requests_total Calls (attempts) to the pricing upstream, by outcome.")
            out.append("# TYPE checkout_upstream_requests_total counter")
            for o in sorted(self.upstream):
                out.append(f'checkout_upstream_requests_total{{upstream="pricing",outcome="{o}"}} {self.upstream[o]}')
            out.append("# HELP checkout_upstream_request_duration_seconds Duration of each attempt to call pricing.")
            out.append("# TYPE checkout_upstream_request_duration_seconds histogram")
            for b, n in zip(BUCKETS, self.up_hist):
                out.append(f'checkout_upstream_request_duration_seconds_bucket{{upstream="pricing",le="{b}"}} {n}')
            out.append(f'checkout_upstream_request_duration_seconds_bucket{{upstream="pricing",le="+Inf"}} {self.up_count}')
            out.append(f'checkout_upstream_request_duration_seconds_sum{{upstream="pricing"}} {self.up_sum:.6f}')
            out.append(f'checkout_upstream_request_duration_seconds_count{{upstream="pricing"}} {self.up_count}')
            out.append("# HELP checkout_workers Request worker threads (configured).")
            out.append("# TYPE checkout_workers gauge")
            out.append(f"checkout_workers {server.cfg['workers']}")
            out.append("# HELP checkout_workers_busy Worker threads currently handling a request.")
            out.append("# TYPE checkout_workers_busy gauge")
            out.append(f"checkout_workers_busy {self.busy}")
            out.append("# HELP checkout_queue_depth Accepted connections waiting for a free worker.")
            out.append("# TYPE checkout_queue_depth gauge")
            out.append(f"checkout_queue_depth {server.pending.qsize()}")
            out.append("# HELP checkout_queue_capacity Size of the wait queue (configured).")
            out.append("# TYPE checkout_queue_capacity gauge")
            out.append(f"checkout_queue_capacity {server.cfg['queue_size']}")
            out.append("# HELP checkout_queue_rejected_total Connections answered 503 because the wait queue was full.")
            out.append("# TYPE checkout_queue_rejected_total counter")
            out.append(f"checkout_queue_rejected_total {self.rejected}")
            out.append("# HELP checkout_build_info Build of the running checkout service.")
            out.append("# TYPE checkout_build_info gauge")
            out.append(f'checkout_build_info{{version="{VERSION}"}} 1')
            out.append("# HELP checkout_config_info The configuration file checkout was started with: path, sha256 of its bytes, sha256 of the settings in use.")
            out.append("# TYPE checkout_config_info gauge")
            src = server.source
            out.append(f'checkout_config_info{{path="{label_value(src["path"])}",file_sha256="{src["file_sha256"]}",'
                       f'settings_sha256="{src["settings_sha256"]}"}} 1')
            out.append("# HELP process_start_time_seconds Start time of the process since the epoch.")
            out.append("# TYPE process_start_time_seconds gauge")
            out.append(f"process_start_time_seconds {server.started:.3f}")
        return "\n".join(out) + "\n"


def price_cents(cart):
    """What pricing answers for a cart (used to cross-check the upstream's answer)."""
    return int(hashlib.sha256(("price:" + cart).encode()).hexdigest()[:8], 16) % 100000


class UpstreamError(Exception):
    def __init__(self, outcome, detail, status):
        super().__init__(detail)
        self.outcome, self.detail, self.status = outcome, detail, status


class Handler(BaseHTTPRequestHandler):
    server_version = "checkout/" + VERSION
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # the access log is written by handle_checkout
        pass

    def send_body(self, code, body, ctype="application/json"):
        data = body.encode()
        try:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return True
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            return False

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path == "/metrics":
            self.send_body(200, self.server.metrics.render(self.server), "text/plain; version=0.0.4")
        elif url.path == "/healthz":
            self.send_body(200, "ok\n", "text/plain")
        elif url.path == "/checkout":
            self.handle_checkout(url)
        else:
            self.send_body(404, '{"error": "not found"}\n')

    def call_pricing(self, cart, srv):
        cfg = srv.cfg
        attempts = cfg["retries"] + 1
        last = None
        for n in range(1, attempts + 1):
            t0 = time.monotonic()
            conn = http.client.HTTPConnection(cfg["upstream_host"], cfg["upstream_port"], timeout=cfg["timeout_ms"] / 1000)
            try:
                conn.request("GET", "/price?cart=" + cart)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200:
                    srv.metrics.observe_upstream("ok", time.monotonic() - t0)
                    return json.loads(body)["total_cents"], n
                outcome = "rate_limited" if resp.status == 429 else "error"
                last = UpstreamError(outcome, f"HTTP {resp.status} {body.decode(errors='replace').strip()[:80]}", 502)
            except socket.timeout:
                outcome = "timeout"
                last = UpstreamError(outcome, f"timeout after {cfg['timeout_ms']} ms", 504)
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                outcome = "error"
                last = UpstreamError(outcome, f"{type(e).__name__}: {e}", 502)
            finally:
                conn.close()
            srv.metrics.observe_upstream(outcome, time.monotonic() - t0)
            srv.errlog.write(f"WARN upstream=pricing cart={cart} attempt={n}/{attempts} outcome={outcome} detail=\"{last.detail}\"")
            if n < attempts and cfg["backoff_ms"] > 0:
                time.sleep(cfg["backoff_ms"] * (2 ** (n - 1)) * random.uniform(0.8, 1.2) / 1000)
        raise UpstreamError(last.outcome, last.detail, last.status) if last else UpstreamError("error", "no attempt", 502)

    def handle_checkout(self, url):
        srv = self.server
        started = getattr(srv.tls, "accepted_at", None) or time.monotonic()
        queued = time.monotonic() - started
        cart = (parse_qs(url.query).get("cart") or [""])[0]
        attempts = 0
        if not cart or len(cart) > 64 or not all(c.isalnum() or c in "-_" for c in cart):
            code, body = 400, '{"error": "cart must be 1-64 characters [A-Za-z0-9_-]"}\n'
        else:
            try:
                total, attempts = self.call_pricing(cart, srv)
                if total != price_cents(cart):
                    raise UpstreamError("error", "pricing answered an inconsistent total", 502)
                receipt = hashlib.sha256(f"{cart}:{total}".encode()).hexdigest()[:16]
                code, body = 200, json.dumps({"cart": cart, "total_cents": total, "receipt": receipt}) + "\n"
            except UpstreamError as e:
                attempts = attempts or srv.cfg["retries"] + 1
                code, body = e.status, json.dumps({"error": "pricing unavailable", "detail": e.detail}) + "\n"
                srv.errlog.write(f"ERROR cart={cart} status={code} attempts={attempts} last=\"{e.detail}\"")
        sent = self.send_body(code, body)
        elapsed = time.monotonic() - started
        srv.metrics.observe_request(str(code), elapsed)
        srv.access.write(
            f'{self.client_address[0]} "GET {url.path}?cart={cart}" {code} {len(body)} '
            f"duration={elapsed:.3f}s queue_wait={queued:.3f}s upstream_attempts={attempts}"
            + ("" if sent else " client_gone=1")
        )


class CheckoutServer(HTTPServer):
    """HTTPServer with a fixed pool of worker threads fed by a bounded queue of accepted connections."""

    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, cfg, source):
        self.cfg, self.source = cfg, source
        self.started = time.time()
        self.metrics = Metrics()
        os.makedirs(LOG_DIR, exist_ok=True)
        self.access = Log(os.path.join(LOG_DIR, "access.log"))
        self.errlog = Log(os.path.join(LOG_DIR, "error.log"))
        self.pending = queue.Queue(maxsize=cfg["queue_size"])
        self.tls = threading.local()
        super().__init__((cfg["host"], cfg["port"]), Handler)
        for i in range(cfg["workers"]):
            threading.Thread(target=self.worker, name=f"worker-{i}", daemon=True).start()

    def process_request(self, request, client_address):
        accepted_at = time.monotonic()
        try:
            self.pending.put_nowait((request, client_address, accepted_at))
        except queue.Full:
            with self.metrics.lock:
                self.metrics.rejected += 1
            self.errlog.write(
                f"ERROR queue full ({self.cfg['queue_size']} waiting, {self.cfg['workers']} workers busy): "
                f"rejected {client_address[0]}:{client_address[1]} with 503"
            )
            try:
                request.settimeout(0.2)
                request.recv(4096)
                body = b'{"error": "overloaded"}\n'
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                                b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            self.metrics.observe_request("503", time.monotonic() - accepted_at)
            self.shutdown_request(request)

    def worker(self):
        while True:
            request, client_address, self.tls.accepted_at = self.pending.get()
            with self.metrics.lock:
                self.metrics.busy += 1
            try:
                request.settimeout(30)
                self.finish_request(request, client_address)
            except Exception:
                pass
            finally:
                self.shutdown_request(request)
                with self.metrics.lock:
                    self.metrics.busy -= 1


def main():
    cfg, source = load_config(CONFIG_PATH)
    srv = CheckoutServer(cfg, source)
    srv.errlog.write(
        f"INFO checkout {VERSION} listening on {cfg['host']}:{cfg['port']} workers={cfg['workers']} "
        f"queue_size={cfg['queue_size']} upstream={cfg['upstream_host']}:{cfg['upstream_port']} "
        f"timeout_ms={cfg['timeout_ms']} retries={cfg['retries']} retry_backoff_ms={cfg['backoff_ms']} "
        f"config={source['path']} sha256={source['file_sha256'][:12]}"
    )
    signal.signal(signal.SIGTERM, lambda *_: (srv.errlog.write("INFO stopping (SIGTERM)"), os._exit(0)))
    srv.serve_forever()


if __name__ == "__main__":
    main()
