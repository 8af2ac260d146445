"""What the checks share: the sandbox's copy, its process list and sockets, and the grader's own price list."""
import configparser
import hashlib
import json
import os
import re
import socket
import urllib.error
import urllib.request

SANDBOX = os.environ.get("SANDBOX", "/sandbox")
EXERCISE = os.environ.get("EXERCISE", "/exercise")
PORT = int(os.environ.get("OPSLAB_VAR_PORT", "8080"))
STRAY = os.environ.get("OPSLAB_VAR_STRAY", "manual")
MISCONFIG = os.environ.get("OPSLAB_VAR_MISCONFIG", "user")
CATALOG_ADDR = "127.0.10.10"
SERVICE_USER = "pricebook"
SVCD_ARGS = "python3 -I /opt/svcd/svcd.py"
PRICEBOOK_ARGS = "python3 -I /opt/pricebook/pricebook.py"


def unit_cents(sku):
    """The catalog's price of a SKU: the grader's own copy of the formula, never asked of the sandbox."""
    return 100 + int(hashlib.sha256(f"catalog-2026q4:{sku}".encode()).hexdigest()[:8], 16) % 49_900


def path(p):
    return SANDBOX + p


def read(p, default=None):
    try:
        with open(path(p), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return default


def sha(p):
    try:
        with open(path(p), "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return "missing"


def ini(p):
    """The sections of an INI file of the copy as dicts, or None if it is missing or does not parse."""
    text = read(p)
    if text is None:
        return None
    cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
    try:
        cp.read_string(text)
    except configparser.Error:
        return None
    return {s: {k: v.strip() for k, v in cp[s].items()} for s in cp.sections()}


def truthy(v):
    return str(v).strip().lower() in ("1", "true", "yes", "on")


def uid_of(user):
    for line in (read("/etc/passwd") or "").splitlines():
        f = line.split(":")
        if len(f) > 3 and f[0] == user and f[2].isdigit():
            return int(f[2])
    return None


def processes():
    """The sandbox's processes as the engine lists them: dicts of pid, ppid, uid, stat, args (zombies left out)."""
    out = []
    for row in open("/probe/processes").read().splitlines():
        f = row.split("\t")
        if len(f) < 5 or f[3].startswith("Z"):
            continue
        out.append({"pid": f[0], "ppid": f[1], "uid": int(f[2]) if f[2].isdigit() else -1, "stat": f[3],
                    "args": f[4].strip()})
    return out


def listeners(port):
    """(address, uid) of every TCP socket listening on `port` in the sandbox's network (the kernel's table)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if len(f) < 8 or f[3] != "0A":
                continue
            addr, p = f[1].rsplit(":", 1)
            if int(p, 16) == port:
                if len(addr) == 8:
                    addr = socket.inet_ntoa(bytes.fromhex(addr)[::-1])
                found.append((addr, int(f[7])))
    return found


def get_json(url, timeout=5):
    """(status, parsed body or text) of a GET; status 0 and the error when there is no HTTP answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read(65536).decode("utf-8", "replace")
            status = r.status
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read(65536).decode("utf-8", "replace")
    except (OSError, ValueError) as e:
        return 0, f"{type(e).__name__}: {getattr(e, 'reason', e)}"
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body[:300]


def svcd(command, timeout=60):
    """One command to svcd's control port; its answer, or None if nothing answers there."""
    try:
        with socket.create_connection(("127.0.0.1", 9001), timeout=timeout) as s:
            s.sendall((command + "\n").encode())
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk or len(data) > 1 << 20:
                    break
                data += chunk
        return data.decode("utf-8", "replace")
    except OSError:
        return None


def genuine(p):
    """Is the copy's file at p the shipped one (hidden/code.sha256), run by the image's own interpreter? A program
    whose report a check trusts must be both: a patched interpreter or library can make the shipped code lie."""
    for line in open(os.path.join(EXERCISE, "hidden/code.sha256")):
        digest, name = line.split()
        if name == p:
            return sha(p) == digest and runtime_changes() == []
    raise KeyError(p)


# Where the box's interpreter, its libraries and the system's programs live. The exercise's own programs are under
# /opt and /usr/local (checked by their digests); nothing else there may differ from the image.
RUNTIME_DIRS = ("/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/etc/python3")
RUNTIME_FILES = ("/etc/ld.so.preload", "/etc/ld.so.conf", "/etc/ld.so.cache")


def runtime_changes():
    """The interpreter's, libraries' and system programs' paths that differ from the image, as the engine records
    them (/probe/changes.json: nothing in the sandbox can alter that list), e.g. ["added /usr/lib/python3.11/x.py"].
    A directory counts only through what changed in it. None when the engine's list was cut (too many changes
    to tell)."""
    with open("/probe/changes.json") as f:
        data = json.load(f)
    if data.get("truncated"):
        return None
    # The folders that hold another changed path (every ancestor of each one), in one pass: the list can be long.
    holders = set()
    for c in data["changes"]:
        parts = c["path"].split("/")
        holders.update("/".join(parts[:i]) for i in range(2, len(parts)))
    out = []
    for c in data["changes"]:
        p = c["path"]
        if p.startswith("/usr/local/") or p == "/usr/local" or p in holders:
            continue
        if p in RUNTIME_FILES or p.startswith("/etc/ld.so.conf.d/") or p.startswith(RUNTIME_DIRS):
            out.append(f"{c['kind']} {p}")
    return sorted(out)


def hosts_map(text):
    """name -> [addresses] of a hosts file's text."""
    names = {}
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].split()
        if len(line) >= 2:
            for name in line[1:]:
                names.setdefault(name.lower(), []).append(line[0])
    return names


def healthz():
    """pricebook's /healthz, asked where its settings say it listens."""
    listen = ((ini("/etc/pricebook/pricebook.ini") or {}).get("server") or {}).get("listen", f"127.0.0.1:{PORT}")
    host, _, port = listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "0.0.0.0") or not port.isdigit():
        host, port = "127.0.0.1", str(PORT)
    status, body = get_json(f"http://127.0.0.1:{port}/healthz", timeout=5)
    return body if status == 200 and isinstance(body, dict) else None


def finish(problems, evidence, ok_message, fail_prefix):
    import sys
    print("\n".join(evidence), file=sys.stderr)
    if problems:
        print(fail_prefix + "; ".join(problems[:3]) + ".")
        sys.exit(1)
    print(ok_message)
    sys.exit(0)
