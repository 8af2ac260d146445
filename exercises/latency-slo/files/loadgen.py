#!/usr/bin/env python3
"""loadgen: steady synthetic shoppers for checkout (open loop, 20-35 requests/s on a one-minute wave)."""
import http.client
import math
import random
import threading
import time
import uuid

TARGET = ("127.0.0.1", 8080)
MAX_INFLIGHT = 150
inflight = threading.BoundedSemaphore(MAX_INFLIGHT)


def one():
    try:
        conn = http.client.HTTPConnection(*TARGET, timeout=10)
        conn.request("GET", "/checkout?cart=c-" + uuid.uuid4().hex[:12])
        conn.getresponse().read()
        conn.close()
    except Exception:
        pass
    finally:
        inflight.release()


def main():
    t0 = time.monotonic()
    while True:
        rate = 27.5 + 7.5 * math.sin(2 * math.pi * (time.monotonic() - t0) / 60)
        time.sleep(random.expovariate(rate))
        if inflight.acquire(blocking=False):
            threading.Thread(target=one, daemon=True).start()


if __name__ == "__main__":
    main()
