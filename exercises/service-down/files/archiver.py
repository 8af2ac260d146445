#!/usr/bin/env python3
"""pricebook-archiver: rolls pricebook's quote journal into daily archives below /var/lib/pricebook/archive.

Settings: /etc/archiver/archiver.ini ([log] path, level = info | debug). At level debug it writes its whole
journal index to its log when it starts (for troubleshooting; large), and every step it takes afterwards.
It opens its log once, at start, and tells svcd it is up (notify) once its index is loaded.
"""
import configparser
import os
import signal
import sys
import time

cp = configparser.ConfigParser(inline_comment_prefixes=(";", "#"))
cp.read("/etc/archiver/archiver.ini")
path = cp.get("log", "path", fallback="/var/lib/pricebook/archive/archiver.log")
level = cp.get("log", "level", fallback="info").strip().lower()
os.makedirs(os.path.dirname(path), exist_ok=True)
out = open(path, "a", buffering=1)
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))


def say_ready():
    """Tells svcd (notify = true in the program file) that this program is up: a line on $NOTIFY_FD."""
    fd = os.environ.get("NOTIFY_FD", "")
    if fd.isdigit():
        try:
            os.write(int(fd), b"READY\n")
            os.close(int(fd))
        except OSError:
            pass


def say(lvl, msg):
    out.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {lvl} {msg}\n")


say("INFO", f"archiver starting (pid {os.getpid()}, level {level})")
if level == "debug":
    # The journal index: one line per archived quote, 20 MiB in all.
    line = "DEBUG index entry seq=%08d sku=XX-000000 segment=quotes-2026-11.log offset=%012d len=000000000184 crc=0x00000000\n"
    block = "".join(line % (i, i * 184) for i in range(4096)).encode()
    out.flush()
    os.write(out.fileno(), block * (20 * 1024 * 1024 // len(block) + 1))
say("INFO", "index loaded; waiting for journal segments")
say_ready()
while True:
    time.sleep(5)
    if level == "debug":
        say("DEBUG", "scan: no closed journal segment")
