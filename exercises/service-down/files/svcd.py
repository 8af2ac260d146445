#!/usr/bin/env python3
"""svcd: this box's process supervisor.

Programs are INI files in /etc/svcd/programs/<name>.conf, one [program:<name>] section each:

  command      what to run (split like a shell would, no shell features)
  user         the account it runs as (default root)
  directory    its working directory (default /)
  autostart    start it when svcd starts or the box boots (default true)
  autorestart  start it again when it exits after it was up (default false)
  priority     lower starts first; each priority level is up before the next starts (default 50)
  startsecs    how long it must stay up to count as started (default 0.5)
  notify       the program says itself when it is up (default false): svcd hands it the write end of a pipe,
               its number in $NOTIFY_FD, and the program counts as started once it writes a line there (it is
               listening, its data is loaded); startsecs does not apply then. One that has not said so after
               startwait seconds (default 30) is killed and counted as a failed start.
  startretries quick exits tolerated before it is marked FATAL (default 2)

Output goes to /var/log/svcd/<name>.log. At start (and on `reboot`) svcd runs every executable in
/etc/svcd/boot.d/ in name order, then starts the autostart programs. Control: `svcctl` (a line protocol on
127.0.0.1:9001): status, start|stop|restart <name>|all, update (re-read the program files; changed programs are
restarted), reboot (stop everything, run boot.d, re-read, start as at boot).
"""
import configparser
import glob
import os
import pwd
import shlex
import signal
import socketserver
import subprocess
import sys
import threading
import time

CONF_DIR = "/etc/svcd/programs"
BOOT_DIR = "/etc/svcd/boot.d"
LOG_DIR = "/var/log/svcd"
CONTROL = ("127.0.0.1", 9001)
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOCK = threading.RLock()
SETTLED = {"RUNNING", "FATAL", "EXITED", "STOPPED"}


def log(msg):
    print(time.strftime("%Y-%m-%d %H:%M:%S"), "svcd:", msg, flush=True)


def truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class Program:
    def __init__(self, name, section):
        self.name = name
        self.command = section.get("command", "").strip()
        self.user = section.get("user", "root").strip()
        self.directory = section.get("directory", "/").strip()
        self.autostart = truthy(section.get("autostart", "true"))
        self.autorestart = truthy(section.get("autorestart", "false"))
        self.priority = int(section.get("priority", "50"))
        self.startsecs = float(section.get("startsecs", "0.5"))
        self.startretries = int(section.get("startretries", "2"))
        self.notify = truthy(section.get("notify", "false"))
        self.startwait = float(section.get("startwait", "30"))
        self.state, self.message = "STOPPED", ""
        self.proc, self.started, self.retries, self.next_try, self.stopping = None, 0.0, 0, 0.0, False
        self.ready_fd, self.ready, self.gave_up = None, False, False

    def settings(self):
        return (self.command, self.user, self.directory, self.autostart, self.autorestart, self.priority,
                self.startsecs, self.startretries, self.notify, self.startwait)


programs = {}


def read_programs():
    found = {}
    for path in sorted(glob.glob(os.path.join(CONF_DIR, "*.conf"))):
        cp = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";", "#"))
        try:
            cp.read(path)
        except configparser.Error as e:
            log(f"{path}: unreadable ({e}); skipped")
            continue
        for section in cp.sections():
            if section.startswith("program:"):
                name = section.split(":", 1)[1].strip()
                try:
                    found[name] = Program(name, cp[section])
                except ValueError as e:
                    log(f"{path}: [{section}]: bad value ({e}); skipped")
    return found


def spawn(p):
    p.stopping = False
    try:
        pw = pwd.getpwnam(p.user)
    except KeyError:
        p.state, p.message = "FATAL", f"spawn error: no such user {p.user!r}"
        log(f"{p.name}: {p.message}")
        return
    if not os.path.isdir(p.directory):
        p.state, p.message = "FATAL", f"spawn error: working directory {p.directory} does not exist"
        log(f"{p.name}: {p.message}")
        return
    os.makedirs(LOG_DIR, exist_ok=True)
    out = open(os.path.join(LOG_DIR, f"{p.name}.log"), "ab")
    env = {"PATH": CLEAN_PATH, "LANG": "C.UTF-8", "HOME": pw.pw_dir, "USER": pw.pw_name, "LOGNAME": pw.pw_name}
    close_ready(p)
    p.ready, p.gave_up, pass_fds, write_end = False, False, (), None
    if p.notify:
        p.ready_fd, write_end = os.pipe()
        os.set_blocking(p.ready_fd, False)
        env["NOTIFY_FD"], pass_fds = str(write_end), (write_end,)
    try:
        p.proc = subprocess.Popen(shlex.split(p.command), cwd=p.directory, env=env, stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, user=pw.pw_uid, group=pw.pw_gid,
                                  extra_groups=[], start_new_session=True, pass_fds=pass_fds)
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        close_ready(p)
        p.state, p.message = "FATAL", f"spawn error: {e}"
        log(f"{p.name}: {p.message}")
        return
    finally:
        out.close()
        if write_end is not None:
            os.close(write_end)
    p.state, p.message, p.started = "STARTING", "", time.time()
    log(f"{p.name}: spawned pid {p.proc.pid} as {p.user}")


def close_ready(p):
    if p.ready_fd is not None:
        os.close(p.ready_fd)
        p.ready_fd = None


def says_ready(p):
    """Has a notify program written its line to $NOTIFY_FD yet?"""
    if not p.ready and p.ready_fd is not None:
        try:
            data = os.read(p.ready_fd, 256)
        except BlockingIOError:
            return False
        if b"\n" in data:
            p.ready = True
        if data == b"" or p.ready:
            close_ready(p)
    return p.ready


def tick():
    now = time.time()
    with LOCK:
        for p in programs.values():
            if p.proc is not None and p.proc.poll() is not None:
                code, p.proc = p.proc.returncode, None
                close_ready(p)
                if p.stopping:
                    p.state, p.message = "STOPPED", ""
                elif p.state == "STARTING":
                    p.retries += 1
                    why = f"did not say it was up within {p.startwait:g}s" if p.gave_up else f"exited too quickly (code {code})"
                    if p.retries > p.startretries:
                        p.state, p.message = "FATAL", f"{why}, gave up; see {LOG_DIR}/{p.name}.log"
                    else:
                        p.state, p.message, p.next_try = "BACKOFF", why, now + p.retries * 0.25
                    log(f"{p.name}: {p.message}")
                elif p.autorestart:
                    log(f"{p.name}: exited (code {code}); restarting")
                    p.retries = 0
                    spawn(p)
                else:
                    p.state, p.message = "EXITED", f"exited (code {code})"
                    log(f"{p.name}: {p.message}")
            elif p.state == "STARTING" and p.notify and says_ready(p):
                p.state, p.retries = "RUNNING", 0
            elif p.state == "STARTING" and p.notify and now - p.started >= p.startwait and not p.gave_up:
                p.gave_up, p.message = True, f"did not say it was up within {p.startwait:g}s; killed"
                log(f"{p.name}: {p.message}")
                try:
                    os.killpg(p.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            elif p.state == "STARTING" and not p.notify and now - p.started >= p.startsecs:
                p.state, p.retries = "RUNNING", 0
            elif p.state == "BACKOFF" and now >= p.next_try:
                spawn(p)


def wait_settled(names, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        with LOCK:
            if all(programs[n].state in SETTLED for n in names if n in programs):
                return
        time.sleep(0.05)


def start(names):
    for level in sorted({programs[n].priority for n in names if n in programs}):
        batch = [n for n in names if n in programs and programs[n].priority == level]
        with LOCK:
            for n in batch:
                p = programs[n]
                if p.state not in ("RUNNING", "STARTING", "BACKOFF"):
                    p.retries = 0
                    spawn(p)
        wait_settled(batch)


def stop(names):
    with LOCK:
        procs = []
        for n in names:
            p = programs.get(n)
            if p is None:
                continue
            if p.proc is not None:
                p.stopping = True
                try:
                    os.killpg(p.proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                procs.append(p)
            else:
                p.state, p.message = "STOPPED", ""
    end = time.time() + 5
    while procs and time.time() < end and any(p.proc is not None for p in procs):
        time.sleep(0.05)
    with LOCK:
        for p in procs:
            if p.proc is not None:
                try:
                    os.killpg(p.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    wait_settled([p.name for p in procs], 5)


def run_boot():
    for path in sorted(glob.glob(os.path.join(BOOT_DIR, "*"))):
        if os.path.isfile(path) and os.access(path, os.X_OK):
            r = subprocess.run([path], env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"}, capture_output=True, text=True,
                               timeout=30)
            log(f"boot.d/{os.path.basename(path)}: exit {r.returncode} {(r.stdout + r.stderr).strip()[:200]}")


def update():
    """Re-read the program files: new ones are added (and started if autostart), removed ones stopped, changed ones restarted."""
    fresh = read_programs()
    with LOCK:
        gone = [n for n in programs if n not in fresh]
        changed = [n for n in fresh if n in programs and fresh[n].settings() != programs[n].settings()]
        added = [n for n in fresh if n not in programs]
    stop(gone + changed)
    with LOCK:
        for n in gone:
            del programs[n]
        for n in changed + added:
            programs[n] = fresh[n]
    start([n for n in changed + added if fresh[n].autostart])
    return f"removed: {' '.join(gone) or '-'}; changed: {' '.join(changed) or '-'}; added: {' '.join(added) or '-'}"


def boot():
    run_boot()
    fresh = read_programs()
    with LOCK:
        programs.clear()
        programs.update(fresh)
    start([n for n, p in programs.items() if p.autostart])


def status():
    lines = []
    with LOCK:
        for n in sorted(programs, key=lambda n: (programs[n].priority, n)):
            p = programs[n]
            pid = f"pid {p.proc.pid}" if p.proc is not None else "-"
            lines.append(f"{n:<16} {p.state:<9} {pid:<10} user={p.user} {p.message}".rstrip())
    return "\n".join(lines) or "(no programs)"


def targets(arg):
    with LOCK:
        if arg == "all":
            return sorted(programs, key=lambda n: programs[n].priority)
        if arg not in programs:
            raise KeyError(arg)
        return [arg]


COMMAND_LOCK = threading.Lock()


def handle(line):
    words = line.split()
    if not words:
        return "usage: status | start|stop|restart <name>|all | update | reboot"
    cmd, arg = words[0], (words[1] if len(words) > 1 else "all")
    with COMMAND_LOCK:
        try:
            if cmd == "status":
                return status()
            if cmd == "start":
                start(targets(arg))
            elif cmd == "stop":
                stop(list(reversed(targets(arg))))
            elif cmd == "restart":
                names = targets(arg)
                stop(list(reversed(names)))
                start(names)
            elif cmd == "update":
                return update() + "\n" + status()
            elif cmd == "reboot":
                stop(list(reversed(targets("all"))))
                boot()
            else:
                return f"unknown command {cmd!r}"
        except KeyError as e:
            return f"no such program {e.args[0]!r}"
        return status()


class Control(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline(1024).decode("utf-8", "replace").strip()
        self.wfile.write((handle(line) + "\n").encode())


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = False


def first_boot():
    with COMMAND_LOCK:
        boot()


def main():
    try:
        server = Server(CONTROL, Control)
    except OSError as e:
        log(f"cannot listen on {CONTROL[0]}:{CONTROL[1]}: {e}")
        return 1
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def terminate(signum, frame):
        log("stopping")
        stop(list(reversed(targets("all"))))
        os._exit(0)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    with open("/run/svcd.pid", "w") as f:
        f.write(f"{os.getpid()}\n")
    log(f"control on {CONTROL[0]}:{CONTROL[1]}")
    threading.Thread(target=first_boot, daemon=True).start()
    while True:
        tick()
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
