"""The grader's probe, run in a container of the candidate's built image as the image's USER (no network).

It starts fareplan the way the image starts it (working directory /app, `python3 -m fareplan`, the image's
environment; the check confirms from build.json that the image's WORKDIR and CMD are exactly that), waits for its
port, asks /healthz and /v1/quote for inputs of its own, reads which user the service process runs as, stops it,
and prints one line `OPSLAB-PROBE {json}` with what it saw. It judges nothing: the checks compare the answers
with fares the grader computes itself, and trust this line only when build.json shows that the image's
interpreter and libraries are the base image's (nothing under /usr, /lib, /bin or the loader's configuration
changed, no LD_* variable). The service's own output goes to a file, never to this process's output.
"""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

PREFIX = "OPSLAB-PROBE "
out = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(), "started": False, "healthz": None,
       "quotes": [], "serviceIds": None, "exited": None, "log": ""}


def finish():
    sys.stdout.write(PREFIX + json.dumps(out, sort_keys=True) + "\n")
    sys.stdout.flush()
    os._exit(0)


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return {"status": r.status, "body": r.read(4096).decode("utf-8", "replace")}
    except (OSError, http.client.HTTPException) as e:
        return {"status": None, "error": f"{type(e).__name__}: {e}"}
    finally:
        conn.close()


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def ids(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            rows = dict(l.split(":", 1) for l in f if ":" in l)
        return {"uid": [int(x) for x in rows["Uid"].split()], "gid": [int(x) for x in rows["Gid"].split()]}
    except (OSError, KeyError, ValueError):
        return None


def main():
    try:
        port = int(os.environ["OPSLAB_VAR_PORT"])
    except (KeyError, ValueError):
        out["error"] = "no OPSLAB_VAR_PORT"
        finish()
    out["port"] = port
    if not os.path.isdir("/app"):
        out["error"] = "/app is not a directory in the image"
        finish()
    # The inputs: drawn here, printed with the answers; the check computes each fare itself.
    rng = random.SystemRandom()
    cases = [(f"{rng.uniform(0.5, 140):.1f}", f"{rng.uniform(0, 4.9):.1f}", "A"),
             (f"{rng.uniform(0.5, 140):.1f}", f"{rng.uniform(6, 40):.1f}", "B"),
             (f"{rng.uniform(151, 600):.1f}", f"{rng.uniform(3, 80):.1f}", "C"),
             (f"{rng.uniform(151, 600):.1f}", f"{rng.uniform(0, 30):.1f}", rng.choice("AB")),
             (f"{rng.uniform(0.5, 600):.1f}", f"{rng.uniform(0, 120):.1f}", rng.choice("ABC"))]
    if listening(port):
        out["error"] = f"something already listens on {port} before the service is started"
        finish()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSLAB_")}
    logdir = tempfile.mkdtemp(prefix="opslab-probe-")
    logpath = os.path.join(logdir, "service.log")
    with open(logpath, "wb") as log:
        try:
            proc = subprocess.Popen(["python3", "-m", "fareplan"], cwd="/app", env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as e:
            out["error"] = f"python3 -m fareplan could not be started: {e}"
            finish()
    try:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline and proc.poll() is None and not listening(port):
            time.sleep(0.1)
        out["started"] = proc.poll() is None and listening(port)
        out["serviceIds"] = ids(proc.pid)
        if out["started"]:
            out["healthz"] = get(port, "/healthz")
            for km, kg, zone in cases:
                r = get(port, f"/v1/quote?km={km}&kg={kg}&zone={zone}")
                out["quotes"].append({"km": km, "kg": kg, "zone": zone, **r})
            out["serviceIds"] = ids(proc.pid) or out["serviceIds"]
        out["exited"] = proc.poll()
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    try:
        with open(logpath, "rb") as f:
            data = f.read()
        out["log"] = data[-1500:].decode("utf-8", "replace")
    except OSError:
        pass
    finish()


main()
