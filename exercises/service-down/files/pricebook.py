#!/usr/bin/env python3
"""pricebook: quotes for the order desk.

GET /quote?sku=<sku>&qty=<n>  -> {"sku", "qty", "unit_cents", "total_cents", "seq"}: the unit price comes from the
                                 catalog service (the [upstream] url), each quote is appended to the journal
GET /healthz                  -> pricebook's own state (process, data directory, disk budget, upstream)

Settings: /etc/pricebook/pricebook.ini. Before it listens, pricebook checks that it can write its journal below
data_dir and that its data volume has room (see [storage] in the settings); it exits with a message otherwise.
"""
import configparser
import json
import os
import pwd
import re
import socket
import stat
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

CONFIG = "/etc/pricebook/pricebook.ini"
SKU = re.compile(r"[A-Z]{2,4}-[0-9]{3,6}")
MiB = 1024 * 1024


def die(code, msg):
    print(f"pricebook: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def load():
    cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
    if not cp.read(CONFIG):
        die(2, f"cannot read {CONFIG}")
    try:
        host, port = cp.get("server", "listen").rsplit(":", 1)
        return {"listen": (host, int(port)), "upstream": cp.get("upstream", "url").rstrip("/"),
                "timeout": cp.getfloat("upstream", "timeout_s", fallback=2.0),
                "data_dir": cp.get("storage", "data_dir").rstrip("/"),
                "quota": cp.getint("storage", "quota_mb") * MiB, "min_free": cp.getint("storage", "min_free_mb") * MiB}
    except (configparser.Error, ValueError) as e:
        die(2, f"{CONFIG}: {e}")


def volume_used(data_dir):
    """Bytes allocated below data_dir, as the volume counts them: every file there, and every file deleted from
    there that a process still holds open (its blocks are freed only when the last holder closes it)."""
    used, seen = 0, set()
    for root, dirs, files in os.walk(data_dir):
        for name in files + dirs:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                used += st.st_blocks * 512
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"{fd_dir}/{fd}")
                if not (target.endswith(" (deleted)") and target.startswith(data_dir + "/")):
                    continue
                st = os.stat(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                used += st.st_blocks * 512
    return used


def data_dir_report(data_dir):
    """Who owns the data directory and what in it others could write."""
    me = os.geteuid()
    foreign, world = [], []
    for root, dirs, files in os.walk(data_dir):
        for path in [root] + [os.path.join(root, n) for n in files + dirs]:
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            if st.st_uid != me:
                foreign.append(path)
            if st.st_mode & 0o002:
                world.append(path)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
    st = os.stat(data_dir)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    return {"path": data_dir, "owner": owner, "mode": oct(st.st_mode & 0o7777), "not_owned": len(foreign),
            "not_owned_examples": foreign[:3], "world_writable": len(world), "world_writable_examples": world[:3]}


def say_ready():
    """Tells svcd (notify = true in the program file) that this program is up: a line on $NOTIFY_FD."""
    fd = os.environ.get("NOTIFY_FD", "")
    if fd.isdigit():
        try:
            os.write(int(fd), b"READY\n")
            os.close(int(fd))
        except OSError:
            pass


def main():
    cfg = load()
    journal_dir = os.path.join(cfg["data_dir"], "journal")
    journal_path = os.path.join(journal_dir, "quotes.log")
    try:
        os.makedirs(journal_dir, exist_ok=True)
        journal = open(journal_path, "a", buffering=1)
    except OSError as e:
        who = pwd.getpwuid(os.geteuid()).pw_name
        die(3, f"cannot write the journal {journal_path} as {who}: {e.strerror}")
    used = volume_used(cfg["data_dir"])
    if cfg["quota"] - used < cfg["min_free"]:
        die(4, f"data volume {cfg['data_dir']} is full: {used / MiB:.1f} MiB used of its {cfg['quota'] // MiB} MiB quota, "
               f"{cfg['min_free'] // MiB} MiB must stay free; refusing to start")
    seq = sum(1 for _ in open(journal_path)) if os.path.getsize(journal_path) else 0
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "pricebook/1.4"

        def reply(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            nonlocal seq
            url = urlparse(self.path)
            if url.path == "/healthz":
                used_now = volume_used(cfg["data_dir"])
                return self.reply(200, {
                    "status": "ok", "pid": os.getpid(), "user": pwd.getpwuid(os.geteuid()).pw_name,
                    "listen": f"{cfg['listen'][0]}:{cfg['listen'][1]}", "upstream": cfg["upstream"],
                    "data_dir": data_dir_report(cfg["data_dir"]),
                    "volume": {"used_mb": round(used_now / MiB, 1), "quota_mb": cfg["quota"] // MiB,
                               "free_mb": round((cfg["quota"] - used_now) / MiB, 1), "min_free_mb": cfg["min_free"] // MiB}})
            if url.path != "/quote":
                return self.reply(404, {"error": "not found"})
            q = parse_qs(url.query)
            sku, qty = q.get("sku", [""])[0], q.get("qty", ["1"])[0]
            if not SKU.fullmatch(sku) or not qty.isdigit() or not 1 <= int(qty) <= 10_000:
                return self.reply(400, {"error": "sku must look like AB-1234 and qty be 1-10000"})
            try:
                with urllib.request.urlopen(f"{cfg['upstream']}/price?sku={sku}", timeout=cfg["timeout"]) as r:
                    unit = int(json.load(r)["unit_cents"])
            except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
                host = urlparse(cfg["upstream"]).hostname
                try:
                    addr = socket.gethostbyname(host)
                except OSError:
                    addr = "unresolved"
                reason = getattr(e, "reason", e)
                print(f"pricebook: upstream {cfg['upstream']} ({host} -> {addr}) failed: {reason}", file=sys.stderr, flush=True)
                return self.reply(502, {"error": f"catalog unavailable: {reason}"})
            total = unit * int(qty)
            with lock:
                seq += 1
                journal.write(json.dumps({"seq": seq, "sku": sku, "qty": int(qty), "total_cents": total}) + "\n")
                n = seq
            return self.reply(200, {"sku": sku, "qty": int(qty), "unit_cents": unit, "total_cents": total, "seq": n})

        def log_message(self, fmt, *args):
            sys.stdout.write("pricebook: " + (fmt % args) + "\n")
            sys.stdout.flush()

    try:
        server = ThreadingHTTPServer(cfg["listen"], Handler)
    except OSError as e:
        die(5, f"cannot listen on {cfg['listen'][0]}:{cfg['listen'][1]}: {e.strerror}")
    print(f"pricebook: listening on {cfg['listen'][0]}:{cfg['listen'][1]}, upstream {cfg['upstream']}", flush=True)
    say_ready()
    server.serve_forever()


if __name__ == "__main__":
    main()
